"""The desktop agent: `run` plus a system-tray icon (pystray; extra `tray`). No probe logic.

pystray's `Icon.run()` owns the main thread (macOS insists); the agent's schedule loop runs
on a worker thread and publishes an `AgentSnapshot`, which the menu and the icon read. Menu
actions that take time (a check, a dialog) run on their own short-lived threads so the tray
never freezes.

Backends (`choose_backend`): Windows and macOS use pystray's own; on Linux a desktop session
(GNOME, KDE, Xfce, ... : `XDG_CURRENT_DESKTOP` set) gets pystray's order, AppIndicator then
GTK then Xorg; a bare X session with a tray (trayer, stalonetray, a tiling WM's bar) gets
GTK's StatusIcon when PyGObject is there, else pystray's xorg backend. `PYSTRAY_BACKEND`
always wins. The xorg backend has no menu and its window asks for no button events: here the
window is made to select ButtonPress and a click opens `MENU_WINDOW`, a small Tk window with
the same actions as the native menu.

Tk must own the main thread of its process, and that thread here belongs to pystray: the
menu window and the "Check a link…" dialog run Tk in a child process, which prints what was
chosen or typed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from access_probe.agent.runtime import Agent, AgentSnapshot
from access_probe.report.explain import ServiceCounts, Standing, service_counts, service_standings

if TYPE_CHECKING:
    from PIL import Image

    from access_probe.config import Config
    from access_probe.schema import CheckDocument

__all__ = [
    "MENU_WINDOW", "ChangeNotifier", "Light", "TrayApp", "ask_links", "choose_backend",
    "copy_to_clipboard", "icon_image", "light_for", "main",
]

log = logging.getLogger(__name__)

APP_TITLE = "access-probe"
MENU_WINDOW = "access-probe menu"  # the Tk menu window's title (WM_NAME), for finding it
LINKS_DIALOG = "Check links"
NOTIFY_EVERY_SECONDS = 15 * 60  # at most one state-change notification per this long
_DIALOG_SECONDS = 600
_MENU_SECONDS = 60

_ASK_LINKS = """
import sys, tkinter
root = tkinter.Tk(className="access-probe")
root.title(sys.argv[1])
root.resizable(False, False)
answer = []
def done(event=None):
    answer.append(text.get("1.0", "end"))
    root.destroy()
    return "break"
tkinter.Label(root, text="Paste a link, or a whole post, e-mail or message:\\n"
              "every link in it is checked.", justify="left", anchor="w",
              padx=10, pady=8).pack(fill="x")
text = tkinter.Text(root, width=60, height=8, wrap="word", undo=True)
text.pack(padx=10, fill="both", expand=True)
buttons = tkinter.Frame(root)
buttons.pack(fill="x", padx=10, pady=8)
tkinter.Button(buttons, text="Cancel", width=8, command=root.destroy).pack(side="right")
tkinter.Button(buttons, text="Check", width=8, default="active",
               command=done).pack(side="right", padx=6)
text.bind("<Control-Return>", done)
root.bind("<Escape>", lambda event: root.destroy())
root.after(int(float(sys.argv[2]) * 1000), root.destroy)
root.update_idletasks()
x = (root.winfo_screenwidth() - root.winfo_reqwidth()) // 2
y = (root.winfo_screenheight() - root.winfo_reqheight()) // 3
root.geometry(f"+{max(0, x)}+{max(0, y)}")
text.focus_force()
root.mainloop()
sys.stdout.write(answer[0] if answer else "")
"""

# A borderless, menu-like window: status lines, then one button per action. Prints the key
# of the action chosen (nothing when dismissed: Escape, a click outside, the timeout).
_MENU = """
import json, sys, tkinter
spec = json.loads(sys.argv[1])
root = tkinter.Tk(className="access-probe")
root.title(spec["title"])
root.overrideredirect(True)
root.configure(bg="#8a8a8a")
frame = tkinter.Frame(root, bg="#fbfbfb", pady=4)
frame.pack(padx=1, pady=1)
chosen = []
def pick(key):
    chosen.append(key)
    root.destroy()
