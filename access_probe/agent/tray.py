"""The desktop agent: `run` plus a system-tray icon (pystray; extra `tray`). No probe logic.

pystray's `Icon.run()` owns the main thread (macOS insists); the agent's schedule loop runs
on a worker thread and publishes an `AgentSnapshot`, which the menu and the icon read. Menu
actions that take time (a check, a dialog) run on their own short-lived threads so the tray
never freezes. The "Check a link…" dialog runs Tk in a child process: Tk must own the main
thread of its process, and that thread here belongs to pystray.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from access_probe.agent.runtime import Agent, AgentSnapshot
from access_probe.schema import Status

if TYPE_CHECKING:
    from PIL import Image

    from access_probe.config import Config

__all__ = ["Light", "TrayApp", "ask_link", "copy_to_clipboard", "icon_image", "light_for", "main"]

log = logging.getLogger(__name__)

APP_TITLE = "access-probe"

_ASK_LINK = """
import sys, tkinter
from tkinter import simpledialog
root = tkinter.Tk(); root.withdraw()
url = simpledialog.askstring("Check a link", "Paste the link to check:", parent=root)
root.destroy()
sys.stdout.write(url or "")
"""


class Light(StrEnum):
    GREEN = "#2e7d32"  # everything reachable
    AMBER = "#f9a825"  # restricted, or nothing known yet
    RED = "#c62828"  # something blocked
    GREY = "#757575"  # offline


def light_for(snapshot: AgentSnapshot) -> Light:
    if snapshot.last is None:
        return Light.AMBER
    counts = snapshot.counts()
    if counts[Status.BLOCKED]:
        return Light.RED
    if counts[Status.OFFLINE] == len(snapshot.last.results):
        return Light.GREY
    if counts[Status.RESTRICTED]:
        return Light.AMBER
    return Light.GREEN


def icon_image(light: Light, size: int = 64) -> Image.Image:
    """A filled traffic-light disc with a white ring, readable at 16 px."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin = size // 16
    draw.ellipse((margin, margin, size - margin, size - margin), fill=str(light),
                 outline="white", width=max(1, size // 16))
    return image


def ask_link(timeout: float = 600) -> str | None:
    """Ask for a URL in a small Tk dialog (child process); None if cancelled or no Tk."""
    try:
        proc = subprocess.run([sys.executable, "-c", _ASK_LINK], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = proc.stdout.strip()
    return text if proc.returncode == 0 and text else None


def _clipboard_command() -> list[str] | None:
    if sys.platform == "win32":
        return ["clip"]
    if sys.platform == "darwin":
        return ["pbcopy"]
    for command in (["wl-copy"], ["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"]):
        if shutil.which(command[0]):
            return command
    return None


def copy_to_clipboard(text: str) -> bool:
    command = _clipboard_command()
    if command is None:
        return False
    try:
        subprocess.run(command, input=text.encode("utf-8"), timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


_NUDGE_SECONDS = 0.5


def _nudge(icon: Any) -> None:
    """Wake pystray's X event loop (xorg backend only).

    python-xlib's threaded display has a reader race: when another thread talks to the X
    server while the main loop sits in select(), events can land in the queue without waking
    the loop, so a title change or a stop waits for the next unrelated event. A no-op client
    message (a predefined atom, so no round trip from this thread) wakes it.
    """
    window = getattr(icon, "_window", None)
    display = getattr(icon, "_display", None)
    if window is None or display is None or not hasattr(icon, "_send_message"):
        return
    try:
        from Xlib import Xatom

        icon._send_message(window, Xatom.STRING)
        display.flush()
    except Exception:  # the loop may be closing; a nudge is best effort
        log.debug("tray nudge failed", exc_info=True)


class _LoopInterrupted(Exception):
    pass


class TrayApp:
    """The icon, its menu and their actions over one `Agent`."""

    def __init__(self, agent: Agent, *, reports_dir: Path,
                 names: Mapping[str, str] | None = None) -> None:
        self.agent = agent
        self.reports_dir = reports_dir
        self.names = dict(names or {})
        self.stop = threading.Event()
        self.icon: Any = None
        self._worker: threading.Thread | None = None
        self._looping = False
        self._loop_ended = False

    # -- what the tray shows ---------------------------------------------------------

    def title(self) -> str:
        return f"{APP_TITLE}: {self.agent.snapshot.status_line}"

    def _refresh(self, snapshot: AgentSnapshot) -> None:
        if self.icon is None:
            return
        self.icon.icon = icon_image(light_for(snapshot))
        self.icon.title = self.title()
        self.icon.update_menu()

    def menu(self) -> Any:
        import pystray

        item = pystray.MenuItem
        return pystray.Menu(
            item(lambda _: self.agent.snapshot.status_line, None, enabled=False),
            pystray.Menu.SEPARATOR,
            item("Check now", self._spawn(self.check_now), default=True),
            item("Check a link…", self._spawn(self.check_link)),
            item("Open report", self._spawn(self.open_report)),
            item("Copy unblock request", self._spawn(self.copy_unblock_request)),
            pystray.Menu.SEPARATOR,
            item("Quit", lambda: self.quit()),
        )

    @staticmethod
    def _spawn(action: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            threading.Thread(target=action, name="tray-action", daemon=True).start()
        return run

    def _notify(self, message: str) -> None:
        if self.icon is not None and getattr(self.icon, "HAS_NOTIFICATION", False):
            try:
                self.icon.notify(message, APP_TITLE)
            except Exception:  # notifications are a nicety; the status line says it too
                log.debug("notification failed", exc_info=True)

    # -- actions ---------------------------------------------------------------------

    def check_now(self) -> None:
        if self.agent.run_cycle().skipped:
            self._notify("A check is already running.")

    def check_link(self) -> None:
        url = ask_link()
        if not url:
            return
        try:
            report = self.agent.run_cycle([url])
        except Exception as exc:  # a bad URL is the person's typo, not a crash
            self._notify(f"Could not check that link: {exc}")
            return
        if report.document is not None:
            from access_probe.report import explain

            for result in report.document.results[:1]:
                self._notify(explain(result).how)

    def _latest(self) -> Any:
        return self.agent.snapshot.last

    def open_report(self) -> None:
        from access_probe.report import write_reports

        latest = self._latest()
        if latest is None:
            self._notify("No results yet: choose “Check now” first.")
            return
        history = self.agent.history.load(limit=30) if self.agent.history else [latest]
        files = write_reports(self.reports_dir, latest, history, names=self.names)
        webbrowser.open(files.html.resolve().as_uri())

    def copy_unblock_request(self) -> None:
        from access_probe.report import write_unblock_request

        latest = self._latest()
        path = write_unblock_request(self.reports_dir, latest, names=self.names) if latest else None
        if path is None:
            self._notify("Nothing is blocked: there is nothing to ask IT.")
            return
        if copy_to_clipboard(path.read_text("utf-8")):
            self._notify("The unblock request is on the clipboard.")
        else:
            webbrowser.open(path.resolve().as_uri())

    def quit(self) -> None:
        """Safe from any thread and from a signal handler: only sets an event; the setup
        thread stops the icon (calling X from a signal handler can deadlock on Xlib's lock
        held by the interrupted main loop)."""
        self.stop.set()

    # -- lifecycle -------------------------------------------------------------------

    def _setup(self, icon: Any) -> None:
        """pystray's setup thread: start the agent and the nudger, show the icon, then wait
        for the stop and end the loop."""
        self._worker = threading.Thread(target=self.agent.serve, args=(self.stop,),
                                        name="agent", daemon=True)
        self._worker.start()
        threading.Thread(target=self._nudger, args=(icon,), name="tray-nudge",
                         daemon=True).start()
        icon.visible = True
        self.stop.wait()
        if not self._loop_ended:  # after a signal the loop is gone: nobody would answer
            icon.stop()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT on the main thread: leave pystray's X loop at once.

        python-xlib's threaded display can deadlock between the loop and another thread, so
        asking the loop to stop may never be answered; an exception raised here unwinds it
        wherever it waits. pystray logs whatever ends its loop as an error, so its logger is
        silenced first: this ending is the one we asked for.
        """
        if self._looping:
            self._looping = False
            logging.getLogger("pystray").setLevel(logging.CRITICAL)
            raise _LoopInterrupted
        self.stop.set()

    def _nudger(self, icon: Any) -> None:
        while not self.stop.wait(_NUDGE_SECONDS):
            _nudge(icon)

    def run(self) -> None:
        """Blocks in pystray's loop on this (main) thread until Quit or a stop signal."""
        import pystray

        snapshot = self.agent.snapshot
        self.icon = pystray.Icon(APP_TITLE, icon_image(light_for(snapshot)), self.title(),
                                 self.menu())
        self.agent.listeners.append(self._refresh)
        for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
            if (sig := getattr(signal, name, None)) is not None:
                signal.signal(sig, self._on_signal)
        self._looping = True
        try:
            self.icon.run(setup=self._setup)
        except _LoopInterrupted:
            pass
        finally:
            self._looping = False
            self._loop_ended = True
            self.stop.set()
            if self._worker is not None:
                self._worker.join(timeout=10)
            log.info("tray stopped")


def main(config: Config) -> int:
    """`access-probe tray`: reports go beside the spool (the working directory of a desktop
    app is nobody's choice)."""
    from access_probe.agent.runtime import build_agent, catalogue_names, data_dir
    from access_probe.errors import UsageError

    try:
        import pystray  # noqa: F401 - fail early, with advice, before the agent starts
    except ImportError as exc:
        raise UsageError("the tray needs the 'tray' extra: pip install 'access-probe[tray]'"
                         ) from exc
    except Exception as exc:  # pystray's X backend raises on import without a display
        raise UsageError(f"cannot show a tray icon here ({type(exc).__name__}: {exc});"
                         " use `access-probe run`") from exc
    agent = build_agent(config)
    try:
        TrayApp(agent, reports_dir=data_dir(config) / "reports",
                names=catalogue_names(config)).run()
    finally:
        agent.spool.close()
    return 0
