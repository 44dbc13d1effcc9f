"""A real agent process for the crash tests: the library's Agent, spool and submitter, with
a stand-in probe (so no network beyond loopback) and journals the test checks against.

    driver.py cycles --dir D --collector URL --cycles N     N agent cycles on the real clock
    driver.py week --dir D --collector URL --until ISO      the schedule loop on a simulated
                                                            clock (one minute per step),
                                                            resuming from D/clock
    driver.py flush --dir D --collector URL [--batch N]     flush until empty or refused

Journals (append-only, fsynced): D/generated (ids a probe produced, before spooling) and
D/committed (ids the spool has durably accepted).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from access_probe.agent.runtime import Agent, Plan, RunLock
from access_probe.agent.spool import Spool
from access_probe.agent.submit import Submitter, flush
from access_probe.report.history import History
from access_probe.schema import CheckDocument, Context, Result, Status, parse_iso

TOKEN = os.environ.get("ACCESS_PROBE_DRIVER_TOKEN", "test-token")  # a real collector's token
PER_CYCLE = 3


def journal(path: Path, ids: Sequence[str]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(f"{i}\n" for i in ids))
        handle.flush()
        os.fsync(handle.fileno())


class JournalSpool(Spool):
    def enqueue(self, document: dict[str, Any]) -> int:
        added = super().enqueue(document)
        journal(self.path.parent / "committed", [r["id"] for r in document["results"]])
        return added


class SimClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_check(directory: Path, clock: Any, per_cycle: int = PER_CYCLE) -> Any:
    def check(urls: Sequence[str] | None) -> CheckDocument:
        now = clock()
        results = tuple(Result(target=f"svc{i}", url=f"https://svc{i}.example/", service=f"svc{i}",
                               status=Status.BLOCKED if i == 0 else Status.ACCESSIBLE,
                               measured_at=now) for i in range(per_cycle))
        journal(directory / "generated", [r.id for r in results])
        return CheckDocument(started_at=now, finished_at=now,
                             context=Context(org="E07000223", network="lab"), results=results)
    return check


def build(args: argparse.Namespace, clock: Any) -> Agent:
    directory = Path(args.dir)
    return Agent(check=make_check(directory, clock, args.per_cycle),
                 spool=JournalSpool(directory / "spool.sqlite3", clock=clock),
                 submitter=Submitter(args.collector, TOKEN, timeout=(2, 5)),
                 history=History(directory / "history"), lock=RunLock(directory / "run.lock"),
                 plan=Plan(every=timedelta(hours=1), jitter=timedelta(minutes=10)),
                 clock=clock, rng=random.Random())


def cmd_cycles(args: argparse.Namespace) -> None:
    from access_probe.schema import utc_now

    agent = build(args, utc_now)
    for _ in range(args.cycles):
        agent.run_cycle()
        if args.force_flush:  # as `spool flush` would: past the backoff a refusal set
            agent.flush(force=True)


def cmd_week(args: argparse.Namespace) -> None:
    directory = Path(args.dir)
    marker = directory / "clock"
    start = parse_iso(marker.read_text()) if marker.exists() else parse_iso(args.start)
    clock = SimClock(start)
    agent = build(args, clock)
    sched = agent.scheduler()
    until = parse_iso(args.until)
    while clock.now < until:
        sched.run_pending()
        clock.now += timedelta(minutes=1)
        if clock.now.minute == 0:
            tmp = directory / "clock.tmp"
            tmp.write_text(clock.now.isoformat())
            os.replace(tmp, marker)
            time.sleep(args.pace)  # real time per simulated hour, so kills land mid-week


def cmd_serve(args: argparse.Namespace) -> None:
    """The real schedule loop on the real clock until SIGTERM."""
    from access_probe.agent.runtime import install_stop_signals
    from access_probe.logsetup import setup_logging
    from access_probe.schema import utc_now

    setup_logging("info", log_dir=Path(args.dir), stderr=True)
    agent = build(args, utc_now)
    agent.plan = Plan(every=timedelta(seconds=0.5), jitter=timedelta(seconds=0.1))
    stop = threading.Event()
    install_stop_signals(stop)
    agent.serve(stop, poll_seconds=0.2)


def cmd_flush(args: argparse.Namespace) -> None:
    with Spool(Path(args.dir) / "spool.sqlite3") as spool:
        report = flush(spool, Submitter(args.collector, TOKEN, timeout=(2, 10)), force=True,
                       batch_size=args.batch)
    sys.stdout.write(f"{report}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["cycles", "week", "flush", "serve"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--collector", required=True)
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--start", default="2026-11-23T00:00:00Z")
    parser.add_argument("--until", default="2026-11-30T00:00:00Z")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--pace", type=float, default=0.0)
    parser.add_argument("--per-cycle", type=int, default=PER_CYCLE)
    parser.add_argument("--force-flush", action="store_true")
    args = parser.parse_args()
    threading.current_thread().name = f"driver-{args.mode}"
    modes = {"cycles": cmd_cycles, "week": cmd_week, "flush": cmd_flush, "serve": cmd_serve}
    modes[args.mode](args)


if __name__ == "__main__":
    main()
