"""Every SQL statement the collector runs, as keyword-only functions over an Engine.

Both dialects (SQLite, PostgreSQL via psycopg 3) take the same statements; where the syntax
differs (INSERT ... ON CONFLICT) SQLAlchemy's dialect-specific insert builds it. Each write is
one transaction; a function returns only after its commit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from access_probe.collector.aggregate import AggregateQuery, AggregateRow
from access_probe.collector.settings import normalise_db_url
from access_probe.collector.store.records import IngestCounts, StoredResult, TokenRecord
from access_probe.collector.store.tables import (
    DERIVED,
    ROLLUPS,
    result_counts,
    result_counts_daily,
    results,
    tokens,
)

Source = Literal["rollup", "results"]

_RETRY_SQLSTATES = {"40P01", "40001"}  # deadlock, serialization failure: safe to run again
_ATTEMPTS = 3
RAW_COLUMNS = ("id", "measured_at", "org", "council_type", "nation", "region", "network",
               "service", "category", "target", "url", "status", "layer", "method", "vendor",
               "blocking_category", "interception_issuer", "control_status", "agent")


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = normalise_db_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size,
                                pool_pre_ping=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets the dashboard read while an ingest writes; NORMAL sync is durable in WAL mode
    # except for the last transactions on power loss, the usual trade for an embedded store.
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True


# --- tokens -----------------------------------------------------------------------------

def insert_token(engine: Engine, *, record: TokenRecord) -> None:
    with engine.begin() as conn:
        conn.execute(tokens.insert().values(**asdict(record)))


def find_token(engine: Engine, *, token_id: str) -> TokenRecord | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).mappings().first()
    return TokenRecord(**row) if row else None


def list_tokens(engine: Engine) -> list[TokenRecord]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(tokens).order_by(tokens.c.created_at)).mappings()
        return [TokenRecord(**row) for row in rows]


def revoke_token(engine: Engine, *, token_id: str, now: datetime) -> bool:
    """True when a live token was revoked."""
    with engine.begin() as conn:
        done = conn.execute(tokens.update()
                            .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                            .values(revoked_at=now))
    return done.rowcount == 1


# --- results ----------------------------------------------------------------------------

def ingest(engine: Engine, *, batch: Sequence[StoredResult]) -> IngestCounts:
    """Store the results whose ids are new and count them into the rollup, in one transaction.

    Rows are written in id order and rollup keys in key order, so concurrent batches take
    their locks in the same order; a deadlock the server still reports is retried.
    """
    unique: dict[uuid.UUID, StoredResult] = {}
    for result in batch:
        unique.setdefault(result.id, result)
    ordered = sorted(unique.values(), key=lambda r: r.id)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with engine.begin() as conn:
                new = _insert_new(conn, ordered)
                _count(conn, [r for r in ordered if r.id in new])
            return IngestCounts(accepted=len(new), duplicates=len(batch) - len(new))
        except sa.exc.OperationalError as exc:
            if attempt == _ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                raise
    raise AssertionError("unreachable")


def _insert(conn: Connection, table: sa.Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _insert_new(conn: Connection, ordered: Sequence[StoredResult]) -> set[uuid.UUID]:
    if not ordered:
        return set()
    stmt = _insert(conn, results).on_conflict_do_nothing(index_elements=["id"])
    rows = conn.execute(stmt.returning(results.c.id), [asdict(r) for r in ordered])
    return {row.id for row in rows}


def _count(conn: Connection, new: Sequence[StoredResult]) -> None:
    if not new:
        return
    derived = {r.org: {d: getattr(r, d) or "" for d in DERIVED} for r in new}
    for table, keys in ROLLUPS:
        counts = Counter(tuple(_key_value(r, k) for k in keys) for r in new)
        org_at = keys.index("org")
        params = [dict(zip(keys, key, strict=True)) | derived[key[org_at]] | {"count": n}
                  for key, n in sorted(counts.items())]
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={"count": table.c.count + stmt.excluded.count})
        conn.execute(stmt, params)


def _key_value(r: StoredResult, key: str) -> Any:
    value = getattr(r, key)
    return value if key in ("day", "hour") else value or ""


def count_results(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(results)).scalar_one())


def rollup_totals(engine: Engine) -> tuple[int, ...]:
    """The results counted in each rollup (hourly, daily): both equal count_results."""
    with engine.connect() as conn:
        return tuple(int(conn.execute(sa.select(sa.func.sum(t.c.count))).scalar_one() or 0)
                     for t, _keys in ROLLUPS)


# --- aggregate --------------------------------------------------------------------------

def aggregate(engine: Engine, *, query: AggregateQuery,
              source: Source = "rollup") -> list[AggregateRow]:
    """Counts grouped by the query's keys. `source="results"` runs the same question over the
    raw table (the baseline the benchmark compares the rollup with)."""
    table = _rollup_for(query) if source == "rollup" else results
    keys = [_column(table, k).label(k) for k in query.group_by]
    count = sa.func.sum(table.c.count) if table is not results else sa.func.count()
    stmt = (sa.select(*keys, count.label("n"), sa.func.count(sa.distinct(table.c.org)))
            .where(*_where(table, query)))
    if keys:
        stmt = stmt.group_by(*keys).order_by(sa.desc("n"), *keys)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [AggregateRow(keys=tuple(v if v != "" else None for v in row[:-2]),
                         count=int(row[-2]), orgs=int(row[-1]))
            for row in rows if row[-2]]


def _rollup_for(query: AggregateQuery) -> sa.Table:
    by_hour = "hour" in query.group_by or any(k == "hour" for k, _ in query.filters)
    return result_counts if by_hour else result_counts_daily


def raw_results(engine: Engine, *, query: AggregateQuery,
                batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Stored results matching the query's filters, streamed in batches."""
    stmt = (sa.select(*(results.c[c] for c in RAW_COLUMNS))
            .where(*_where(results, query)).order_by(results.c.measured_at, results.c.id))
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=batch).execute(stmt).mappings():
            yield dict(row)


def _column(table: sa.Table, key: str) -> sa.ColumnElement[Any]:
    column = table.c[key]
    if table is results and key not in ("day", "hour"):
        return sa.func.coalesce(column, "")  # the rollup's '' for absent
    return column


def _where(table: sa.Table, query: AggregateQuery) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = [
        _column(table, key).in_([v if v is not None else "" for v in values])
        for key, values in query.filters]
    if query.since:
        clauses.append(table.c.day >= query.since)
    if query.until:
        clauses.append(table.c.day <= query.until)
    return clauses
