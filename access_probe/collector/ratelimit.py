"""Per-token rate limits: a token bucket per key, in this process's memory.

Each collector process keeps its own buckets, so N processes behind a load balancer allow up to
N times the configured rate; size the rate for one process, or pin tokens to processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


@dataclass(slots=True)
class RateLimiter:
    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000  # idle buckets are dropped beyond this, so memory stays bounded
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, cost: float = 1.0) -> float:
        """0.0 if `cost` units were granted, else the seconds to wait before asking again.
        A cost above the burst is charged as the burst, so it can be granted at all."""
        cost = min(cost, float(self.burst))
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys:
                    self._drop_full(now, rate)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return 0.0
            return (cost - bucket.tokens) / rate

    def _drop_full(self, now: float, rate: float) -> None:
        full = [k for k, b in self._buckets.items()
                if b.tokens + (now - b.stamp) * rate >= self.burst]
        for key in full:
            del self._buckets[key]
