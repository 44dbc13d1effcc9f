"""State every collector process shares through the database: rate-limit buckets, the control
answer cache, and the key that hashes client addresses for the authentication throttle.

N collector processes (`serve --workers N`) or machines behind a load balancer, on one database,
behave as one collector: a limit is one limit, a control answer measured by one is served from
cache by all. The same SQL runs on PostgreSQL and SQLite (3.35+ for UPSERT ... RETURNING), so
several processes on one SQLite file share their state too.

Each bucket is one row changed by one atomic `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`:
the server refills and charges it under the row's lock, so concurrent takes from any process
can never both spend the same token. Time is the callers' wall clock (seconds since the epoch):
replicas on different machines need synchronised clocks (NTP); a skew of s seconds can hand out
at most s x rate extra units, and a clock that runs behind never rewinds a bucket.

Rows are transient: a bucket is deleted once it is full again (a full bucket is the same as no
row), a cache entry once it has expired; each process sweeps at most once a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from access_probe.collector.store.tables import collector_keys, control_cache, rate_buckets

log = logging.getLogger(__name__)

Clock = Callable[[], float]
SWEEP_SECONDS = 60.0

# E: seconds since the last refill, never negative; L: the refilled level, at most the burst.
_E = "(CASE WHEN :now > rate_buckets.stamp THEN :now - rate_buckets.stamp ELSE 0.0 END)"
_RAW = f"(rate_buckets.tokens + {_E} * :rate)"
_L = f"(CASE WHEN {_RAW} >= :burst THEN :burst ELSE {_RAW} END)"
_TAKE_SQL = f"""
INSERT INTO rate_buckets (key, tokens, stamp, granted)
VALUES (:key, :burst - :cost, :now, :yes)
ON CONFLICT (key) DO UPDATE SET
  tokens = CASE WHEN {_L} >= :cost THEN {_L} - :cost ELSE {_L} END,
  granted = CASE WHEN {_L} >= :cost THEN :yes ELSE :no END,
  stamp = CASE WHEN :now > rate_buckets.stamp THEN :now ELSE rate_buckets.stamp END
RETURNING tokens, granted
"""
_TAKE = sa.text(_TAKE_SQL).bindparams(sa.bindparam("yes", True, type_=sa.Boolean),
                sa.bindparam("no", False, type_=sa.Boolean),
                sa.bindparam("now", type_=sa.Float), sa.bindparam("rate", type_=sa.Float),
                sa.bindparam("burst", type_=sa.Float), sa.bindparam("cost", type_=sa.Float))

# The submission's two checks in one statement: take a unit from the token's bucket and read
# the client's throttle bucket. Driver SQL (`exec_driver_sql`): compiling the two SQLAlchemy
# statements cost more Python time than the database spent running them.
_PEEK_SQL = "SELECT tokens, stamp FROM rate_buckets WHERE key = :peek_key"
_TAKE_AND_PEEK_PG = re.sub(r":(\w+)", r"%(\1)s", (
    f"WITH take AS ({_TAKE_SQL}) SELECT take.tokens, take.granted, peek.tokens, peek.stamp "
    "FROM take LEFT JOIN rate_buckets AS peek ON peek.key = :peek_key"))


class _Sweeper:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def due(self) -> bool:
        now = self.clock()
        with self._lock:
            if now < self._next:
                return False
            self._next = now + SWEEP_SECONDS
            return True


class SharedRateLimiter:
    """A token bucket per key in the `rate_buckets` table: `burst` units, refilled at
    `per_minute`. `name` prefixes the keys so several limits share the table."""

    def __init__(self, engine: Engine, name: str, *, per_minute: float, burst: int,
                 clock: Clock = time.time) -> None:
        self.engine = engine
        self.name = name
        self.per_minute = per_minute
        self.burst = burst
        self.clock = clock
        self._sweeper = _Sweeper(clock)

    def take(self, key: str, cost: float = 1.0) -> float:
        """0.0 if `cost` units were granted, else the seconds to wait before asking again.
        A cost above the burst is charged as the burst, so it can be granted at all."""
        with self.engine.begin() as conn:
            wait = self.take_in(conn, key, cost)
        self.sweep_when_due()
        return wait

    def take_in(self, conn: sa.Connection, key: str, cost: float = 1.0) -> float:
        """`take` inside the caller's transaction: the charge commits or rolls back with it.
        The bucket's row stays locked until then, so take it last, just before the commit
        (then a transaction holding it waits for nothing else, and none can deadlock on it);
        call `sweep_when_due` after the commit."""
        cost = min(float(cost), float(self.burst))
        rate = self.per_minute / 60.0
        tokens, granted = conn.execute(_TAKE, {
            "key": self._key(key), "now": self.clock(), "rate": rate,
            "burst": float(self.burst), "cost": cost}).one()
        return self._take_wait(tokens, granted, cost)

    def take_peeking(self, conn: sa.Connection, key: str, *, other: SharedRateLimiter,
                     other_key: str) -> tuple[float, float]:
        """(`other.peek_in(other_key)`, `take_in(key)`) in one round trip. The unit is taken
        whatever the other bucket holds: a caller refusing on the peek rolls back."""
        rate = self.per_minute / 60.0
        now = self.clock()
        params = {"key": self._key(key), "now": now, "rate": rate, "burst": float(self.burst),
                  "cost": 1.0, "yes": True, "no": False, "peek_key": other._key(other_key)}
        if conn.dialect.name == "postgresql":
            tokens, granted, other_tokens, other_stamp = conn.exec_driver_sql(
                _TAKE_AND_PEEK_PG, params).one()
        else:  # no INSERT inside WITH on SQLite; in-process, so two statements cost little
            tokens, granted = conn.exec_driver_sql(_TAKE_SQL, params).one()
            other_tokens, other_stamp = conn.exec_driver_sql(_PEEK_SQL, params).first() or (
                None, None)
        return other._wait(other_tokens, other_stamp, 1.0), self._take_wait(tokens, granted, 1.0)

    def _take_wait(self, tokens: float, granted: bool, cost: float) -> float:
        """A take's answer: 0.0 when granted, else the seconds until `cost` units are there."""
        return 0.0 if granted else max((cost - float(tokens)) / (self.per_minute / 60.0), 0.001)

    def _wait(self, tokens: float | None, stamp: float | None, cost: float) -> float:
        """The wait for `cost` units of a bucket read as (tokens, stamp); no row is full."""
        if tokens is None or stamp is None:
            return 0.0
        rate = self.per_minute / 60.0
        level = min(float(self.burst), tokens + max(self.clock() - stamp, 0.0) * rate)
        return 0.0 if level >= cost else (cost - level) / rate

    def peek(self, key: str, cost: float = 1.0) -> float:
        """Like `take` but charges nothing: 0.0 if `cost` units are there now."""
        with self.engine.connect() as conn:
            return self.peek_in(conn, key, cost)

    def peek_in(self, conn: sa.Connection, key: str, cost: float = 1.0) -> float:
        cost = min(float(cost), float(self.burst))
        row = conn.execute(sa.select(rate_buckets.c.tokens, rate_buckets.c.stamp).where(
            rate_buckets.c.key == self._key(key))).first()
        return self._wait(*row, cost) if row is not None else 0.0

    def _key(self, key: str) -> str:
        return f"{self.name}:{key}"[:80]

    def sweep_when_due(self) -> None:
        if self._sweeper.due():
            self.sweep()

    def sweep(self) -> int:
        """Delete this limit's buckets that are full again; the number deleted."""
        rate = self.per_minute / 60.0
        t = rate_buckets.c
        full = (t.tokens + (sa.literal(self.clock(), sa.Float) - t.stamp) * rate
                >= float(self.burst))
        with self.engine.begin() as conn:
            done = conn.execute(rate_buckets.delete().where(
                t.key.startswith(f"{self.name}:", autoescape=True), full))
        return int(done.rowcount or 0)


