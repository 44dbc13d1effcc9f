"""Monthly partitions of `results` on PostgreSQL, and the retention on both engines.

A partition `results_pYYYYMM` holds the results measured in that month (UTC). The ingest makes
the partitions a batch needs before its insert (`ensure`, remembered per engine so a batch of a
known month costs nothing); `collector migrate` and the maintenance make the current and next
month's ahead of time. The retention drops whole partitions on PostgreSQL once every result in
them is older than the retention, and deletes old rows on SQLite (which is not partitioned).
The rollups keep their counts: they hold no result, only numbers by organisation and day.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

_known: weakref.WeakKeyDictionary[Engine, set[date]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_EXISTS = {"42P07", "23505"}  # duplicate table; a concurrent CREATE of the same partition


def name(month: date) -> str:
    return f"results_p{month.year:04d}{month.month:02d}"


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def ensure(engine: Engine, *, months: Iterable[date]) -> None:
    """Create the partitions for these months (first days) that do not exist yet."""
    if engine.dialect.name != "postgresql":
        return
    with _lock:
        known = _known.setdefault(engine, set())
        missing = sorted(set(months) - known)
    if not missing:
        return
    with engine.connect() as conn:
        existing = set(existing_months(conn))
    for month in missing:
        if month not in existing:
            _create(engine, month)
    with _lock:
        _known.setdefault(engine, set()).update(missing)


def forget(engine: Engine) -> None:
    with _lock:
        _known.pop(engine, None)


def existing_months(conn: Connection) -> list[date]:
    rows = conn.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'results'")).scalars()
    return sorted(date(int(n[9:13]), int(n[13:15]), 1) for n in rows
                  if n.startswith("results_p") and len(n) == 15 and n[9:].isdigit())


def _create(engine: Engine, month: date) -> None:
    ddl = (f"CREATE TABLE IF NOT EXISTS {name(month)} PARTITION OF results FOR VALUES "
           f"FROM ('{month.isoformat()} 00:00:00+00') TO ('{next_month(month).isoformat()} "
           "00:00:00+00')")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(sa.text(ddl))
    except sa.exc.DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _EXISTS:
            raise


def create_ahead(engine: Engine, *, now: datetime) -> None:
    """This month's partition and the next month's, so the ingest rarely makes one."""
    this = now.astimezone(UTC).date().replace(day=1)
    ensure(engine, months=(this, next_month(this)))


def retain(engine: Engine, *, days: int, now: datetime) -> int:
    """Forget results measured more than `days` days ago: whole partitions on PostgreSQL
    (those wholly older than the cutoff), rows on SQLite. Returns the partitions dropped
    (PostgreSQL) or rows deleted (SQLite). `days` 0 keeps everything."""
    if days <= 0:
        return 0
    cutoff = now.astimezone(UTC) - timedelta(days=days)
    from access_probe.collector.store.tables import result_ids, results

    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            gone = conn.execute(results.delete().where(results.c.measured_at < cutoff)).rowcount
            conn.execute(result_ids.delete().where(result_ids.c.day < cutoff.date()))
        return int(gone)
    dropped = 0
    with engine.connect() as conn:
        months = existing_months(conn)
    for month in months:
        if datetime(next_month(month).year, next_month(month).month, 1, tzinfo=UTC) <= cutoff:
            with engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {name(month)}"))
                conn.execute(result_ids.delete().where(
                    result_ids.c.day < next_month(month)))
            dropped += 1
    forget(engine)
    return dropped
