"""Every bad input the tests know of, through the real command line (a child process): one
line on stderr naming the problem, exit 2, nothing on stdout, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "installer" / "config.sample.yaml"

Setup = Callable[[Path], list[str]]


def _file(name: str, text: str) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_text(text)
        return path
    return make


def _seed_history(tmp: Path) -> None:
    """One earlier check in the local history, so `report` gets as far as writing."""
    from datetime import UTC, datetime

    from access_probe.report.history import History
    from access_probe.schema import CheckDocument, Context, Result, Status

    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    History(tmp / "data" / "access-probe" / "history").add(CheckDocument(
        started_at=at, finished_at=at, context=Context(), results=(Result(
            target="alpha", url="https://alpha.example/", service="alpha",
            status=Status.ACCESSIBLE),)))


def _args(*args: str | Callable[[Path], Path]) -> Setup:
    return lambda tmp: [a if isinstance(a, str) else str(a(tmp)) for a in args]


_not_a_dir = _file("existing.txt", "I am a file\n")
_no_links = _file("post.txt", "Thanks all, see you at the meeting on Tuesday.\n")
# (case id, arguments, a word the one-line message must contain)
CASES: list[tuple[str, Setup, str]] = [
    ("unclosed-ipv6", _args("check", "--no-submit", "http://[::1"), "[::1"),
    ("ipv4-out-of-range", _args("check", "--no-submit", "http://256.1.1.1/"), "IPv4"),
    ("port-zero", _args("check", "--no-submit", "http://127.0.0.1:0/"), "port 0"),
    ("port-too-big", _args("check", "--no-submit", "http://127.0.0.1:70000/"), "Port"),
    ("not-http", _args("check", "--no-submit", "ftp://files.example.org/"), "http"),
    ("bad-host", _args("check", "--no-submit", "http://exa_mple..org/"), "host"),
    ("dash-as-url", _args("check", "--no-submit", "-"), "--links-from"),
    ("links-file-missing", _args("check", "--links-from", "/nonexistent/post.txt"),
     "--links-from"),
    ("links-file-without-links", _args("check", "--links-from", _no_links), "no http(s) links"),
    ("targets-missing", _args("check", "--targets", "/nonexistent/t.yaml"), "--targets"),
    ("config-missing", _args("check", "--config", "/nonexistent/c.yaml"), "c.yaml"),
    ("placeholder-token", _args("spool", "status", "--config", str(SAMPLE)), "placeholder"),
    ("report-out-is-a-file", _args("report", "--out", _not_a_dir), "not a directory"),
    ("report-out-under-a-file",
     lambda tmp: ["report", "--out", str(_not_a_dir(tmp) / "reports")], "not a directory"),
    ("report-out-unwritable", _args("report", "--out", "/proc/access-probe-reports"), "--out"),
    ("report-without-history", _args("report", "--out", "reports"), "no results yet"),
    ("spool-flush-without-collector", _args("spool", "flush"), "collector.url"),
    ("token-db-folder-missing",
     _args("collector", "token", "create", "--org", "E07000223", "--db",
           "sqlite:////nonexistent-folder/collector.sqlite3"), "does not exist"),
    ("token-org-is-a-name",
     _args("collector", "token", "create", "--org", "Mid Sussex", "--db",
           lambda tmp: tmp / "c.sqlite3"), "not an organisation code"),
    ("token-org-unknown", _args("collector", "token", "create", "--org", "MIDSUSSEX"),
     "--unlisted"),
    ("unknown-command", _args("frobnicate"), "invalid choice"),
    ("serve-bad-port", _args("collector", "serve", "--port", "0"), "--port"),
]


@pytest.mark.parametrize("case, make_args, word", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case: str, make_args: Setup, word: str,
                                          tmp_path: Path) -> None:
    args = make_args(tmp_path)
    if args[0] == "report" and case != "report-without-history":
        _seed_history(tmp_path)
    if args[-1].endswith("c.sqlite3"):
        args[-1] = f"sqlite:///{args[-1]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCESS_PROBE_")}
    env.update({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state"),
                "PYTHONPATH": str(ROOT)})
    proc = subprocess.run([sys.executable, "-m", "access_probe", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    if args[0] == "frobnicate":  # argparse prints its usage first, then the one error line
        lines = lines[-1:]
    assert len(lines) == 1, lines
    assert word in lines[0], lines[0]
