"""The `access-probe` command's shell: version, help, exit codes, error messages."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from access_probe import __version__
from access_probe.cli import main
from access_probe.errors import UsageError


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "access_probe.cli", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"access-probe {__version__}"


def test_version_and_help_import_no_network_stack() -> None:
    """Commands that do not probe must start fast: the probing stack is imported lazily."""
    snippet = textwrap.dedent("""
        import sys
        from access_probe.cli import main
        for argv in (["--version"], ["--help"], ["check", "--help"]):
            try:
                main(argv)
            except SystemExit:
                pass
        heavy = [m for m in ("requests", "dns.resolver", "urllib3", "fastapi", "sqlalchemy",
                             "pystray", "access_probe.engine.measure") if m in sys.modules]
        print("HEAVY", heavy, file=sys.stderr)
    """)
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                          timeout=60)
    assert "HEAVY []" in proc.stderr, proc.stderr


def test_help_lists_the_contract_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in ("check", "run", "tray", "spool", "report", "collector"):
        assert command in proc.stdout


def test_usage_error_exits_2() -> None:
    proc = run_cli("check", "--no-such-flag")
    assert proc.returncode == 2
    assert "--no-such-flag" in proc.stderr


def test_bad_url_exits_2_with_one_line() -> None:
    proc = run_cli("check", "--no-submit", "ftp://example.org/x")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "ftp://example.org/x" in lines[0]
    assert proc.stdout == ""


def test_config_error_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "council.yaml"
    bad.write_text("org: E07000223\nschedule:\n  every_minutes: -5\n")
    proc = run_cli("check", "--json", "--no-submit", "--config", str(bad))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1
    assert f"{bad}:3" in line and "schedule.every_minutes" in line
    assert proc.stdout == ""


def test_missing_targets_file_exits_2(tmp_path: Path) -> None:
    proc = run_cli("check", "--no-submit", "--targets", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert "nope.yaml" in proc.stderr


def test_parallel_is_probe_concurrency_with_its_default_and_bounds() -> None:
    from access_probe import cli
    from access_probe.config import Config, ProbeConfig

    assert cli.PARALLEL_DEFAULT == ProbeConfig().concurrency
    config = Config()
    assert cli.with_parallel(config, 5).probe.concurrency == 5
    for bad in (cli.PARALLEL_RANGE[0] - 1, cli.PARALLEL_RANGE[1] + 1):
        with pytest.raises(UsageError, match="--parallel"):
            cli.with_parallel(config, bad)
