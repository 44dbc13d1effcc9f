"""kill -9 at random points of real agent processes loses nothing and stores nothing twice.

The processes are real (tests/agent/driver.py: the library's Agent, Spool and Submitter with
a stand-in probe); the collector is a real HTTP server on loopback that stores by id.
Invariant checked: every id the spool durably accepted is stored by the collector exactly
once, nothing is stored that no probe produced, and the spool ends empty.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from access_probe.agent.anonymise import anonymise
from access_probe.agent.spool import Spool
from access_probe.schema import Status

from .docs import document
from .stub_collector import StubCollector

DRIVER = Path(__file__).with_name("driver.py")
ROOT = Path(__file__).resolve().parents[2]


def spawn(mode: str, directory: Path, collector: StubCollector,
          *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(DRIVER), mode, "--dir", str(directory),
                             "--collector", collector.url, *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run_and_maybe_kill(proc: subprocess.Popen[bytes], after: float) -> bool:
    """Kill -9 after `after` seconds unless the process ended first; True if killed."""
    try:
        proc.wait(timeout=after)
        killed = False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed = True
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    assert killed or proc.returncode == 0, stderr
    return killed


def wait_for_progress(proc: subprocess.Popen[bytes], marker: Path, before: str,
                      limit: float) -> None:
    """Until the simulated clock in `marker` moves past `before`, or the process ends."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if marker.exists() and marker.read_text() != before:
            return
        time.sleep(0.01)


def read_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    # A kill can leave a torn last line; a complete id is 36 characters.
    return [line for line in path.read_text().splitlines() if len(line) == 36]


def final_flush(directory: Path, collector: StubCollector) -> None:
    proc = spawn("flush", directory, collector)
    assert not run_and_maybe_kill(proc, 30)


def assert_exactly_once(directory: Path, collector: StubCollector) -> None:
    committed = set(read_ids(directory / "committed"))
    generated = set(read_ids(directory / "generated"))
    stored = set(collector.stored)
    assert committed, "no cycle ever committed: the test proved nothing"
    assert committed <= stored, f"lost {len(committed - stored)} results"
    assert stored <= generated, "the collector holds results no probe produced"
    with Spool(directory / "spool.sqlite3") as spool:
        assert spool.pending() == 0 and spool.status().rejected == 0
    resent = sum(1 for n in collector.deliveries.values() if n > 1)
    print(f"committed {len(committed)}, stored {len(stored)}, re-sent after a crash {resent}")


def test_kill_during_cycles(tmp_path: Path, collector: StubCollector) -> None:
    collector.delay = 0.05  # widen the window between the collector's commit and its answer
    rng = random.Random(11)
    kills = 0
    deadline = time.monotonic() + 20
    for _ in range(15):
        if time.monotonic() > deadline:
            break
        proc = spawn("cycles", tmp_path, collector, "--cycles", "40")
        kills += run_and_maybe_kill(proc, rng.uniform(0.3, 1.0))
    final_flush(tmp_path, collector)
    assert kills >= 5
    assert_exactly_once(tmp_path, collector)


def test_kill_during_flush(tmp_path: Path, collector: StubCollector) -> None:
    with Spool(tmp_path / "spool.sqlite3") as spool:
        ids: set[str] = set()
        for _ in range(300):
            doc = anonymise(document(Status.BLOCKED, Status.ACCESSIBLE, Status.RESTRICTED))
            spool.enqueue(doc)
            ids |= {r["id"] for r in doc["results"]}
    (tmp_path / "committed").write_text("".join(f"{i}\n" for i in ids))
    (tmp_path / "generated").write_text("".join(f"{i}\n" for i in ids))
    collector.delay = 0.05
    rng = random.Random(5)
    kills = 0
    for _ in range(20):
        proc = spawn("flush", tmp_path, collector, "--batch", "10")
        kills += run_and_maybe_kill(proc, rng.uniform(0.3, 0.9))
        if set(collector.stored) == ids:
            break
    final_flush(tmp_path, collector)
    assert kills >= 3
    assert set(collector.stored) == ids
    assert_exactly_once(tmp_path, collector)


@pytest.mark.timeout(420)
def test_week_long_outage_with_crashes(tmp_path: Path, collector: StubCollector) -> None:
    """Seven simulated days of hourly cycles while the collector is down, the agent killed
    again and again; then the collector returns and everything arrives once."""
    collector.mode = "down"
    rng = random.Random(23)
    marker = tmp_path / "clock"
    deadline = time.monotonic() + 240  # a bound, not a speed goal: a loaded machine is slow
    runs = kills = 0
    while time.monotonic() < deadline and runs < 60:
        before = marker.read_text() if marker.exists() else ""
        proc = spawn("week", tmp_path, collector, "--start", "2026-11-23T00:00:00Z",
                     "--until", "2026-11-30T00:00:00Z", "--pace", "0.02")
        # The kill is timed from the run's first simulated hour, not from the spawn: on a
        # loaded CI machine the interpreter's start-up alone can outlast a fixed delay, and
        # then no run ever gets further than the last one did.
        wait_for_progress(proc, marker, before, limit=15)
        kills += run_and_maybe_kill(proc, rng.uniform(0.1, 1.0))
        runs += 1
        if proc.returncode == 0:
            break
    assert proc.returncode == 0, "the simulated week did not finish in time"
    assert marker.read_text().startswith("2026-11-30T00:00")
    assert kills >= 3
    assert not collector.stored
    cycles = len(read_ids(tmp_path / "committed")) // 3
    assert cycles >= 150  # about one per simulated hour, minus the ones crashes cut short
    down_requests = collector.requests
    assert down_requests < cycles  # backoff: far fewer attempts than cycles
    collector.mode = "up"
    final_flush(tmp_path, collector)
    assert_exactly_once(tmp_path, collector)