class SharedCache:
    """Control answers by URL for `seconds`, in the `control_cache` table (key: SHA-256 of
    the URL, so any URL fits)."""

    def __init__(self, engine: Engine, seconds: float, *, clock: Clock = time.time) -> None:
        self.engine = engine
        self.seconds = seconds
        self.clock = clock
        self._sweeper = _Sweeper(clock)

    @staticmethod
    def key(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()

    def get_many(self, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
        if self.seconds <= 0 or not urls:
            return {}
        keys = {self.key(u): u for u in urls}
        t = control_cache.c
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.key, t.answer).where(
                t.key.in_(list(keys)), t.expires > self.clock())).all()
        return {keys[k]: json.loads(answer) for k, answer in rows}

    def get(self, url: str) -> dict[str, Any] | None:
        return self.get_many([url]).get(url)

    def put(self, url: str, answer: dict[str, Any]) -> None:
        """Best effort: a database that fails here costs a later re-measurement, not the
        answer already measured."""
        if self.seconds <= 0:
            return
        values = {"key": self.key(url), "expires": self.clock() + self.seconds,
                  "answer": json.dumps(answer)}
        try:
            with self.engine.begin() as conn:
                stmt = _upsert(conn, control_cache, values, ["key"], ["expires", "answer"])
                conn.execute(stmt)
            if self._sweeper.due():
                with self.engine.begin() as conn:
                    conn.execute(control_cache.delete().where(
                        control_cache.c.expires <= self.clock()))
        except sa.exc.SQLAlchemyError as exc:
            log.warning("control cache not written: %s", type(exc).__name__)


def _upsert(conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: list[str],
            update: list[str]) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=keys,
                                      set_={c: stmt.excluded[c] for c in update})


class AddressHasher:
    """Keyed hashes of client addresses: the authentication throttle's key, never the address.
    The key is made once per database (`collector_keys`) so every replica hashes alike, and it
    never leaves the database; without it a hash cannot be tested against guessed addresses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self, address: str) -> str:
        return hmac.new(self._secret(), address.encode("utf-8", "surrogatepass"),
                        hashlib.sha256).hexdigest()[:32]

    def _secret(self) -> bytes:
        with self._lock:
            if self._key is None:
                with self.engine.begin() as conn:
                    stmt = _insert_ignore(conn, {"name": "address", "value": secrets.token_hex(32)})
                    conn.execute(stmt)
                    value = conn.execute(sa.select(collector_keys.c.value).where(
                        collector_keys.c.name == "address")).scalar_one()
                self._key = bytes.fromhex(value)
            return self._key


def _insert_ignore(conn: sa.Connection, values: dict[str, Any]) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(collector_keys).values(**values).on_conflict_do_nothing(index_elements=["name"])
