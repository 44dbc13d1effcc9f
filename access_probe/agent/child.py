"""Each scheduled check in a short-lived child process, so the headless agent idles light.

A check imports the engine, builds trust contexts and fingerprints and fragments the heap;
handing that memory back to the system from a long-running Python process is only partly
possible (freed small objects stay in their arenas). A forked child does the check and
exits, so the agent between runs holds only what it held before the first one: the
scheduler, the spool and the configuration. The child also contains a crash or a leak in
the engine: the agent logs it and keeps its schedule.

Forking is used only where it is safe and cheap: on Linux, with no other thread running (a
fork copies one thread and whatever locks the others held). Elsewhere (Windows, macOS,
the tray with its GUI threads) the check runs in the process itself, as before.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from access_probe.errors import AccessProbeError
from access_probe.schema import CheckDocument

log = logging.getLogger(__name__)

CheckFn = Callable[[Sequence[str] | None], CheckDocument]


class CheckProcessError(AccessProbeError):
    """The child ended without handing back a document (killed, or out of memory)."""


def can_fork() -> bool:
    return sys.platform.startswith("linux") and threading.active_count() == 1


def in_child_process(check: CheckFn) -> CheckFn:
    """`check`, run in a forked child whenever `can_fork()` says so at the time of the call."""

    def isolated(urls: Sequence[str] | None) -> CheckDocument:
        if not can_fork():
            return check(urls)
        return _run_forked(check, urls)

    return isolated


def _run_forked(check: CheckFn, urls: Sequence[str] | None) -> CheckDocument:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(check, urls, write_fd)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise CheckProcessError(f"the check process ended without a result ({_how(status)})")
    outcome, value = pickle.loads(data)  # our own child's bytes, over our own pipe
    if outcome == "error":
        raise value
    assert isinstance(value, CheckDocument)
    return value


def _child(check: CheckFn, urls: Sequence[str] | None, write_fd: int) -> None:
    # The parent's stop handlers set an event nobody reads here: a stop signal (systemd
    # signals the whole control group) must end the child instead.
    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        try:
            payload = pickle.dumps(("ok", check(urls)))
        except BaseException as exc:  # everything goes back to the parent to be handled
            payload = _error_payload(exc)
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
    finally:
        # No atexit handlers, no flushing of buffers copied from the parent, no cleanup of
        # the parent's spool connection: the child only ever hands back its document.
        logging.shutdown()
        os._exit(0)


def _error_payload(exc: BaseException) -> bytes:
    try:
        payload = pickle.dumps(("error", exc))
        pickle.loads(payload)  # an exception that pickles may still not unpickle
        return payload
    except Exception:
        return pickle.dumps(("error", CheckProcessError(f"{type(exc).__name__}: {exc}")))


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
