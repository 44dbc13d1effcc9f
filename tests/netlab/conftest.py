"""Session fixtures of the network lab. The lab is built once per session and always torn
down; teardown then checks that nothing of ours is left (namespaces, /etc/netns entries,
processes) and fails the session if anything is. Building fails, never skips: CI must not
pass quietly on a machine where the lab cannot run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .lab import World, build_world, new_lab, start_collector
from .runner import Outcome, run_all
from .scenarios import RUNS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.netlab)


@pytest.fixture(scope="session")
def lab_world() -> Iterator[World]:
    if os.geteuid() != 0:
        pytest.fail("the network lab needs root (ip netns, iptables); run the suite as root")
    lab = new_lab()
    try:
        yield build_world(lab)
    finally:
        lab.close()
        left = lab.leftovers()
        if not os.environ.get("NETLAB_KEEP"):
            shutil.rmtree(lab.workdir, ignore_errors=True)
        assert not left, f"the lab left these behind: {left}"


@pytest.fixture(scope="session")
def collector_token(lab_world: World) -> str:
    return start_collector(lab_world)


@pytest.fixture(scope="session")
def outcomes(lab_world: World, collector_token: str) -> dict[str, Outcome]:
    return run_all(lab_world, RUNS, collector_token)
