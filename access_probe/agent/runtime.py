"""The headless agent: scheduled cycles of check -> history -> anonymise -> spool -> flush.

Scheduling uses the `schedule` library's Scheduler and Job machinery, with its known traps
fixed in `PlannedJob`:
- drift: `schedule` counts the next run from the end of the last one; here runs sit on
  fixed slots (anchor + k * every) plus a fresh random jitter each cycle, so a council's
  agents spread out and stay spread out;
- sleep: a laptop that slept through several slots runs once on wake, then returns to the
  first slot after that run (never a burst of catch-up runs);
- exceptions: a failing job is logged and rescheduled instead of escaping run_pending()
  and staying due forever;
- clocks: wall-clock UTC (a monotonic clock stops while the machine sleeps; local time
  jumps at daylight saving), injectable so the arithmetic is tested without waiting.

A cycle never overlaps another, in this process or another one on the same data
directory (`RunLock`). When the machine is offline the cycle spools one `offline` result on
the transition, not one per cycle.
"""

from __future__ import annotations

import logging
import math
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

import schedule

from access_probe.agent.anonymise import anonymise
from access_probe.agent.spool import Spool, SpoolLimits, default_data_dir
from access_probe.agent.submit import REFUSED, FlushReport, Submitter, flush
from access_probe.report.explain import ServiceCounts, service_counts
from access_probe.report.history import History
from access_probe.schema import CheckDocument, Result, Status, utc_now

if TYPE_CHECKING:
    from access_probe.config import Config

