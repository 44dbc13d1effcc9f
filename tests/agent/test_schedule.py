"""Schedule arithmetic on an injected clock: slots, jitter, sleep, overruns, failing jobs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from access_probe.agent.runtime import CycleScheduler, Plan

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def drive(sched: CycleScheduler, clock: Clock, *, until: datetime,
          step: timedelta = timedelta(minutes=1)) -> None:
    while clock.now < until:
        sched.run_pending()
        clock.advance(step)


def test_runs_stay_on_their_slots_despite_long_runs() -> None:
    clock = Clock()
    runs: list[datetime] = []
    plan = Plan(every=HOUR, jitter=timedelta(minutes=10))

    def job() -> None:
        runs.append(clock.now)
        clock.advance(timedelta(minutes=7))  # each run takes a while: `schedule` would drift

    sched = CycleScheduler(clock)
    sched.plan(plan, job, rng=random.Random(1))
    drive(sched, clock, until=T0 + 48 * HOUR)
    assert len(runs) == 48
    for k, run in enumerate(runs):
        offset = run - (T0 + k * HOUR)
        assert timedelta(0) <= offset <= timedelta(minutes=11), (k, offset)


def test_jitter_spreads_agents_started_together() -> None:
    plan = Plan(every=HOUR, jitter=timedelta(minutes=10))
    firsts = {plan.first(T0, random.Random(seed))[1] for seed in range(50)}
    assert len(firsts) == 50
    # The first look comes within a minute (the officer is waiting), still spread out...
    assert all(T0 <= f <= T0 + timedelta(minutes=1) for f in firsts)
    assert max(firsts) - min(firsts) > timedelta(seconds=30)
    # ...and the later runs take the whole jitter.
    seconds = {plan.after(T0, f, random.Random(seed))[1] for seed, f in enumerate(firsts)}
    assert all(T0 + HOUR <= s <= T0 + HOUR + timedelta(minutes=10) for s in seconds)
    assert max(seconds) - min(seconds) > timedelta(minutes=5)


def test_sleep_through_many_slots_runs_once_on_wake() -> None:
    clock = Clock()
    runs: list[datetime] = []
    sched = CycleScheduler(clock)
    sched.plan(Plan(every=HOUR, jitter=timedelta(0)), lambda: runs.append(clock.now),
               rng=random.Random(2))
    sched.run_pending()
    assert runs == [T0]
    clock.advance(10 * HOUR + timedelta(minutes=30))  # the laptop slept
    for _ in range(5):
        sched.run_pending()
    assert runs == [T0, T0 + 10 * HOUR + timedelta(minutes=30)]
    assert sched.get_next_run() == T0 + 11 * HOUR  # back on the grid, not a burst


def test_a_failing_job_is_rescheduled_not_left_due() -> None:
    clock = Clock()
    calls: list[datetime] = []

    def job() -> None:
        calls.append(clock.now)
        raise RuntimeError("probe crashed")

    sched = CycleScheduler(clock)
    sched.plan(Plan(every=HOUR, jitter=timedelta(0)), job)
    sched.run_pending()
    sched.run_pending()  # still the same instant: must not run again
    assert calls == [T0]
    assert sched.idle_seconds == pytest.approx(3600)
    drive(sched, clock, until=T0 + 3 * HOUR + timedelta(minutes=1))
    assert len(calls) == 4


def test_overrun_skips_missed_slots() -> None:
    plan = Plan(every=HOUR, jitter=timedelta(0))
    slot, at = plan.after(T0, T0 + 2 * HOUR + timedelta(minutes=5), random.Random(0))
    assert slot == at == T0 + 3 * HOUR
    slot, at = plan.after(T0, T0 + timedelta(minutes=5), random.Random(0))
    assert slot == T0 + HOUR


@pytest.mark.parametrize("every, jitter", [(timedelta(0), timedelta(0)),
                                           (HOUR, timedelta(minutes=-1))])
def test_plan_rejects_nonsense(every: timedelta, jitter: timedelta) -> None:
    with pytest.raises(ValueError):
        Plan(every=every, jitter=jitter)
