"""The agent's cycle: check -> spool -> deliver, offline collapse, one run at a time, and a
clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from access_probe.agent.runtime import Agent, Plan, RunLock, collapse_offline
from access_probe.agent.spool import Spool
from access_probe.agent.submit import Submitter
from access_probe.report.history import History
from access_probe.schema import CheckDocument, Status

from .conftest import finish
from .docs import T0, document
from .stub_collector import TOKEN, StubCollector

ROOT = Path(__file__).resolve().parents[2]


class ScriptedCheck:
    """Answers each cycle with the next document of a script."""

    def __init__(self, *docs: CheckDocument) -> None:
        self.docs = list(docs)
        self.calls = 0

    def __call__(self, urls: Sequence[str] | None) -> CheckDocument:
        doc = self.docs[min(self.calls, len(self.docs) - 1)]
        self.calls += 1
        return doc


def make_agent(tmp_path: Path, check: ScriptedCheck, collector: StubCollector | None) -> Agent:
    return Agent(check=check, spool=Spool(tmp_path / "spool.sqlite3"),
                 submitter=Submitter(collector.url, TOKEN) if collector else None,
                 history=History(tmp_path / "history"), lock=RunLock(tmp_path / "run.lock"),
                 plan=Plan(every=timedelta(hours=1), jitter=timedelta(minutes=10)))


def test_cycle_delivers_and_remembers(tmp_path: Path, collector: StubCollector) -> None:
    doc = document(Status.BLOCKED, Status.ACCESSIBLE, Status.RESTRICTED)
    agent = make_agent(tmp_path, ScriptedCheck(doc), collector)
    report = agent.run_cycle()
    assert report.spooled == 3 and report.flush is not None and report.flush.delivered == 3
    assert set(collector.stored) == {r.id for r in doc.results}
    assert agent.spool.pending() == 0
    assert agent.snapshot.status_line == "1 of 3 services blocked, 1 restricted"
    latest = History(tmp_path / "history").latest()
    assert latest is not None and [r.id for r in latest.results] == [r.id for r in doc.results]
    agent.spool.close()


def test_offline_spells_spool_one_result_per_transition(tmp_path: Path,
                                                        collector: StubCollector) -> None:
    offline = [document(Status.OFFLINE, Status.OFFLINE) for _ in range(6)]
    online = document(Status.ACCESSIBLE)
    check = ScriptedCheck(*offline[:3], online, *offline[3:])
    agent = make_agent(tmp_path, check, collector)
    for _ in range(7):
        agent.run_cycle()
    stored = list(collector.stored.values())
    markers = [r for r in stored if r["target"] == "connectivity"]
    assert len(markers) == 2  # went offline twice; six offline cycles
    assert all(r["status"] == "offline" and r["service"] is None for r in markers)
    assert len(stored) == 3
    assert agent.snapshot.status_line == "Offline: nothing could be checked"
    agent.spool.close()


def test_collapse_offline_is_pure() -> None:
    doc = document(Status.OFFLINE, Status.OFFLINE)
    first, state = collapse_offline(doc, None)
    assert state == "offline" and first is not None and len(first.results) == 1
    assert first.results[0].measured_at == T0
    again, state = collapse_offline(doc, "offline")
    assert again is None and state == "offline"
    mixed = document(Status.OFFLINE, Status.BLOCKED)
    assert collapse_offline(mixed, "offline") == (mixed, "online")


def test_no_collector_keeps_results_spooled(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, ScriptedCheck(document(Status.BLOCKED)), None)
    report = agent.run_cycle()
    assert report.flush is None and agent.spool.pending() == 1
    agent.spool.close()


def test_never_two_runs_at_once_in_one_process(tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(urls: Sequence[str] | None) -> CheckDocument:
        entered.set()
        release.wait(10)
        return document(Status.ACCESSIBLE)

    agent = Agent(check=slow, spool=Spool(tmp_path / "s.db"), submitter=None, history=None,
                  lock=RunLock(tmp_path / "run.lock"),
                  plan=Plan(every=timedelta(hours=1), jitter=timedelta(0)))
    worker = threading.Thread(target=agent.run_cycle)
    worker.start()
    try:
        assert entered.wait(10)
        assert agent.snapshot.running
        assert agent.run_cycle().skipped
    finally:
        release.set()
        worker.join(10)
    assert not agent.run_cycle().skipped
    agent.spool.close()


def test_never_two_runs_at_once_across_processes(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"f = open({str(tmp_path / 'run.lock')!r}, 'a+b')\n"
         "fcntl.flock(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        agent = make_agent(tmp_path, ScriptedCheck(document(Status.ACCESSIBLE)), None)
        assert agent.run_cycle().skipped
        assert agent.spool.pending() == 0
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout:
            holder.stdout.close()
    assert not agent.run_cycle().skipped  # the OS released the dead holder's lock
    agent.spool.close()


@pytest.mark.timeout(60)
def test_sigterm_stops_the_schedule_loop_cleanly(tmp_path: Path,
                                                 collector: StubCollector) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("driver.py")), "serve", "--dir",
         str(tmp_path), "--collector", collector.url],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    try:
        deadline = threading.Event()
        for _ in range(100):  # wait (bounded) until at least two cycles were delivered
            if len(collector.stored) >= 6:
                break
            deadline.wait(0.1)
        assert len(collector.stored) >= 6
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        stderr = finish(proc)
    assert "agent stopped" in stderr
    assert "Traceback" not in stderr
