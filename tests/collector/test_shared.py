"""The state collector processes share through the database (`collector/shared.py`), on real
SQLite and PostgreSQL: token buckets refill and charge atomically under concurrency, full
buckets are swept, cache entries expire, and the address key is made once per database."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from access_probe.collector.shared import AddressHasher, SharedCache, SharedRateLimiter
from access_probe.collector.store import repo
from access_probe.collector.store.tables import rate_buckets
from tests.collector.conftest import wipe


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    wipe(db_url)
    engine = repo.make_engine(db_url)
    yield engine
    engine.dispose()


def test_bucket_refills_per_key(engine: Engine) -> None:
    now = [1000.0]
    limiter = SharedRateLimiter(engine, "t", per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.peek("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0.0
    now[0] += 1.0
    assert limiter.peek("a") == 0.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a", cost=50) == pytest.approx(2.0)  # charged as the burst
    now[0] -= 100  # a replica whose clock runs behind never rewinds the bucket
    assert limiter.take("a") > 0


def test_take_peeking_takes_one_and_reads_the_other(engine: Engine) -> None:
    """The submission's checks in one statement agree with `take` and `peek`, and commit or
    roll back with the caller's transaction."""
    now = [1000.0]
    limit = SharedRateLimiter(engine, "s", per_minute=60, burst=2, clock=lambda: now[0])
    throttle = SharedRateLimiter(engine, "a", per_minute=60, burst=1, clock=lambda: now[0])

    def both() -> tuple[float, float]:
        with engine.begin() as conn:
            return limit.take_peeking(conn, "t", other=throttle, other_key="c")

    assert both() == (0.0, 0.0)  # no throttle row: a full bucket
    assert throttle.take("c") == 0.0
    assert both() == (pytest.approx(1.0), 0.0)
    assert both() == (pytest.approx(1.0), pytest.approx(1.0))  # the limit's 2 units spent
    with pytest.raises(RuntimeError), engine.begin() as conn:
        now[0] += 1.0
        assert limit.take_peeking(conn, "t", other=throttle, other_key="c") == (0.0, 0.0)
        raise RuntimeError("rolled back: the unit is not spent")
    assert limit.peek("t") == 0.0 and both() == (0.0, 0.0)


def test_full_buckets_are_swept(engine: Engine) -> None:
    now = [1000.0]
    limiter = SharedRateLimiter(engine, "t", per_minute=60, burst=1, clock=lambda: now[0])
    other = SharedRateLimiter(engine, "u", per_minute=1, burst=1, clock=lambda: now[0])
    for key in "abc":
        limiter.take(key)
    other.take("a")
    now[0] += 0.5
    assert limiter.sweep() == 0
    now[0] += 1.0
    assert limiter.sweep() == 3
    with engine.connect() as conn:
        assert conn.execute(sa.select(rate_buckets.c.key)).scalars().all() == ["u:a"]


def test_concurrent_takes_never_overspend(engine: Engine) -> None:
    """16 threads (each its own connection) race for 40 units: exactly 40 are granted."""
    limiter = SharedRateLimiter(engine, "race", per_minute=1e-6, burst=40)
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            wait = limiter.take("k")
            with lock:
                granted.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(granted) == 160 and granted.count(0.0) == 40


def test_cache_expires_and_is_shared(engine: Engine) -> None:
    now = [1000.0]
    one = SharedCache(engine, 60, clock=lambda: now[0])
    two = SharedCache(engine, 60, clock=lambda: now[0])
    url = "https://example.org/\udc80\x00"  # a lone surrogate and a NUL still make a key
    one.put(url, {"url": url, "status": "accessible"})
    assert two.get(url) == {"url": url, "status": "accessible"}
    assert two.get_many([url, "https://other.example/"]) == {url: one.get(url)}
    now[0] += 61
    assert two.get(url) is None
    assert SharedCache(engine, 0).get(url) is None


def test_address_key_is_made_once_per_database(engine: Engine) -> None:
    one, two = AddressHasher(engine), AddressHasher(engine)
    assert one("192.0.2.1") == two("192.0.2.1") != one("192.0.2.2")
    assert "192.0.2.1" not in one("192.0.2.1") and len(one("::1")) == 32
