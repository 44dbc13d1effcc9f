"""What every probe receives: one zero time for all timings, and the bounds of a step."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Clock", "ProbeContext"]

_MIN_STEP = 0.05  # seconds; below this a step cannot even complete a loopback handshake


@dataclass(frozen=True, slots=True)
class Clock:
    """Monotonic seconds since the measurement's zero time."""

    zero: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return time.monotonic() - self.zero


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeContext:
    """Shared by every step of one measurement.

    `timeout` bounds each step; `deadline` (clock seconds, None for none) bounds the whole
    measurement, so a slow path cannot stretch it beyond what the caller allowed.
    """

    clock: Clock = field(default_factory=Clock)
    timeout: float = 8.0
    max_body: int = 262144
    user_agent: str = ""
    deadline: float | None = None
    # A test lab's own networks: DNS answers there are real, not sinkholes (loopback in tests).
    lab_networks: tuple[str, ...] = ()

    def step_timeout(self) -> float:
        """The time the next step may take: its own bound, cut by what is left overall."""
        if self.deadline is None:
            return self.timeout
        return max(_MIN_STEP, min(self.timeout, self.deadline - self.clock.now()))

    def expired(self) -> bool:
        return self.deadline is not None and self.clock.now() >= self.deadline
