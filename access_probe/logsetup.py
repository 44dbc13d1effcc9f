"""Logging for the long-lived agent: a rotating file in the platform's log directory.

Only entry points (the CLI's agent commands, the tray) call `setup_logging`; library modules
just use `logging.getLogger(__name__)`. Quiet by default: warnings and errors only, so a
healthy agent leaves a near-empty file on an officer's PC for months.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

import platformdirs

__all__ = ["LOG_FILE", "default_log_dir", "setup_logging"]

LOG_FILE = "access-probe.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MAX_BYTES = 1_000_000
_BACKUPS = 3
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR, "critical": logging.CRITICAL}


def default_log_dir() -> Path:
    return Path(platformdirs.user_log_dir("access-probe", appauthor=False))


def setup_logging(level: str = "warning", *, log_dir: Path | None = None,
                  stderr: bool = False) -> Path:
    """Route the package's log records to `<log_dir>/access-probe.log` (rotated at 1 MB,
    three old files kept); with `stderr`, also to the console. Returns the log file path.
    Calling it again replaces the handlers it installed before."""
    directory = log_dir or default_log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE
    logger = logging.getLogger("access_probe")
    for handler in [h for h in logger.handlers if getattr(h, "_access_probe", False)]:
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.handlers.RotatingFileHandler(
        path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", delay=True)]
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._access_probe = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(_LEVELS.get(level.lower(), logging.WARNING))
    return path
