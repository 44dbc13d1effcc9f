"""The agent's commands as people run them: real `python -m access_probe.cli` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from access_probe.agent.anonymise import anonymise
from access_probe.agent.spool import Spool
from access_probe.schema import Status

from .docs import document
from .stub_collector import TOKEN, StubCollector

ROOT = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("ACCESS_PROBE_")},
                "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "XDG_CONFIG_HOME":
                str(tmp_path / "xdg"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "access_probe.cli", *args], env=full_env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_config_error_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("org: E07000223\nschedule:\n  every_minutes: -5\n")
    proc = cli(tmp_path, "config", "show", "--config", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:3" in proc.stderr and "schedule.every_minutes" in proc.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("collector:\n  url: https://c.example/\n  tokn: x\n")
    proc = cli(tmp_path, "run", "--once", "--config", str(unknown))
    assert proc.returncode == 2 and f"{unknown}:3" in proc.stderr and "tokn" in proc.stderr


def test_config_show_says_where_each_value_came_from(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("org: E07000223\ncollector:\n  token: abcdefghijklmnop\n")
    proc = cli(tmp_path, "config", "show", "--config", str(good),
               env={"ACCESS_PROBE_NETWORK": "corporate-lan"})
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert "E07000223" in lines["org"] and f"{good}:1" in lines["org"]
    assert "ACCESS_PROBE_NETWORK" in lines["network"]
    assert "abcdefghijklmnop" not in proc.stdout  # the token is masked
    assert "default" in lines["schedule.every_minutes"]


def test_spool_status_and_flush(tmp_path: Path, collector: StubCollector) -> None:
    data = tmp_path / "data"
    with Spool(data / "spool.sqlite3") as spool:
        spool.enqueue(anonymise(document(Status.BLOCKED, Status.ACCESSIBLE)))
    config = tmp_path / "c.yaml"
    config.write_text(f"proxy: none\ncollector:\n  url: {collector.url}\n  token: {TOKEN}\n"
                      f"spool:\n  dir: {data}\n")
    proc = cli(tmp_path, "spool", "status", "--json", "--config", str(config))
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["pending"] == 2 and status["oldest"].endswith("Z")
    collector.mode = "down"
    proc = cli(tmp_path, "spool", "flush", "--config", str(config))
    assert proc.returncode == 1 and "HTTP 503" in proc.stdout
    collector.mode = "up"
    proc = cli(tmp_path, "spool", "flush", "--config", str(config))  # ignores the backoff
    assert proc.returncode == 0 and "delivered 2" in proc.stdout
    proc = cli(tmp_path, "spool", "status", "--json", "--config", str(config))
    assert json.loads(proc.stdout)["pending"] == 0 and json.loads(proc.stdout)["oldest"] is None


def test_tray_without_a_display_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "access_probe.cli", "tray"],
                          env={**env, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path),
                               "PYSTRAY_BACKEND": "xorg"},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "access-probe run" in proc.stderr
    assert "Traceback" not in proc.stderr
