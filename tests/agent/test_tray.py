"""The tray app under a real X server with a real system tray (trayer): the icon docks, shows
the agent's status counted by service, and every menu action works through the click path a
person uses — xdotool clicks the icon's window, then the menu window's buttons — with the
effect checked (a check against a loopback site, the report written, the unblock request on
the clipboard, the app gone). Screenshots go to test-artefacts/tray/ (kept, git-ignored)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from access_probe.agent.runtime import AgentSnapshot
from access_probe.agent.tray import (
    LINKS_DIALOG,
    MENU_WINDOW,
    ChangeNotifier,
    Light,
    choose_backend,
    icon_image,
    light_for,
)
from access_probe.schema import Status
from tests.servers import Page, WebServer

from .conftest import finish
from .docs import document, result
from .stub_collector import StubCollector

ROOT = Path(__file__).resolve().parents[2]
ARTEFACTS = ROOT / "test-artefacts" / "tray"


def test_light_follows_the_snapshot() -> None:
    assert light_for(AgentSnapshot()) is Light.AMBER
    assert light_for(AgentSnapshot(running=True)) is Light.BLUE
    assert light_for(AgentSnapshot(last=document(Status.ACCESSIBLE))) is Light.GREEN
    assert light_for(AgentSnapshot(last=document(Status.ACCESSIBLE, Status.BLOCKED))) is Light.RED
    assert light_for(AgentSnapshot(last=document(Status.RESTRICTED))) is Light.AMBER
    assert light_for(AgentSnapshot(last=document(Status.OFFLINE))) is Light.GREY


def test_status_line_counts_services_like_the_report() -> None:
    """Two endpoints of one service blocked are one blocked service, as in the report."""
    from access_probe.report.html import render_html

    doc = replace(document(), results=(
        result("fb", Status.BLOCKED), result("fb", Status.BLOCKED, url="https://cdn.fb.test/"),
        result("yt", Status.ACCESSIBLE)))
    line = AgentSnapshot(last=doc).status_line
    assert line == "1 of 2 services blocked, 0 restricted"
    assert line + "." in render_html(doc)
    assert AgentSnapshot(last=document(Status.ACCESSIBLE)).status_line == \
        "The 1 service checked is reachable"
    assert AgentSnapshot(running=True).status_line == "Checking now..."


def test_icon_is_round_and_anti_aliased(tmp_path: Path) -> None:
    """Transparent corners, an opaque centre, partly transparent edge pixels (anti-aliased);
    a contact sheet at 16, 22 and 24 px on a light and a dark panel is kept to look at."""
    from PIL import Image

    for size in (16, 22, 24, 64):
        image = icon_image(Light.RED, size)
        assert image.size == (size, size) and image.mode == "RGBA"
        alpha = image.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((size - 1, size - 1)) == 0
        assert alpha.getpixel((size // 2, size // 2)) == 255
        edge = [alpha.getpixel((x, size // 2)) for x in range(size // 2)]
        assert any(0 < a < 255 for a in edge), edge  # a soft edge, not a jagged one
    red = icon_image(Light.RED, 64).getpixel((32, 12))
    assert red[:3] == (0xC6, 0x28, 0x28)  # the fill, above the glyph

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    sizes, lights = (16, 22, 24), list(Light)
    scale = 4  # shown enlarged, pixel for pixel, so each pixel can be judged
    cell = 28
    sheet = Image.new("RGB", (cell * len(lights) * scale, cell * len(sizes) * 2 * scale))
    for row, (size, panel) in enumerate((s, p) for s in sizes for p in ("#f2f2f2", "#2b2b2b")):
        strip = Image.new("RGBA", (cell * len(lights), cell), panel)
        for col, light in enumerate(lights):
            off = (cell - size) // 2
            strip.alpha_composite(icon_image(light, size), (col * cell + off, off))
        sheet.paste(strip.convert("RGB").resize((strip.width * scale, cell * scale),
                                                Image.Resampling.NEAREST),
                    (0, row * cell * scale))
    sheet.save(ARTEFACTS / "icons-16-22-24-light-dark.png")


def test_backend_choice() -> None:
    assert choose_backend({"PYSTRAY_BACKEND": "xorg"}, "linux") is None  # theirs wins
    assert choose_backend({"XDG_CURRENT_DESKTOP": "GNOME"}, "linux") is None  # AppIndicator
    assert choose_backend({}, "win32") is None
    # a bare X session: GTK's StatusIcon with PyGObject and a session bus, else our xorg menu
    assert choose_backend({}, "linux") == "xorg"
    assert choose_backend({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}, "linux") in ("gtk",
                                                                                      "xorg")


def test_change_notifications_are_rate_limited() -> None:
    now = [0.0]
    notifier = ChangeNotifier({"facebook": "Facebook"}, every=600, clock=lambda: now[0])
    ok = document(Status.ACCESSIBLE)
    blocked = document(Status.BLOCKED)
    assert notifier.observe(ok) is None  # the first look is not a change
    assert notifier.observe(blocked) == "Facebook is now blocked."
    now[0] = 60
    assert notifier.observe(ok) is None  # held back: a minute after the last notice
    now[0] = 700
    assert notifier.observe(ok) == "Facebook is now working."  # still true: told now
    assert notifier.observe(ok) is None  # no change, no notice


# -- under X -------------------------------------------------------------------------------

def _free_display() -> int:
    for n in range(90, 130):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


def _require(*programs: str) -> None:
    missing = [p for p in programs if not shutil.which(p)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: scripts/setup --dev installs them")


@pytest.fixture
def xserver() -> Iterator[str]:
    """Xvfb with trayer docked at the top: a real XEmbed system tray."""
    _require("Xvfb", "trayer", "xdotool", "xwininfo")
    display = f":{_free_display()}"
    procs = [subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten",
                               "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
                break
            time.sleep(0.05)
        procs.append(subprocess.Popen(["trayer", "--edge", "top"],
                                      env={**os.environ, "DISPLAY": display},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(100):
            if '"panel"' in _windows(display):
                break
            time.sleep(0.05)
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


class Desktop:
    """xdotool and xwininfo on one display, and screenshots of it."""

    def __init__(self, display: str, prefix: str) -> None:
        self.display = display
        self.env = {**os.environ, "DISPLAY": display}
        self.prefix = prefix
        self.shots = 0
        for old in ARTEFACTS.glob(f"{prefix}-*.png"):  # this run's shots only
            old.unlink()

    def xdotool(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True,
                              timeout=10).stdout

    def wait(self, what: str, test: Callable[[], object], seconds: float = 15) -> object:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := test():
                return value
            time.sleep(0.05)
        self.screenshot(f"timeout-{what}")
        raise AssertionError(f"timed out waiting for {what}")

    def window(self, name: str) -> str | None:
        found = self.xdotool("search", "--name", name).split()
        return found[0] if found else None

    def children(self, window: str) -> list[tuple[int, int, int, int]]:
        """(root x, root y, width, height) of every window under `window`, top to bottom."""
        tree = subprocess.run(["xwininfo", "-tree", "-id", window], env=self.env,
                              capture_output=True, text=True, timeout=10).stdout
        boxes = []
        for line in tree.splitlines():
            words = line.split()
            if len(words) < 3 or not words[0].startswith("0x") or "x" not in words[-2]:
                continue
            size, origin = words[-2].split("+", 1)[0], words[-1]
            w, h = (int(v) for v in size.split("x"))
            x, y = (int(v) for v in origin.lstrip("+").replace("-", "+-").split("+") if v)
            boxes.append((x, y, w, h))
        return sorted(boxes, key=lambda b: (b[1], b[0]))

    def click_at(self, x: int, y: int) -> None:
        self.xdotool("mousemove", "--sync", str(x), str(y))
        self.xdotool("click", "1")

    def screenshot(self, name: str) -> Path:
        from PIL import ImageGrab

        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = ARTEFACTS / f"{self.prefix}-{self.shots:02d}-{name}.png"
        ImageGrab.grab(xdisplay=self.display).save(path)
        return path


def _icon_line(tree: str) -> str:
    return next((line for line in tree.splitlines() if "access-probeSystemTrayIcon" in line), "")


@pytest.fixture
def site() -> Iterator[WebServer]:
    alpha = Page.html("Alpha", "hello")
    with WebServer({"/": alpha, "/baseline": alpha, "/khub": Page.html("Hub", "post")}) as web:
        yield web


def _closed_port() -> int:
    with socket.socket() as probe:  # nobody listens: the kernel resets (a tcp-reset block)
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(tmp_path: Path, site: WebServer) -> Path:
    url = f"http://127.0.0.1:{site.port}/"
    (tmp_path / "targets.yaml").write_text(
        "version: 1\nservices:\n  - id: alpha\n    name: Alpha\n    category: social\n"
        f"    endpoints:\n      - {url}\n"
        "  - id: beta\n    name: Beta\n    category: social\n"
        f"    endpoints:\n      - http://127.0.0.1:{_closed_port()}/\n"
        # a loopback baseline, so the packaged (Internet) baselines are never measured
        "  - id: lab\n    name: Lab\n    category: baseline\n"
        f"    endpoints:\n      - {url}baseline\n")
    config = tmp_path / "config.yaml"
    config.write_text(f"targets: {tmp_path / 'targets.yaml'}\nproxy: none\n"
                      f"schedule:\n  every_minutes: 60\n  jitter_minutes: 0\n"
                      f"spool:\n  dir: {tmp_path / 'data'}\n")
    return config


def _start_tray(tmp_path: Path, config: Path, display: str,
                **env: str) -> subprocess.Popen[bytes]:
    full = {**os.environ, "DISPLAY": display, "PYSTRAY_BACKEND": "xorg", "HOME": str(tmp_path),
            "PYTHONPATH": str(ROOT), **env}
    full.pop("XDG_CURRENT_DESKTOP", None)
    return subprocess.Popen([sys.executable, "-m", "access_probe.cli", "tray", "--config",
                             str(config)], env=full, stderr=subprocess.PIPE, cwd=tmp_path)


BLOCKED_TITLE = "access-probe: 1 of 3 services blocked, 0 restricted"
ACTIONS = ("check", "link", "report", "unblock", "quit")


def _open_menu(desk: Desktop) -> dict[str, tuple[int, int]]:
    """Click the docked icon; the menu window's action buttons by key, as screen points.

    The action rows are the menu's last five rows that are not separators (1 px high): Check
    now, Check a link…, Open report, Copy unblock request, Quit (tray.TrayApp.menu_rows)."""
    def docked() -> str:  # the tray gave the icon its size (it embeds a new icon a moment
        line = _icon_line(_windows(desk.display))  # after the icon maps: 1x1 until then)
        return line if "24x24" in line else ""

    line = str(desk.wait("the icon docked at 24x24", docked, 30))
    icon = line.split()[0]
    desk.xdotool("mousemove", "--window", icon, "12", "12")
    desk.xdotool("click", "1")
    menu = str(desk.wait("the menu window", lambda: desk.window(MENU_WINDOW)))

    def rows_now() -> list[tuple[int, int, int, int]]:
        return [b for b in desk.children(menu)[2:] if b[3] > 2]

    # a status line above the actions; Tk makes its windows one by one as it lays them out
    desk.wait("the menu's rows", lambda: len(rows_now()) >= len(ACTIONS) + 1)
    time.sleep(0.3)  # a person's reaction time: the menu has taken pointer and keyboard
    rows = rows_now()
    return {key: (x + w // 4, y + h // 2) for key, (x, y, w, h) in
            zip(ACTIONS, rows[-len(ACTIONS):], strict=True)}


def _assert_icon_sits_on_the_panel(shot: Path, line: str) -> None:
    """The round icon's corners show the tray's colour (pystray's xorg backend alone drops
    the alpha channel and paints them black); its centre is the red of "blocked"."""
    from PIL import Image

    x, y = (int(v) for v in line.split()[-1].lstrip("+").split("+"))
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        panel = rgb.getpixel((x + 12, y - 1))
        corner = rgb.getpixel((x, y))
        centre_left = rgb.getpixel((x + 5, y + 12))
    assert isinstance(panel, tuple) and isinstance(corner, tuple)
    assert max(abs(a - b) for a, b in zip(corner, panel, strict=True)) <= 8, (corner, panel)
    assert centre_left == (0xC6, 0x28, 0x28) or centre_left[0] > 150 > centre_left[1], centre_left


def _history(tmp_path: Path) -> int:
    folder = tmp_path / "data" / "history"
    return len(list(folder.iterdir())) if folder.is_dir() else 0


@pytest.mark.xvfb
@pytest.mark.timeout(300)
def test_every_tray_action_through_real_clicks(tmp_path: Path, xserver: str,
                                               site: WebServer) -> None:
    """pystray's xorg backend in trayer: a click opens the menu window and each action works."""
    _require("xclip")
    desk = Desktop(xserver, "actions")
    browser = tmp_path / "browser"  # the "web browser": records what it was asked to open
    opened = tmp_path / "opened.txt"
    browser.write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    browser.chmod(0o755)
    proc = _start_tray(tmp_path, _config(tmp_path, site), xserver, BROWSER=str(browser))
    try:
        desk.wait("the first check", lambda: BLOCKED_TITLE in _windows(xserver), 90)
        shot = desk.screenshot("docked-blocked")
        assert _history(tmp_path) == 1
        _assert_icon_sits_on_the_panel(shot, _icon_line(_windows(xserver)))

        # Check now: "checking" while it runs, then one more check against the loopback site
        before = len(site.requests)
        buttons = _open_menu(desk)
        desk.screenshot("menu")
        desk.click_at(*buttons["check"])
        desk.wait("the checking state", lambda: "access-probe: Checking now..." in
                  _windows(xserver), 10)
        desk.screenshot("checking")
        desk.wait("the second check", lambda: _history(tmp_path) == 2
                  and BLOCKED_TITLE in _windows(xserver), 30)
        assert len(site.requests) > before
        assert desk.window(MENU_WINDOW) is None  # the menu closed when the action was chosen

        # Open report: the report is written and handed to the browser
        desk.click_at(*_open_menu(desk)["report"])
        desk.wait("the browser", opened.exists)
        page = Path(opened.read_text().split()[0].removeprefix("file://"))
        assert page == tmp_path / "data" / "reports" / "index.html"
        assert "Beta" in page.read_text("utf-8")

        # Copy unblock request: it is on the clipboard
        desk.click_at(*_open_menu(desk)["unblock"])

        def clipboard() -> str:
            return subprocess.run(["xclip", "-o", "-selection", "clipboard"], env=desk.env,
                                  capture_output=True, text=True, timeout=10).stdout
        text = str(desk.wait("the clipboard", lambda: "Beta" in clipboard() and clipboard()))
        assert "Request to allow access" in text and "tcp-reset" in text
        assert "Alpha" not in text
        _open_menu(desk)
        desk.screenshot("menu-after-copy")  # the menu says where the request went
        desk.xdotool("key", "Escape")
        desk.wait("the menu to close", lambda: desk.window(MENU_WINDOW) is None)

        # Check a link…: pasted prose, every link found and cleaned, one check of them
        desk.click_at(*_open_menu(desk)["link"])
        dialog = str(desk.wait("the links dialog", lambda: desk.window(LINKS_DIALOG)))
        desk.xdotool("windowfocus", "--sync", dialog)
        desk.xdotool("type", "--delay", "2", f"Peers recommend this (see "
                     f"http://127.0.0.1:{site.port}/khub?utm_source=hub). Also http://[::1 .")
        desk.screenshot("links-dialog")
        buttons_in = [b for b in desk.children(dialog) if 20 <= b[3] <= 50 and b[2] <= 140]
        x, y, w, h = min(buttons_in)  # Check, left of Cancel
        desk.click_at(x + w // 2, y + h // 2)
        desk.wait("the link check", lambda: "access-probe: Links checked: 1 link, none blocked"
                  in _windows(xserver), 30)
        assert ("/khub", f"127.0.0.1:{site.port}") in site.requests  # utm_source dropped
        _open_menu(desk)
        desk.screenshot("menu-after-link-check")
        desk.click_at(700, 500)  # a click outside the menu closes it, like any menu
        desk.wait("the menu to close", lambda: desk.window(MENU_WINDOW) is None)

        # Quit: the app ends, cleanly
        desk.click_at(*_open_menu(desk)["quit"])
        assert proc.wait(timeout=15) == 0
    finally:
        stderr = finish(proc)
    assert "Traceback" not in stderr, stderr
    assert "access-probeSystemTrayIcon" not in _windows(xserver)


SYSTEM_GI = Path("/usr/lib/python3/dist-packages")  # Debian's python3-gi (PyGObject)


@pytest.mark.xvfb
@pytest.mark.timeout(240)
def test_gtk_backend_in_a_bare_x_tray(tmp_path: Path, xserver: str, site: WebServer) -> None:
    """With PyGObject and a session bus, a bare X session gets GTK's StatusIcon (chosen by
    the tray, not forced): it docks in trayer and its native menu runs the actions (a right
    click opens it; the keyboard picks the item, GTK skips the disabled status rows)."""
    _require("dbus-run-session", "xclip")
    if not (SYSTEM_GI / "gi").is_dir():
        pytest.fail("python3-gi is not installed: scripts/setup --dev installs it")
    desk = Desktop(xserver, "gtk")
    env = {**os.environ, "DISPLAY": xserver, "HOME": str(tmp_path),
           "PYTHONPATH": f"{ROOT}{os.pathsep}{SYSTEM_GI}",
           "NO_AT_BRIDGE": "1"}  # no accessibility bus to outlive the test
    for name in ("PYSTRAY_BACKEND", "XDG_CURRENT_DESKTOP", "DBUS_SESSION_BUS_ADDRESS"):
        env.pop(name, None)
    proc = subprocess.Popen(["dbus-run-session", "--", sys.executable, "-m", "access_probe.cli",
                             "tray", "--config", str(_config(tmp_path, site))], env=env,
                            stderr=subprocess.PIPE, cwd=tmp_path, start_new_session=True)

    def menu_open() -> bool:
        """GTK's popup: a visible window of the app, taller than the icon."""
        for window in desk.xdotool("search", "--onlyvisible", "--name",
                                           "^access-probe$").split():
            geometry = desk.xdotool("getwindowgeometry", window)
            size = geometry.split("Geometry:")[-1].split()[0] if "Geometry:" in geometry else ""
            if "x" in size and int(size.split("x")[1]) >= 100:
                return True
        return False

    def popup() -> None:
        line = _icon_line_titled(_windows(xserver))
        desk.xdotool("mousemove", "--window", line.split()[0], "12", "12")
        desk.xdotool("click", "3")
        desk.wait("GTK's menu", menu_open)
        time.sleep(0.3)  # it has mapped; let it take the keyboard

    def choose(downs: int) -> None:
        popup()
        desk.xdotool("key", *(["Down"] * downs), "Return")
        desk.wait("GTK's menu to close", lambda: not menu_open())

    try:
        desk.wait("the first check", lambda: BLOCKED_TITLE in _windows(xserver), 40)
        line = _icon_line_titled(_windows(xserver))
        assert "access-probeSystemTrayIcon" not in line and '"access-probe"' in line, line
        assert "24x24" in line, line
        popup()
        desk.screenshot("native-menu")
        desk.xdotool("key", "Escape")
        desk.wait("GTK's menu to close", lambda: not menu_open())

        choose(1)  # Check now
        desk.wait("the second check", lambda: _history(tmp_path) == 2, 30)
        choose(4)  # Copy unblock request

        def clipboard() -> str:
            return subprocess.run(["xclip", "-o", "-selection", "clipboard"], env=desk.env,
                                  capture_output=True, text=True, timeout=10).stdout
        desk.wait("the clipboard", lambda: "Beta" in clipboard())
        choose(5)  # Quit
        assert proc.wait(timeout=20) == 0
    finally:
        stderr = finish(proc)
        with contextlib.suppress(ProcessLookupError):  # the session bus, if it lingers
            os.killpg(proc.pid, signal.SIGKILL)
    assert "Traceback" not in stderr, stderr


def _icon_line_titled(tree: str) -> str:
    return next((line for line in tree.splitlines() if '"access-probe: ' in line), "")


@pytest.mark.xvfb
@pytest.mark.timeout(180)
def test_a_refused_token_is_a_warning_in_the_tray(tmp_path: Path, xserver: str, site: WebServer,
                                                  collector: StubCollector) -> None:
    """The collector answers 401: the title says so, and the menu says what to tell IT."""
    config = _config(tmp_path, site)
    config.write_text(config.read_text() + f"org: E07000223\ncollector:\n  url: {collector.url}"
                      "\n  token: not-the-enrolled-token\n")
    desk = Desktop(xserver, "refused")
    proc = _start_tray(tmp_path, config, xserver)
    try:
        warned = BLOCKED_TITLE + " - warning: the collector refused this PC's token"
        desk.wait("the warning", lambda: warned in _windows(xserver), 90)
        _open_menu(desk)
        desk.screenshot("menu-refused-token")
        desk.xdotool("key", "Escape")
        desk.wait("the menu to close", lambda: desk.window(MENU_WINDOW) is None)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        stderr = finish(proc)
    assert "Traceback" not in stderr, stderr
    assert collector.stored == {}


@pytest.mark.xvfb
@pytest.mark.timeout(150)
def test_tray_sigterm_exits(tmp_path: Path, xserver: str, site: WebServer) -> None:
    proc = _start_tray(tmp_path, _config(tmp_path, site), xserver)
    try:
        # a bound, not a speed goal (the other first-check waits are 90 s too: a loaded CI)
        deadline = time.monotonic() + 90
        tree = _windows(xserver)
        while BLOCKED_TITLE not in tree and time.monotonic() < deadline:
            time.sleep(0.1)
            tree = _windows(xserver)
        assert BLOCKED_TITLE in tree, [line for line in tree.splitlines() if "access" in line]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        stderr = finish(proc)
    assert "Traceback" not in stderr, stderr
    assert "access-probeSystemTrayIcon" not in _windows(xserver)
    assert (tmp_path / "data" / "history").is_dir()


@pytest.mark.xvfb
@pytest.mark.timeout(60)
def test_links_dialog_returns_what_was_pasted(xserver: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from access_probe.agent.tray import ask_links

    monkeypatch.setenv("DISPLAY", xserver)
    desk = Desktop(xserver, "dialog")
    answer: list[str | None] = []
    asker = threading.Thread(target=lambda: answer.append(ask_links(timeout=30)))
    asker.start()
    try:
        dialog = str(desk.wait("the dialog", lambda: desk.window(LINKS_DIALOG), 10))
        desk.xdotool("windowfocus", "--sync", dialog)
        desk.xdotool("type", "--delay", "5", "https://khub.net/group/x")
        desk.xdotool("key", "Return")  # a new line: pasted posts have many
        desk.xdotool("type", "--delay", "5", "and www.example.org")
        desk.xdotool("key", "ctrl+Return")  # the keyboard way to press Check
    finally:
        asker.join(40)
    assert answer == ["https://khub.net/group/x\nand www.example.org"]


def test_links_dialog_without_a_display_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """No display (or no Tk): an error the tray turns into a message, not a silent nothing."""
    from access_probe.agent.tray import ask_links

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(OSError, match="needs Tk"):
        ask_links(timeout=5)
