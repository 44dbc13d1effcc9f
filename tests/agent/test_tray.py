"""The tray app under a real X server: the icon appears (docked in a real system tray when
trayer is installed), shows the agent's status, and SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from access_probe.agent.runtime import AgentSnapshot
from access_probe.agent.tray import Light, icon_image, light_for
from access_probe.schema import Status
from tests.servers import Page, WebServer

from .conftest import finish
from .docs import document

ROOT = Path(__file__).resolve().parents[2]


def test_light_follows_the_snapshot() -> None:
    assert light_for(AgentSnapshot()) is Light.AMBER
    assert light_for(AgentSnapshot(last=document(Status.ACCESSIBLE))) is Light.GREEN
    assert light_for(AgentSnapshot(last=document(Status.ACCESSIBLE, Status.BLOCKED))) is Light.RED
    assert light_for(AgentSnapshot(last=document(Status.RESTRICTED))) is Light.AMBER
    assert light_for(AgentSnapshot(last=document(Status.OFFLINE))) is Light.GREY
    image = icon_image(Light.RED, 32)
    assert image.size == (32, 32) and image.getpixel((16, 16))[:3] == (0xC6, 0x28, 0x28)


@pytest.fixture
def site() -> Iterator[str]:
    alpha = Page.html("Alpha", "hello")
    with WebServer({"/": alpha, "/baseline": alpha}) as web:
        yield f"http://127.0.0.1:{web.port}/"


def _free_display() -> int:
    for n in range(90, 130):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture
def xserver() -> Iterator[str]:
    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is not installed: scripts/setup --dev installs it")
    display = f":{_free_display()}"
    procs = [subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten",
                               "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
                break
            time.sleep(0.05)
        if shutil.which("trayer"):  # a real system tray to dock into
            procs.append(subprocess.Popen(["trayer", "--edge", "top"],
                                          env={**os.environ, "DISPLAY": display},
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield display
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _windows(display: str) -> str:
    return subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display},
                          capture_output=True, text=True, timeout=10).stdout


@pytest.mark.xvfb
@pytest.mark.timeout(90)
def test_tray_icon_appears_and_sigterm_exits(tmp_path: Path, xserver: str, site: str) -> None:
    (tmp_path / "targets.yaml").write_text(
        "version: 1\nservices:\n  - id: alpha\n    name: Alpha\n    category: social\n"
        f"    endpoints:\n      - {site}\n"
        # a loopback baseline, so the packaged (Internet) baselines are never measured
        "  - id: lab\n    name: Lab\n    category: baseline\n"
        f"    endpoints:\n      - {site}baseline\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"targets: {tmp_path / 'targets.yaml'}\nproxy: none\n"
                      f"schedule:\n  every_minutes: 60\n  jitter_minutes: 0\n"
                      f"spool:\n  dir: {tmp_path / 'data'}\n")
    env = {**os.environ, "DISPLAY": xserver, "PYSTRAY_BACKEND": "xorg", "HOME": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "access_probe.cli", "tray", "--config",
                             str(config)], env=env, stderr=subprocess.PIPE, cwd=tmp_path)
    try:
        tree = ""
        for _ in range(150):  # bounded: 15 s for the icon and the first check
            tree = _windows(xserver)
            if "access-probe: All services reachable" in tree:
                break
            time.sleep(0.1)
        assert "access-probeSystemTrayIcon" in tree
        assert "access-probe: All services reachable" in tree, [
            line for line in tree.splitlines() if "access-probe" in line]
        if shutil.which("trayer"):
            icon_line = next(line for line in tree.splitlines() if "access-probe:" in line)
            assert "24x24" in icon_line  # docked: the tray gave the icon its size
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        stderr = finish(proc)
    assert "Traceback" not in stderr, stderr
    assert "access-probe: All services reachable" not in _windows(xserver)
    assert (tmp_path / "data" / "history").is_dir()


@pytest.mark.xvfb
@pytest.mark.timeout(60)
def test_check_a_link_dialog_returns_what_was_typed(xserver: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not shutil.which("xdotool"):
        pytest.fail("xdotool is not installed: scripts/setup --dev installs it")
    from access_probe.agent.tray import ask_link

    monkeypatch.setenv("DISPLAY", xserver)
    answer: list[str | None] = []
    asker = threading.Thread(target=lambda: answer.append(ask_link(timeout=30)))
    asker.start()
    env = {**os.environ, "DISPLAY": xserver}

    def xdotool(*args: str) -> str:
        return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True,
                              timeout=10).stdout

    try:
        window = ""
        for _ in range(100):  # bounded: 10 s for Tk to open the dialog
            window = xdotool("search", "--name", "Check a link").split("\n")[0]
            if window:
                break
            time.sleep(0.1)
        assert window, "the dialog never appeared"
        xdotool("windowfocus", "--sync", window)
        xdotool("type", "--delay", "5", "https://khub.net/group/x")
        xdotool("key", "Return")
    finally:
        asker.join(40)
    assert answer == ["https://khub.net/group/x"]
