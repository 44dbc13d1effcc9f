from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from access_probe.spool import Spool

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
