"""The lab's own machinery: teardown leaves nothing behind, even when a daemon forks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .topology import NETNS_ETC, Lab, LabError


def test_close_removes_namespaces_and_every_process() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="netlab-topo-"))
    lab = Lab(prefix=f"nlt{os.getpid()}", workdir=workdir)
    sleeper = f"sleep 3{os.getpid()}"
    try:
        a, b = lab.ns("a"), lab.ns("b")
        lab.link(a, "x0", "198.51.100.1/30", b, "x1", "198.51.100.2/30")
        lab.resolv_conf(a, "198.51.100.2")
        lab.sh(a, "ping", "-c", "1", "-W", "2", "198.51.100.2")
        # A daemon that leaves a child in its own new session: only `ip netns pids` finds it.
        # The duration names this run: a parallel session's forker must not look like ours.
        lab.spawn(a, "forker", ["sh", "-c", f"setsid {sleeper} & {sleeper}"])
        lab.sh(a, "sleep", "0.3")
        assert run_pids(a)
    finally:
        lab.close()
        shutil.rmtree(workdir)
    assert lab.leftovers() == []
    assert not (NETNS_ETC / a).exists()
    assert subprocess.run(["pgrep", "-f", f"setsid {sleeper} &"], capture_output=True,
                          check=False).stdout.strip() == b""
    lab.close()  # idempotent


def run_pids(ns: str) -> list[str]:
    return subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                          check=True).stdout.split()


def test_a_daemon_that_dies_fails_loudly_with_its_log() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="netlab-topo-"))
    lab = Lab(prefix=f"nlu{os.getpid()}", workdir=workdir)
    try:
        a = lab.ns("a")
        lab.spawn(a, "broken", ["sh", "-c", "echo 'bad config line 3' >&2; exit 1"])
        with pytest.raises(LabError, match="bad config line 3"):
            lab.wait_listening(a, "broken", "127.0.0.1", 9, timeout=5)
    finally:
        lab.close()
        shutil.rmtree(workdir)
    assert lab.leftovers() == []