__all__ = [
    "CONNECTIVITY_TARGET", "Agent", "AgentSnapshot", "CheckFn", "CycleReport", "Plan",
    "PlannedJob", "RunLock", "collapse_offline",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
CheckFn = Callable[[Sequence[str] | None], CheckDocument]

CONNECTIVITY_TARGET = "connectivity"
CONNECTIVITY_URL = "http://connectivity.invalid/"  # .invalid: reserved, names no real site
_STATE_CONNECTIVITY = "agent.connectivity"


# -- schedule arithmetic ------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Fixed slots `anchor + k * every`; each run happens at its slot plus U(0, jitter)."""

    every: timedelta
    jitter: timedelta
    # The first run comes soon after start: the officer who opens the tray wants an answer,
    # not a wait of up to `jitter`. A minute of spread still keeps PCs switched on together
    # from probing in the same second.
    first_jitter: timedelta = timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.every <= timedelta(0):
            raise ValueError("schedule.every_minutes must be positive")
        if self.jitter < timedelta(0):
            raise ValueError("schedule.jitter_minutes must not be negative")

    def offset(self, rng: random.Random) -> timedelta:
        return timedelta(seconds=rng.uniform(0, self.jitter.total_seconds()))

    def first(self, now: datetime, rng: random.Random) -> tuple[datetime, datetime]:
        """(slot, run time) of the first run after start-up: within `first_jitter` (or
        `jitter`, when smaller), so PCs switched on together at 9:00 still spread a little."""
        spread = min(self.jitter, self.first_jitter).total_seconds()
        return now, now + timedelta(seconds=rng.uniform(0, spread))

    def first_delay_text(self) -> str:
        seconds = min(self.jitter, self.first_jitter).total_seconds()
        return f"{seconds:.0f} s" if seconds else "a moment"

    def after(self, slot: datetime, finished: datetime,
              rng: random.Random) -> tuple[datetime, datetime]:
        """The first slot strictly after `finished` (a run that overran or a machine that
        slept skips the slots it missed) and its jittered run time."""
        k = max(1, math.floor((finished - slot) / self.every) + 1)
        nxt = slot + k * self.every
        return nxt, nxt + self.offset(rng)


class PlannedJob(schedule.Job):
    """A `schedule.Job` whose timing follows a `Plan` on an injectable clock."""

    def __init__(self, scheduler: CycleScheduler, plan: Plan, func: Callable[[], object],
                 *, rng: random.Random) -> None:
        super().__init__(1, scheduler)
        self.unit = "seconds"
        self.plan = plan
        self.rng = rng
        self.clock = scheduler.clock
        self.job_func = func  # type: ignore[assignment]
        self.slot, self.next_run = plan.first(self.clock(), rng)
        scheduler.jobs.append(self)

    @property
    def should_run(self) -> bool:
        assert self.next_run is not None
        return bool(self.clock() >= self.next_run)

    def run(self) -> None:
        try:
            self.job_func()  # type: ignore[misc]
        except Exception:  # a broken cycle must not kill the agent or stay due forever
            log.exception("scheduled cycle failed; the next one is still planned")
        finally:
            self.last_run = self.clock()
            self.slot, self.next_run = self.plan.after(self.slot, self.last_run, self.rng)

    def __repr__(self) -> str:
        return f"PlannedJob(every={self.plan.every}, next_run={self.next_run})"


class CycleScheduler(schedule.Scheduler):
    def __init__(self, clock: Clock = utc_now) -> None:
        super().__init__()
        self.clock = clock

    def plan(self, plan: Plan, func: Callable[[], object], *,
             rng: random.Random | None = None) -> PlannedJob:
        return PlannedJob(self, plan, func, rng=rng or random.Random())

    @property
    def idle_seconds(self) -> float | None:
        nxt = self.get_next_run()
        return None if nxt is None else (nxt - self.clock()).total_seconds()


# -- never two runs at once ---------------------------------------------------------------

class RunLock:
    """One cycle at a time: a thread lock for this process, an OS file lock for the others
    (a service and a tray agent sharing a data directory). Released by the OS on a crash."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """Yields False (without waiting) when someone else is running a cycle."""
        if not self._thread_lock.acquire(blocking=False):
            yield False
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a+b") as handle:
                if not _try_lock(handle):
                    yield False
                    return
                yield True
        finally:
            self._thread_lock.release()


def _try_lock(handle: IO[bytes]) -> bool:
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True  # released when the handle closes (or the process dies)


# -- offline collapse ---------------------------------------------------------------------

def collapse_offline(doc: CheckDocument,
                     previous: str | None) -> tuple[CheckDocument | None, str]:
    """(what to spool, new connectivity state). A run where every result is `offline`
    becomes one `connectivity` result on the transition to offline and nothing after."""
    if not doc.results or any(r.status is not Status.OFFLINE for r in doc.results):
        return doc, "online"
    if previous == "offline":
        return None, "offline"
    from access_probe.verdict import decide

    offline = decide(None, control=None, known_site=False, online=False)
    marker = Result(
        target=CONNECTIVITY_TARGET, url=CONNECTIVITY_URL, service=None, status=offline.status,
        measured_at=doc.started_at, evidence=offline.evidence,
    )
    return replace(doc, results=(marker,)), "offline"


# -- the agent ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class CycleReport:
    skipped: bool = False  # another cycle was running
    document: CheckDocument | None = None
    spooled: int = 0
    flush: FlushReport | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSnapshot:
    """What the tray shows; replaced whole, so readers need no lock."""

    running: bool = False
    last: CheckDocument | None = None
    last_error: str | None = None  # the last delivery error, in plain words
    refused: bool = False  # the collector refused this agent (token, org, URL)
    pending: int = 0

    def counts(self) -> dict[Status, int]:
        """Results by status (endpoints, not services: see `services`)."""
        out = dict.fromkeys(Status, 0)
        for r in self.last.results if self.last else ():
            out[r.status] += 1
        return out

    def services(self) -> ServiceCounts:
        """Services by standing, counted the way the report counts them."""
        return service_counts(self.last.results if self.last else ())

    @property
    def status_line(self) -> str:
        if self.running:
            return "Checking now..."  # ASCII: the xorg backend sets WM_NAME as Latin-1
        if self.last is None:
            return "Not checked yet"
        return self.services().summary


class Agent:
    """One agent's cycle and its schedule loop. `check` is the probe (check.run_check bound
    to a config); `submitter` is None when no collector is configured."""

    def __init__(self, *, check: CheckFn, spool: Spool, submitter: Submitter | None,
                 history: History | None, lock: RunLock, plan: Plan,
                 clock: Clock = utc_now, rng: random.Random | None = None) -> None:
        self.check = check
        self.spool = spool
        self.submitter = submitter
        self.history = history
        self.lock = lock
        self.plan = plan
        self.clock = clock
        self.rng = rng or random.Random()
        last_error = spool.last_error()
        refused = last_error is not None and last_error.startswith(REFUSED)
        self._snapshot = AgentSnapshot(last=history.latest() if history else None,
                                       pending=spool.pending(), last_error=last_error,
                                       refused=refused)
        self.listeners: list[Callable[[AgentSnapshot], None]] = []

    @property
    def snapshot(self) -> AgentSnapshot:
        return self._snapshot

    def _publish(self, **changes: Any) -> None:
        self._snapshot = replace(self._snapshot, **changes)
        for listener in list(self.listeners):
            try:
                listener(self._snapshot)
            except Exception:
                log.exception("snapshot listener failed")

    def run_cycle(self, urls: Sequence[str] | None = None) -> CycleReport:
        """Probe, remember, spool, then try to deliver. Never raises for network trouble."""
        with self.lock.hold() as held:
            if not held:
                log.info("a check is already running; this one is skipped")
                return CycleReport(skipped=True)
            self._publish(running=True)
            try:
                report = self._cycle(urls)
            except Exception as exc:
                self._publish(running=False, last_error=f"{type(exc).__name__}: {exc}")
                raise
            refused = report.flush.refused if report.flush else self._snapshot.refused
            self._publish(running=False, last=report.document or self._snapshot.last,
                          pending=self.spool.pending(), last_error=report.error,
                          refused=refused)
            from access_probe.engine.check import release_memory

            release_memory()  # the agent idles light between runs
            return report

    def _cycle(self, urls: Sequence[str] | None) -> CycleReport:
        doc = self.check(urls)
        # The spool first: a crash after it loses at most the local history entry.
        to_spool, state = collapse_offline(doc, self.spool.get_state(_STATE_CONNECTIVITY))
        spooled = self.spool.enqueue(anonymise(to_spool)) if to_spool else 0
        self.spool.set_state(_STATE_CONNECTIVITY, state)
        if self.history is not None:
            self.history.add(doc)
        flushed = self.flush()
        return CycleReport(document=doc, spooled=spooled, flush=flushed,
                           error=flushed.error if flushed else None)

    def flush(self, *, force: bool = False) -> FlushReport | None:
        if self.submitter is None:
            return None
        return flush(self.spool, self.submitter, force=force, rng=self.rng)

    def scheduler(self) -> CycleScheduler:
        sched = CycleScheduler(self.clock)
        sched.plan(self.plan, self.run_cycle, rng=self.rng)
        return sched

    def serve(self, stop: threading.Event, *, poll_seconds: float = 30.0) -> None:
        """Run cycles on the plan until `stop` is set. Waking at least every `poll_seconds`
        notices a wall-clock jump (sleep, hibernation) promptly."""
        sched = self.scheduler()
        log.info("agent started: every %s, jitter up to %s (first run within %s)",
                 self.plan.every, self.plan.jitter, self.plan.first_delay_text())
        while not stop.is_set():
            sched.run_pending()
            idle = sched.idle_seconds or poll_seconds
            stop.wait(max(0.05, min(idle, poll_seconds)))
        log.info("agent stopped")


def install_stop_signals(stop: threading.Event,
                         also: Callable[[], None] | None = None) -> None:
    """SIGTERM/SIGINT (and SIGBREAK on Windows) end the loop after the current step."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if also is not None:
            also()

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, handler)


