"""Logging: a rotating file in the given directory, quiet by default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from access_probe.logsetup import setup_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    logger = logging.getLogger("access_probe")
    handlers, level = list(logger.handlers), logger.level
    try:
        yield
    finally:
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)


def test_quiet_by_default_and_rotating(tmp_path: Path, restore_logging: None) -> None:
    path = setup_logging(log_dir=tmp_path)
    log = logging.getLogger("access_probe.agent.spool")
    log.info("routine detail")
    log.warning("spool: dropped 3 undelivered results")
    text = path.read_text()
    assert "dropped 3" in text and "routine detail" not in text
    setup_logging("info", log_dir=tmp_path)  # replaces, does not stack, its handlers
    ours = [h for h in logging.getLogger("access_probe").handlers
            if getattr(h, "_access_probe", False)]
    assert len(ours) == 1 and getattr(ours[0], "maxBytes", 0) == 1_000_000
    log.info("now visible")
    assert "now visible" in path.read_text()