font = ("TkMenuFont",)
for kind, key, text in spec["rows"]:
    if kind == "separator":
        tkinter.Frame(frame, height=1, bg="#d0d0d0").pack(fill="x", padx=6, pady=3)
    elif kind == "label":
        tkinter.Label(frame, text=text, bg="#fbfbfb", fg="#555555", anchor="w", justify="left",
                      padx=14, pady=3, wraplength=380).pack(fill="x")
    elif kind == "warning":
        tkinter.Label(frame, text="\\u26a0 " + text, bg="#fff4ce", fg="#6b4400", anchor="w",
                      justify="left", padx=14, pady=4, wraplength=380).pack(fill="x")
    else:
        tkinter.Button(frame, text=text, command=lambda k=key: pick(k), anchor="w",
                       relief="flat", bd=0, padx=14, pady=4, bg="#fbfbfb", fg="#111111",
                       activebackground="#dce8fa", activeforeground="#111111",
                       highlightthickness=0).pack(fill="x")
root.bind_all("<Escape>", lambda event: root.destroy())
root.update_idletasks()
width, height = root.winfo_reqwidth(), root.winfo_reqheight()
screen_w, screen_h = root.winfo_screenwidth(), root.winfo_screenheight()
x = min(max(0, spec["x"] - width // 2), max(0, screen_w - width))
y = spec["y"] + 8 if spec["y"] + 8 + height <= screen_h else max(0, spec["y"] - 8 - height)
root.geometry(f"+{x}+{y}")
def outside(event):
    inside = (root.winfo_rootx() <= event.x_root < root.winfo_rootx() + root.winfo_width()
              and root.winfo_rooty() <= event.y_root < root.winfo_rooty() + root.winfo_height())
    if not inside:
        root.destroy()
root.bind("<ButtonPress>", outside, add="+")
root.after(int(spec["timeout"] * 1000), root.destroy)
grabbed = []
def grab(tries=100):
    # like any menu: pointer and keyboard are ours until a choice, Escape or a click outside
    if grabbed:
        return
    try:
        root.grab_set_global()
        grabbed.append(True)
    except tkinter.TclError:  # not viewable yet, or another client holds a grab
        if tries:
            root.after(30, grab, tries - 1)
root.bind("<Map>", lambda event: grab(), add="+")
root.lift()
root.focus_force()
root.after(30, grab)
root.mainloop()
sys.stdout.write(chosen[0] if chosen else "")
"""


class Light(StrEnum):
    GREEN = "#2e7d32"  # everything reachable
    AMBER = "#f9a825"  # restricted, or nothing known yet
    RED = "#c62828"  # something blocked
    GREY = "#757575"  # offline
    BLUE = "#1565c0"  # a check is running


def light_for(snapshot: AgentSnapshot) -> Light:
    if snapshot.running:
        return Light.BLUE
    if snapshot.last is None:
        return Light.AMBER
    counts = snapshot.services()
    if counts.offline:
        return Light.GREY
    if counts.blocked:
        return Light.RED
    if counts.restricted:
        return Light.AMBER
    return Light.GREEN


_SUPERSAMPLE = 4


def icon_image(light: Light, size: int = 64) -> Image.Image:
    """A round traffic-light disc with a white glyph, drawn at 4x and downsampled (LANCZOS)
    so its edge is anti-aliased at 16-24 px.

    A thin dark rim keeps it apart from a light panel and the saturated fill from a dark one;
    the glyph (tick, cross, "!", dots, dash) tells the states apart without colour."""
    from PIL import Image, ImageDraw

    big = size * _SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    u = big / 16  # one pixel of a 16 px icon
    inset = 0.5 * u
    draw.ellipse((inset, inset, big - inset, big - inset), fill=(0, 0, 0, 150))
    rim = inset + 0.9 * u
    draw.ellipse((rim, rim, big - rim, big - rim), fill=str(light))
    white = (255, 255, 255, 255)
    stroke = round(1.9 * u)
    c = big / 2
    if light is Light.GREEN:  # a tick
        draw.line([(c - 3.6 * u, c + 0.2 * u), (c - 1.1 * u, c + 2.7 * u),
                   (c + 3.7 * u, c - 2.6 * u)], fill=white, width=stroke, joint="curve")
    elif light is Light.RED:  # a cross
        d = 2.7 * u
        draw.line([(c - d, c - d), (c + d, c + d)], fill=white, width=stroke)
        draw.line([(c - d, c + d), (c + d, c - d)], fill=white, width=stroke)
    elif light is Light.AMBER:  # "!"
        draw.line([(c, c - 3.8 * u), (c, c + 0.9 * u)], fill=(40, 30, 0, 255), width=stroke)
        r = 1.05 * u
        draw.ellipse((c - r, c + 2.3 * u - r, c + r, c + 2.3 * u + r), fill=(40, 30, 0, 255))
    elif light is Light.BLUE:  # three dots: working on it
        r = 1.15 * u
        for dx in (-3.2 * u, 0, 3.2 * u):
            draw.ellipse((c + dx - r, c - r, c + dx + r, c + r), fill=white)
    else:  # grey, offline: a dash
        draw.line([(c - 3.2 * u, c), (c + 3.2 * u, c)], fill=white, width=stroke)
    return image.resize((size, size), Image.Resampling.LANCZOS)


# -- child-process Tk windows -------------------------------------------------------------

def _tk(script: str, *args: str, timeout: float) -> str | None:
    """Run a Tk script in a child process; what it printed, or None (no Tk, no display,
    killed, timed out)."""
    try:
        proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                              text=True, timeout=timeout + 5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        log.warning("tray window failed: %s", proc.stderr.strip().splitlines()[-1:])
        return None
    return proc.stdout


def ask_links(timeout: float = _DIALOG_SECONDS) -> str | None:
    """Ask for a link or pasted text in a small Tk dialog (child process); the text, or None
    if cancelled; OSError when there is no Tk or no display. The caller finds the links in it
    (`access_probe.links`)."""
    text = _tk(_ASK_LINKS, LINKS_DIALOG, str(timeout), timeout=timeout)
    if text is None:
        raise OSError("the link dialog needs Tk (python3-tk)")
    return text.strip() or None


def _clipboard_command() -> list[str] | None:
    if sys.platform == "win32":
        return ["clip"]
    if sys.platform == "darwin":
        return ["pbcopy"]
    candidates = [["xclip", "-selection", "clipboard"], ["xsel", "-b", "-i"]]
    if os.environ.get("WAYLAND_DISPLAY"):
        candidates.insert(0, ["wl-copy"])
    for command in candidates:
        if shutil.which(command[0]):
            return command
    return None


def copy_to_clipboard(text: str) -> bool:
    command = _clipboard_command()
    if command is None:
        return False
    try:
        # xclip/xsel stay behind to serve the selection: do not wait on their output pipes
        subprocess.run(command, input=text.encode("utf-8"), timeout=10, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def desktop_notify(message: str) -> bool:
    """notify-send where the desktop has it (the xorg backend has no notifications)."""
    if not shutil.which("notify-send"):
        return False
    try:
        subprocess.run(["notify-send", "--app-name", APP_TITLE, APP_TITLE, message],
                       timeout=10, check=True, capture_output=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def choose_backend(environ: Mapping[str, str] | None = None,
                   platform: str = sys.platform) -> str | None:
    """The pystray backend for this desktop, or None for pystray's own choice."""
    env = os.environ if environ is None else environ
    if env.get("PYSTRAY_BACKEND") or not platform.startswith("linux"):
        return None
    if env.get("XDG_CURRENT_DESKTOP"):
        return None  # a desktop session: AppIndicator (its menu), else GTK, else xorg
    # A bare X session: an AppIndicator icon would have no host there; GTK's StatusIcon docks
    # in an XEmbed tray with a real menu (pystray's GTK backend also needs the session bus,
    # for its notifications), pystray's xorg backend gets our menu window.
    return "gtk" if env.get("DBUS_SESSION_BUS_ADDRESS") and _has_gtk() else "xorg"


def _has_gtk() -> bool:
    try:
        import gi  # type: ignore[import-not-found, unused-ignore]

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # type: ignore[import-not-found, unused-ignore] # noqa: F401
    except Exception:  # ImportError, ValueError (no typelib), RuntimeError (no display)
        return False
    return True


# -- notifications when a service changes state -----------------------------------------

class ChangeNotifier:
    """Says when a service's standing changes, at most once per `every` seconds.

    Changes held back by the limit are not lost: the baseline is what was last told, so a
    change still true at the next allowed check is told then."""

    def __init__(self, names: Mapping[str, str], *, every: float = NOTIFY_EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.names = dict(names)
        self.every = every
        self.clock = clock
        self._told: dict[str, Standing] | None = None
        self._sent_at: float | None = None

    def observe(self, doc: CheckDocument) -> str | None:
        now = service_standings(doc.results)
        if self._told is None:
            self._told = dict(now)
            return None
        changed = {k: v for k, v in now.items() if k in self._told and self._told[k] != v}
        if not changed:
            self._told.update(now)
            return None
        if self._sent_at is not None and self.clock() - self._sent_at < self.every:
            log.info("state change not notified yet (at most one notice per %d min): %s",
                     self.every // 60, ", ".join(sorted(changed)))
            self._told.update({k: v for k, v in now.items() if k not in changed})
            return None
        self._told.update(now)
        self._sent_at = self.clock()
        parts = [f"{self.names.get(k, k)} is now {v}" for k, v in changed.items()]
        more = f"; and {len(parts) - 3} more" if len(parts) > 3 else ""
        return "; ".join(parts[:3]) + more + "."


# -- the tray ------------------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class _Action:
    key: str
    label: str
    run: Callable[[], object]
    default: bool = False


class TrayApp:
    """The icon, its menu and their actions over one `Agent`."""

    def __init__(self, agent: Agent, *, reports_dir: Path,
                 names: Mapping[str, str] | None = None,
                 notify_every: float = NOTIFY_EVERY_SECONDS) -> None:
        self.agent = agent
        self.reports_dir = reports_dir
        self.names = dict(names or {})
        self.stop = threading.Event()
        self.icon: Any = None
        self.message: str | None = None  # the last thing an action had to say
        self.changes = ChangeNotifier(self.names, every=notify_every)
        self._seen: CheckDocument | None = None
        self._links_doc: CheckDocument | None = None  # the last "Check a link…" result
        self._light: Light | None = None
        self._worker: threading.Thread | None = None
        self._looping = False
        self._loop_ended = False
        self._menu_open = threading.Lock()
        if agent.snapshot.last is not None:
            self._seen = agent.snapshot.last
            self.changes.observe(agent.snapshot.last)

    # -- what the tray shows ---------------------------------------------------------

    def warning(self) -> str | None:
        """A refused token (or org or URL) is the one thing the officer must pass on to IT."""
        snap = self.agent.snapshot
        if snap.refused and snap.last_error:
            return (f"Results are not being delivered: {snap.last_error}."
                    f" {snap.pending} wait on this PC; tell IT.")
        return None

    def title(self) -> str:
        text = f"{APP_TITLE}: {self.status_line()}"
        snap = self.agent.snapshot
        if snap.refused:
            what = "token" if "token (HTTP 401)" in (snap.last_error or "") else "results"
            text += f" - warning: the collector refused this PC's {what}"
        # pystray's xorg backend writes the title as a Latin-1 WM_NAME
        return text.encode("latin-1", "replace").decode("latin-1")

    def _refresh(self, snapshot: AgentSnapshot) -> None:
        if not snapshot.running and snapshot.last is not None and snapshot.last is not self._seen:
            self._seen = snapshot.last
            change = self.changes.observe(snapshot.last)
            if change:
                self._notify(change, remember=False)
        if self.icon is None:
            return
        light = light_for(snapshot)
        if light is not self._light:  # each redraw costs the X loop a round trip
            self._light = light
            self.icon.icon = icon_image(light)
        if (title := self.title()) != self.icon.title:
            self.icon.title = title
        self.icon.update_menu()

    def actions(self) -> list[_Action]:
        return [
            _Action("check", "Check now", self._spawn(self.check_now), default=True),
            _Action("link", "Check a link\u2026", self._spawn(self.check_link)),
            _Action("report", "Open report", self._spawn(self.open_report)),
            _Action("unblock", "Copy unblock request", self._spawn(self.copy_unblock_request)),
            _Action("quit", "Quit", self.quit),
        ]

    def info_rows(self) -> list[tuple[str, str]]:
        """(kind, text) lines above the actions: the status, a warning, the last message,
        the check's own warnings (no control)."""
        snap = self.agent.snapshot
        rows = [("label", self.status_line())]
        if (warning := self.warning()) is not None:
            rows.append(("warning", warning))
        for text in (snap.last.warnings if snap.last else ())[:2]:
            rows.append(("warning", text[:1].upper() + text[1:] + "."))
        if self.message:
            rows.append(("label", self.message))
        return rows

    def menu(self) -> Any:
        """The native menu (AppIndicator, GTK, Windows, macOS)."""
        import pystray

        item = pystray.MenuItem

        def info(n: int) -> Any:
            def text(_: Any) -> str:
                rows = self.info_rows()
                if n >= len(rows):
                    return ""
                line = ("\u26a0 " if rows[n][0] == "warning" else "") + rows[n][1]
                return line if len(line) <= 80 else line[:79].rstrip() + "\u2026"
            return item(text, None, enabled=False, visible=lambda _: n < len(self.info_rows()))

        actions = self.actions()
        return pystray.Menu(
            *(info(n) for n in range(5)),
            pystray.Menu.SEPARATOR,
            *(item(a.label, _ignore_args(a.run), default=a.default) for a in actions[:-1]),
            pystray.Menu.SEPARATOR,
            item(actions[-1].label, _ignore_args(actions[-1].run)),
        )

    def menu_rows(self) -> list[tuple[str, str, str]]:
        """The Tk menu window's rows: (kind, action key, text)."""
        rows = [(kind, "", text) for kind, text in self.info_rows()]
        rows.append(("separator", "", ""))
        actions = self.actions()
        rows += [("action", a.key, a.label) for a in actions[:-1]]
        rows.append(("separator", "", ""))
        rows.append(("action", actions[-1].key, actions[-1].label))
        return rows

    def open_menu_window(self, x: int, y: int) -> str | None:
        """Show the Tk menu near (x, y) and run what was chosen; the chosen key. One menu at
        a time: while one is open it holds the pointer, so a click that still reaches the
        icon came as the last one was closing, and waits for it a moment."""
        if not self._menu_open.acquire(timeout=3):
            return None
        try:
            spec = {"title": MENU_WINDOW, "rows": self.menu_rows(), "x": x, "y": y,
                    "timeout": _MENU_SECONDS}
            out = _tk(_MENU, json.dumps(spec), timeout=_MENU_SECONDS)
        finally:
            self._menu_open.release()
        if out is None:  # no Tk here: a click still does what pystray's own click does
            self._notify("The tray menu needs Tk (python3-tk); checking now instead.")
            self._spawn(self.check_now)()
            return None
        chosen = out.strip()
        for action in self.actions():
            if action.key == chosen:
                log.info("tray: %s", action.label)
                action.run()
                return chosen
        return None

    def _on_x_click(self, event: Any) -> None:
        """A ButtonPress on the xorg icon (pystray's loop thread: never block it)."""
        if getattr(event, "detail", 1) not in (1, 3):
            return
        x, y = int(getattr(event, "root_x", 0)), int(getattr(event, "root_y", 0))
        threading.Thread(target=self.open_menu_window, args=(x, y), name="tray-menu",
                         daemon=True).start()

    def _hook_clicks(self, icon: Any) -> bool:
        """On pystray's xorg backend (no menu): select ButtonPress on its window and open the
        menu window on a click. False on a backend with a menu of its own."""
        if getattr(icon, "HAS_MENU", True) or not hasattr(icon, "_message_handlers"):
            return False
        import Xlib.X

        icon._window.change_attributes(
            event_mask=Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask
            | Xlib.X.ButtonPressMask)
        icon._display.flush()
        icon._message_handlers[Xlib.X.ButtonPress] = self._on_x_click
        # pystray asks the tray to dock the icon again on every icon change; trayer then
        # re-embeds it and sometimes leaves it 1 px wide. Dock once (and again only after
        # the tray itself went away: pystray clears _systray_manager then).
        dock = icon._dock_window

        def assert_docked() -> None:
            if icon._systray_manager is None:
                dock()
            assert icon._systray_manager, "no system tray to dock in"

        icon._assert_docked = assert_docked
        icon._assert_icon_data = lambda width, height: _xorg_icon_data(icon, width, height)
        log.info("tray: xorg backend, a click opens the menu window")
        return True

    @staticmethod
    def _spawn(action: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            threading.Thread(target=action, name="tray-action", daemon=True).start()
        return run

    def _notify(self, message: str, *, remember: bool = True) -> None:
        """Tell the officer: a desktop notification where there is one, and the menu's
        message line in any case (the xorg backend has no notifications)."""
        if remember:
            self.message = message
        log.info("tray: %s", message)
        if not self._native_notify(message) and not desktop_notify(message):
            log.info("no desktop notifications here (no notify-send); the menu says it")
        if remember:
            self._refresh(self.agent.snapshot)

    def _native_notify(self, message: str) -> bool:
        if self.icon is None or not getattr(self.icon, "HAS_NOTIFICATION", False):
            return False
        try:
            self.icon.notify(message, APP_TITLE)
        except Exception:  # notifications are a nicety; the menu says it too
            log.debug("notification failed", exc_info=True)
            return False
        return True

    # -- actions ---------------------------------------------------------------------

    def check_now(self) -> None:
        if self.agent.run_cycle().skipped:
            self._notify("A check is already running.")
        else:
            self.message = None

    def check_link(self) -> None:
        try:
            text = ask_links()
        except OSError as exc:
            self._notify(f"Cannot ask for links here: {exc}.")
            return
        if not text:
            return
        self.check_text(text)

    def check_text(self, text: str) -> None:
        """Every link in pasted text, found as `check --links-from` finds them."""
        from access_probe.links import find_links

        found = find_links(text)
        for raw, why in found.skipped:
            log.info("tray: not checked: %s (%s)", raw, why)
        if not found.links:
            reason = f" ({found.skipped[0][1]})" if found.skipped else ""
            self._notify(f"No link to check in that text{reason}.")
            return
        try:
            report = self.agent.run_cycle(list(found.links))
        except Exception as exc:  # a bad URL is the person's typo, not a crash
            self._notify(f"Could not check those links: {exc}")
            return
        if report.skipped:
            self._notify("A check is already running; try again in a moment.")
            return
        if report.document is None:
            return
        self._links_doc = report.document
        counts = service_counts(report.document.results)
        skipped = "".join(f"; not a link that can be checked: {raw} ({why})"
                          for raw, why in found.skipped[:2])
        self._notify(self._links_summary(counts) + skipped
                     + (". Open report or Copy unblock request for the details."
                        if counts.blocked or counts.restricted else "."))

    @staticmethod
    def _links_summary(counts: ServiceCounts) -> str:
        links = "link" if counts.total == 1 else "links"
        if not counts.blocked and not counts.restricted:
            return f"Links checked: {counts.total} {links}, none blocked"
        return (f"Links checked: {counts.blocked} of {counts.total} {links} blocked, "
                f"{counts.restricted} restricted")

    def status_line(self) -> str:
        """The snapshot's status, or after "Check a link…" what the links came to (the
        report and the unblock request then cover those links, until the next check)."""
        snap = self.agent.snapshot
        if not snap.running and snap.last is not None and snap.last is self._links_doc:
            return self._links_summary(snap.services())
        return snap.status_line

    def _latest(self) -> Any:
        return self.agent.snapshot.last

    def open_report(self) -> None:
        from access_probe.report import write_reports

        latest = self._latest()
        if latest is None:
            self._notify("No results yet: choose \u201cCheck now\u201d first.")
            return
        history = self.agent.history.load(limit=30) if self.agent.history else [latest]
        files = write_reports(self.reports_dir, latest, history, names=self.names)
        if not webbrowser.open(files.html.resolve().as_uri()):
            self._notify(f"No web browser could be started: the report is {files.html}")

    def copy_unblock_request(self) -> None:
        from access_probe.report import write_unblock_request

        latest = self._latest()
        path = write_unblock_request(self.reports_dir, latest, names=self.names) if latest else None
        if path is None:
            self._notify("Nothing is blocked: there is nothing to ask IT.")
            return
        if copy_to_clipboard(path.read_text("utf-8")):
            self._notify("The unblock request is on the clipboard: paste it into a message "
                         "to IT.")
        elif not webbrowser.open(path.resolve().as_uri()):
            self._notify(f"No clipboard here: the unblock request is {path}")

    def quit(self) -> None:
        """Safe from any thread and from a signal handler: only sets an event; the setup
        thread stops the icon (calling X from a signal handler can deadlock on Xlib's lock
        held by the interrupted main loop)."""
        self.stop.set()

    # -- lifecycle -------------------------------------------------------------------

    def _setup(self, icon: Any) -> None:
        """pystray's setup thread: start the agent and the nudger, show the icon, then wait
        for the stop and end the loop."""
        if self._gtk():
            self._gtk_setup(icon)
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

    def _gtk(self) -> bool:
        return type(self.icon).__module__.endswith(("._gtk", "._appindicator"))

    def _gtk_setup(self, icon: Any) -> None:
        """GTK and AppIndicator backends, from the setup thread (pystray's loop is set up).

        Their GLib loop sits in C, where Python's signal handlers never run, so SIGTERM and
        SIGINT are taken by GLib instead and only set the stop (pystray had reset SIGINT to
        the default). pystray closes its last notification on the way out and raises when
        the desktop has no notification service: that is not worth a traceback."""
        from gi.repository import GLib  # type: ignore[import-not-found, unused-ignore]

        def stop() -> bool:
            self.stop.set()
            return True  # keep the source: a second signal is answered the same way

        for sig in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, stop)
        notifier = getattr(icon, "_notifier", None)
        if notifier is not None and hasattr(notifier, "hide"):
            hide = notifier.hide

            def quiet_hide() -> None:
                try:
                    hide()
                except Exception:
                    log.debug("no notification to close", exc_info=True)

            notifier.hide = quiet_hide

    def _nudger(self, icon: Any) -> None:
        """Until the loop has ended, not just until the stop: the stop request itself is a
        message the loop may otherwise sit on."""
        while not self._loop_ended:
            time.sleep(_NUDGE_SECONDS)
            if not self._loop_ended:
                _nudge(icon)

    def run(self) -> None:
        """Blocks in pystray's loop on this (main) thread until Quit or a stop signal."""
        import pystray

        snapshot = self.agent.snapshot
        self._light = light_for(snapshot)
        self.icon = pystray.Icon(APP_TITLE, icon_image(self._light), self.title(), self.menu())
        log.info("tray: pystray backend %s", type(self.icon).__module__)
        self._hook_clicks(self.icon)
        self.agent.listeners.append(self._refresh)
        if not self._gtk():  # GTK: in the setup thread, once pystray has set up its loop
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


def _panel_colour(icon: Any, width: int, height: int) -> tuple[int, int, int]:
    """The tray's background colour next to the icon: the pixels just above and below its
    window, read from the screen (trays leave a margin round their icons). A neutral grey
    when there is nothing to read."""
    try:
        root = icon._display.screen().root
        origin = root.translate_coords(icon._window, 0, 0)
        screen = icon._display.screen()
        samples = []
        for x, y in ((origin.x + width // 2, origin.y - 1), (origin.x + width // 2,
                                                              origin.y + height)):
            if 0 <= x < screen.width_in_pixels and 0 <= y < screen.height_in_pixels:
                pixel = root.get_image(x, y, 1, 1, 2, 0xFFFFFFFF).data  # 2: ZPixmap
                if len(pixel) >= 3:
                    samples.append((pixel[2], pixel[1], pixel[0]))  # BGRX, little-endian
        if samples:
            return samples[0]
    except Exception:  # the tray moved or went away: any sensible colour will do
        log.debug("cannot read the tray's colour", exc_info=True)
    return (128, 128, 128)


def _xorg_icon_data(icon: Any, width: int, height: int) -> None:
    """pystray's xorg backend pastes the icon into an RGB image and loses its alpha: the
    round icon's corners turn black (and its anti-aliased edge speckled). Composite it over
    the tray's own colour instead (runs in pystray's loop thread, like its original)."""
    from PIL import Image

    data = icon._icon_data  # pystray clears it when the icon changes
    if data is not None and data.size == (width, height):
        return
    background = Image.new("RGBA", (width, height), (*_panel_colour(icon, width, height), 255))
    art = icon._icon.convert("RGBA").resize((width, height), Image.Resampling.LANCZOS)
    data = Image.alpha_composite(background, art).convert("RGB")
    setattr(data, "tostring", data.tobytes)  # noqa: B010 - what python-xlib's put_pil_image calls
    icon._icon_data = data


def _ignore_args(action: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        action()
    return run


def main(config: Config) -> int:
    """`access-probe tray`: reports go beside the spool (the working directory of a desktop
    app is nobody's choice)."""
    from access_probe.agent.runtime import build_agent, catalogue_names, data_dir
    from access_probe.errors import UsageError

    backend = choose_backend()
    if backend is not None:
        os.environ["PYSTRAY_BACKEND"] = backend
    if backend == "gtk":
        from gi.repository import GLib  # type: ignore[import-not-found, unused-ignore]

        GLib.set_prgname(APP_TITLE)  # the icon's WM_CLASS, instead of "cli.py"
    try:
        import pystray  # noqa: F401 - fail early, with advice, before the agent starts
    except ImportError as exc:
        if backend == "gtk":  # PyGObject imported but pystray's GTK backend did not
            os.environ["PYSTRAY_BACKEND"] = "xorg"
            return main(config)
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
