from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from access_probe.agent.spool import Spool

from .stub_collector import StubCollector


@pytest.fixture
def collector() -> Iterator[StubCollector]:
    stub = StubCollector().start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "spool.sqlite3") as s:
        yield s


def finish(proc: subprocess.Popen[bytes]) -> str:
    """Make sure a test's child process is gone (killed if it outlived the test) and return
    what it wrote on stderr."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    return stderr