# -- wiring from configuration ------------------------------------------------------------

def data_dir(config: Config) -> Path:
    """Where the spool, the history and the run lock live (spool.dir, else the platform's
    user data directory)."""
    return config.spool.dir or default_data_dir()


def open_history(config: Config) -> History:
    return History(data_dir(config) / "history")


def open_spool(config: Config, *, clock: Clock = utc_now) -> Spool:
    limits = SpoolLimits(max_results=config.spool.max_results,
                         max_age_days=config.spool.max_age_days)
    return Spool.in_dir(data_dir(config), limits=limits, clock=clock)


def make_submitter(config: Config) -> Submitter | None:
    """None without a collector. The collector is reached the way this machine reaches the
    web: the proxy netenv chooses for its URL, verified against the machine's trust store."""
    url = config.collector.url
    if not url:
        return None
    from access_probe.engine.netenv import NetEnv

    env = NetEnv.from_config(config)
    return Submitter(url, config.collector.token, proxy=env.proxy_for(url).proxy,
                     ssl_context=env.local_context())


def make_check(config: Config, *, isolated: bool = False) -> CheckFn:
    """The check bound to `config`; `isolated`: in a child process where that is safe
    (agent/child.py), so a long-running agent does not keep the engine's memory."""
    def check(urls: Sequence[str] | None) -> CheckDocument:
        from access_probe.engine.check import run_check

        return run_check(urls, config=config)

    if isolated:
        from access_probe.agent.child import in_child_process

        return in_child_process(check)
    return check


def plan_for(config: Config) -> Plan:
    return Plan(every=timedelta(minutes=config.schedule.every_minutes),
                jitter=timedelta(minutes=config.schedule.jitter_minutes))


def build_agent(config: Config, *, check: CheckFn | None = None, clock: Clock = utc_now,
                rng: random.Random | None = None, isolated: bool = False) -> Agent:
    return Agent(check=check or make_check(config, isolated=isolated),
                 spool=open_spool(config, clock=clock),
                 submitter=make_submitter(config), history=open_history(config),
                 lock=RunLock(data_dir(config) / "run.lock"), plan=plan_for(config),
                 clock=clock, rng=rng)


def deliver(doc: CheckDocument, config: Config) -> FlushReport | None:
    """For `access-probe check`: anonymise, spool and try to send one document (the CLI
    records the local history itself, with or without a collector)."""
    with open_spool(config) as spool:
        to_spool, state = collapse_offline(doc, spool.get_state(_STATE_CONNECTIVITY))
        if to_spool is not None:
            spool.enqueue(anonymise(to_spool))
        spool.set_state(_STATE_CONNECTIVITY, state)
        submitter = make_submitter(config)
        if submitter is None:
            return None
        try:
            return flush(spool, submitter)
        finally:
            submitter.close()


def catalogue_names(config: Config) -> dict[str, str]:
    """Service id -> display name, for the report; empty when the catalogue cannot load."""
    from access_probe.catalogue import load_catalogue
    from access_probe.errors import AccessProbeError

    try:
        return {s.id: s.name for s in load_catalogue(config.targets).services}
    except (AccessProbeError, OSError):
        return {}
