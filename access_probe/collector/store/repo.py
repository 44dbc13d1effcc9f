"""Every SQL statement the collector runs, as keyword-only functions over an Engine.

Both dialects (SQLite, PostgreSQL via psycopg 3) take the same statements; where the syntax
differs (INSERT ... ON CONFLICT) SQLAlchemy's dialect-specific insert builds it. Each write is
one transaction; a function returns only after its commit.
"""

from __future__ import annotations

import operator
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

import orjson  # a collector dependency: several times faster than json on a batch
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from access_probe.collector.aggregate import AggregateQuery, AggregateRow
from access_probe.collector.settings import normalise_db_url
from access_probe.collector.store import partitions
from access_probe.collector.store.partitions import next_month
from access_probe.collector.store.records import IngestCounts, StoredResult, TokenRecord
from access_probe.collector.store.tables import (
    ANY_STATUS,
    DAY_SERVICE_KEYS,
    DERIVED,
    DIMENSIONS,
    HOUR_DIMENSIONS,
    HOUR_SERVICE_KEYS,
    RESULT_COLUMNS,
    ROLLUPS,
    counts_day,
    counts_month,
    day_service,
    day_service_orgs,
    hours_day,
    hours_month,
    hours_service,
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
        # No pre-ping: it cost a round trip on every checkout (about a tenth of a submission's
        # server time). A connection the server dropped fails its first statement instead;
        # SQLAlchemy sees the disconnect and empties the pool, the request answers 503 and
        # the next one connects afresh.
        return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)
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

def ingest(engine: Engine, *, batch: Sequence[StoredResult],
           admit: Admit | None = None) -> IngestCounts:
    """Store the results whose ids are new and count them into the rollups, in one transaction
    that has committed when this returns.

    `admit` runs in that transaction after the writes, just before the commit (the caller's
    rate limits: their charge commits with the batch, and their rows are locked only from
    there to the commit); an exception from it rolls the whole batch back and propagates.

    Set-based: on PostgreSQL the whole batch is one prepared statement over arrays (unnest),
    whose data-modifying CTEs claim the new ids in `result_ids`, insert those rows into
    `results` and upsert each rollup once with the batch's counts; on SQLite one statement
    claims the ids, executemany inserts the rows and one INSERT ... SELECT per rollup counts
    them. Rows are written in id order and rollup keys in key order, so concurrent batches
    take their locks in the same order; a deadlock the server still reports is retried.
    """
    unique: dict[uuid.UUID, StoredResult] = {}
    for result in batch:
        unique.setdefault(result.id, result)
    ordered = sorted(unique.values(), key=_by_id)
    if not ordered:
        if admit is not None:
            with engine.begin() as conn:
                admit(conn)
        return IngestCounts(accepted=0, duplicates=len(batch))
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        partitions.ensure(engine, months={r.day.replace(day=1) for r in ordered})
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            new = (_ingest_postgres(engine, ordered, admit) if postgres
                   else _ingest_sqlite(engine, ordered, admit))
            return IngestCounts(accepted=new, duplicates=len(batch) - new)
        except sa.exc.OperationalError as exc:
            if attempt == _ATTEMPTS or getattr(exc.orig, "sqlstate", None) not in _RETRY_SQLSTATES:
                raise
        except sa.exc.IntegrityError as exc:
            # 23514: no partition for a month (dropped by the retention since it was cached)
            if attempt == _ATTEMPTS or getattr(exc.orig, "sqlstate", None) != "23514":
                raise
            partitions.forget(engine)
            partitions.ensure(engine, months={r.day.replace(day=1) for r in ordered})
    raise AssertionError("unreachable")


Admit = Callable[[sa.Connection], None]


def _by_id(r: StoredResult) -> uuid.UUID:
    return r.id


_row = operator.attrgetter(*RESULT_COLUMNS)


def _pg_ingest_sql() -> str:
    types = {"id": "uuid", "measured_at": "timestamptz", "submitted_at": "timestamptz",
             "day": "date", "hour": "int2", "timings": "json", "evidence": "json"}
    fields = ", ".join(f"(e->>{n})::{types.get(c, 'text')} AS {c}"
                       for n, c in enumerate(RESULT_COLUMNS))
    cols = ", ".join(RESULT_COLUMNS)
    keyed = ", ".join([
        "day", "date_trunc('month', day)::date AS month", "hour", "org",
        *(f"coalesce({c}, '') AS {c}" for c in DIMENSIONS if c != "interception"),
        "CASE WHEN interception_issuer IS NULL THEN 'no' ELSE 'yes' END AS interception",
        *(f"coalesce({c}, '') AS {c}" for c in DERIVED)])
    upserts = []
    for n, (table, keys) in enumerate(ROLLUPS):
        k = ", ".join(keys)
        upserts.append(
            f"u{n} AS (INSERT INTO {table.name} ({k}, {', '.join(DERIVED)}, count) "
            f"SELECT {k}, {', '.join(f'max({d})' for d in DERIVED)}, count(*) FROM keyed "
            f"GROUP BY {k} ORDER BY {k} ON CONFLICT ({k}) DO UPDATE "
            f"SET count = {table.name}.count + excluded.count)")
    return (f"WITH input AS (SELECT {fields} FROM jsonb_array_elements(%s::jsonb) AS e), "
            "new AS (INSERT INTO result_ids (id, day) SELECT id, day FROM input "
            "ON CONFLICT (id) DO NOTHING RETURNING id), "
            f"ins AS (INSERT INTO results ({cols}) SELECT {cols} FROM input "
            "JOIN new USING (id) RETURNING *), "
            f"keyed AS (SELECT {keyed} FROM ins), "
            + ", ".join(upserts) + " SELECT count(*) FROM new")


_PG_INGEST = _pg_ingest_sql()


def _ingest_postgres(engine: Engine, ordered: Sequence[StoredResult], admit: Admit | None
                     ) -> int:
    """The batch travels as one JSON array parameter: PostgreSQL parses it in C, where
    psycopg would adapt 24 arrays element by element in Python. psycopg prepares the
    statement server-side after a few runs on a connection, so it is planned once."""
    # orjson writes uuids, times and dates itself (RFC 3339, which PostgreSQL's casts read)
    batch = _dumps([_row(r) for r in ordered])
    with engine.begin() as conn:
        new = int(conn.exec_driver_sql(_PG_INGEST, (batch,)).scalar_one())
        if admit is not None:
            admit(conn)
    return new


def _ingest_sqlite(engine: Engine, ordered: Sequence[StoredResult], admit: Admit | None
                   ) -> int:
    """SQLite has one writer at a time, so everything that can be done before the write lock
    is: the rows are bound to their stored form first, the claim and the inserts then run
    back to back, and the rollups are counted by SQL from the rows just written (one
    INSERT ... SELECT per rollup, generated from ROLLUPS)."""
    binds = _sqlite_binds(engine.dialect)
    rows: dict[str, tuple[Any, ...]] = {}
    for r in ordered:
        row = list(_row(r))
        for at, bind in binds:
            row[at] = bind(row[at])
        rows[r.id.hex] = tuple(row)
    claim = _dumps([[h, r.day.isoformat()] for h, r in zip(rows, ordered, strict=True)])
    with _one_writer(engine), engine.begin() as conn:
        # the first statement writes, so this transaction holds the write lock from here on
        claimed = sorted(h for (h,) in conn.exec_driver_sql(_SQLITE_CLAIM, (claim,)))
        if claimed:
            # new rows get rowids above the largest (no AUTOINCREMENT, one writer)
            before = conn.exec_driver_sql(_SQLITE_LAST_ROW).scalar_one()
            conn.exec_driver_sql(_SQLITE_INSERT, [rows[h] for h in claimed])
            for statement in _SQLITE_ROLLUPS:
                conn.exec_driver_sql(statement, (before,))
        if admit is not None:
            admit(conn)
    return len(claimed)


_SQLITE_CLAIM = ("INSERT INTO result_ids (id, day) SELECT value ->> 0, value ->> 1 "
                 "FROM json_each(?) WHERE true ON CONFLICT (id) DO NOTHING RETURNING id")
_SQLITE_INSERT = (f"INSERT INTO results ({', '.join(RESULT_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(RESULT_COLUMNS))})")
_SQLITE_LAST_ROW = "SELECT coalesce(max(rowid), 0) FROM results"


def _sqlite_binds(dialect: sa.Dialect) -> list[tuple[int, Callable[[Any], Any]]]:
    """(column index, conversion) for the columns whose stored form differs from the Python
    value: SQLAlchemy's own bind processors (the uuid as hex, times as text), except that JSON
    is written by orjson (the same JSON, several times faster than json.dumps)."""
    binds: list[tuple[int, Callable[[Any], Any]]] = []
    for at, name in enumerate(RESULT_COLUMNS):
        kind = results.c[name].type
        if isinstance(kind, sa.JSON):
            binds.append((at, _json_text))
        elif (bind := kind.dialect_impl(dialect).bind_processor(dialect)) is not None:
            binds.append((at, bind))
    return binds


def _json_text(value: object) -> str:
    return orjson.dumps(value).decode()  # None as 'null', as SQLAlchemy's JSON type stores it


def _rollup_exprs(keys: Sequence[str], *, postgres: bool) -> list[str]:
    """SQL over `results` for each rollup key: the value a rollup stores ('' for absent)."""
    month = "date_trunc('month', day)::date" if postgres else "strftime('%Y-%m-01', day)"
    value = {"day": "day", "hour": "hour", "org": "org", "month": month,
             "interception": "CASE WHEN interception_issuer IS NULL THEN 'no' ELSE 'yes' END"}
    return [value.get(k, f"coalesce({k}, '')") for k in keys]


_DERIVED_MAX = ", ".join(f"max(coalesce({d}, ''))" for d in DERIVED)


def _sqlite_rollup_sql(table: sa.Table, keys: Sequence[str]) -> str:
    """Count the rows written after rowid `?` into one rollup (the values `rebuild_rollups`
    stores). SQLite needs the WHERE before ON CONFLICT in an INSERT ... SELECT."""
    exprs = ", ".join(_rollup_exprs(keys, postgres=False))
    cols = ", ".join([*keys, *DERIVED, "count"])
    return (f"INSERT INTO {table.name} ({cols}) SELECT {exprs}, {_DERIVED_MAX}, count(*) "
            f"FROM results WHERE rowid > ? GROUP BY {exprs} ORDER BY {exprs} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET count = count + excluded.count")


_SQLITE_ROLLUPS = tuple(_sqlite_rollup_sql(table, keys) for table, keys in ROLLUPS)


class _WriterLock:
    """Queues this engine's ingests for SQLite's single write lock: a thread lock within the
    process and an advisory lock on a file beside the database across processes (`serve
    --workers N`). Without it writers meet SQLite's busy handler, which polls by sleeping
    (1, 2, 5, 10 ... ms), so the lock sat idle while waiters slept; a blocked flock() wakes
    the moment it is released. An optimisation only: SQLite's own locking still guarantees
    correctness for every other writer (limits, maintenance, other tools)."""

    def __init__(self, database: str | None) -> None:
        self._thread = threading.Lock()
        self._path = f"{database}-ingest.lock" if database and database != ":memory:" else None
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            if self._path is not None and fcntl is not None:
                if self._fd is None:  # opened once, closed when the engine is gone
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    weakref.finalize(self, os.close, self._fd)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:  # a read-only folder: SQLite's busy handler alone, as before
            self._path = None
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._fd is not None and self._path is not None and fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()


_writers: weakref.WeakKeyDictionary[Engine, _WriterLock] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def _one_writer(engine: Engine) -> _WriterLock:
    with _writers_lock:
        writer = _writers.get(engine)
        if writer is None:
            writer = _writers[engine] = _WriterLock(engine.url.database)
        return writer


def _dumps(value: object) -> str:
    """JSON text of a batch (orjson: several times faster than json on a batch)."""
    return str(orjson.dumps(value).decode())
# encoder per call, which costs more than encoding a small value


def count_results(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(results)).scalar_one())


def rollup_totals(engine: Engine) -> tuple[int, ...]:
    """The results counted in each rollup: each equals count_results."""
    with engine.connect() as conn:
        return tuple(int(conn.execute(sa.select(sa.func.sum(t.c.count))).scalar_one() or 0)
                     for t, _keys in ROLLUPS)


# --- aggregate --------------------------------------------------------------------------

def aggregate(engine: Engine, *, query: AggregateQuery,
              source: Source = "rollup") -> list[AggregateRow]:
    """Counts grouped by the query's keys, with the distinct organisations behind each.
    `source="results"` runs the same question over the raw table (the baseline the benchmark
    compares the rollups with, and the answer for hour questions the hour rollups cannot give).

    The rows are read from the smallest rollup that holds every key the query names: the
    monthly table for whole months inside the period (or everything, without a period), the
    daily table for the days at its edges or when the query names the day. Distinct
    organisations are counted in two hash aggregations (by key and organisation, then by key)
    rather than with COUNT(DISTINCT), which sorts. On PostgreSQL a question by day and
    service (and status) reads day_service instead, whose distinct organisations are kept
    already (see _day_service_status)."""
    keys = query.group_by
    if source == "rollup" and engine.dialect.name == "postgresql":
        status = _day_service_status(query)
        if status is not None:
            return _aggregate_day_service(engine, query, status)
    parts = _sources(query) if source == "rollup" else [(results, None, None)]
    selects = []
    for table, since, until in parts:
        cols = [_column(table, k).label(k) for k in keys]
        count = sa.func.count() if table is results else sa.func.sum(table.c.count)
        selects.append(sa.select(*cols, table.c.org.label("by_org"), count.label("n"))
                       .where(*_where(table, query, since=since, until=until))
                       .group_by(*cols, table.c.org))
    by_org = selects[0].subquery("by_org")
    if len(selects) > 1:  # the same (key, organisation) can come from several parts
        union = sa.union_all(*selects).subquery("parts")
        by_org = (sa.select(*(union.c[k] for k in keys), union.c.by_org,
                            sa.func.sum(union.c.n).label("n"))
                  .group_by(*(union.c[k] for k in keys), union.c.by_org)).subquery("by_org")
    key_cols = [by_org.c[k] for k in keys]
    stmt = sa.select(*key_cols, sa.func.sum(by_org.c.n).label("n"),
                     sa.func.count().label("orgs"))
    if keys:
        stmt = stmt.group_by(*key_cols).order_by(sa.desc("n"), *key_cols)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # the hash aggregates stay in memory (the 4 MB default spills them to disk)
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'")
        rows = conn.execute(stmt).all()
    return _aggregate_rows(keys, rows)


def _aggregate_rows(keys: Sequence[str], rows: Sequence[Any]) -> list[AggregateRow]:
    """(keys..., count, orgs) rows as AggregateRows, leaving out those counting nothing."""
    return [AggregateRow(keys=tuple(_value(k, v) for k, v in zip(keys, row[:-2], strict=True)),
                         count=int(row[-2]), orgs=int(row[-1]))
            for row in rows if row[-2]]


def _day_service_status(query: AggregateQuery) -> str | None:
    """Which statuses of day_service answer the query exactly (PostgreSQL): "by status" when
    it groups by status, ANY_STATUS or the one status it filters on when it does not; None
    when day_service cannot answer it. Only questions grouped by day and service qualify:
    its `orgs` add up over shards, not over days or services, where one organisation can
    appear several times; nor over statuses, hence the rows for any status."""
    keys = set(query.group_by)
    filtered = dict(query.filters)
    if not ({"day", "service"} <= keys <= set(DAY_SERVICE_KEYS)
            and set(filtered) <= set(DAY_SERVICE_KEYS)):
        return None
    if "status" in keys:
        return "by status"
    statuses = filtered.get("status")
    if statuses is None:
        return ANY_STATUS
    if len(set(statuses)) == 1 and statuses[0] not in (None, ANY_STATUS):
        return str(statuses[0])
    return None  # several statuses: their organisations overlap


def _aggregate_day_service(engine: Engine, query: AggregateQuery,
                           status: str) -> list[AggregateRow]:
    """A day x service(x status) question from day_service: the sums of its shards, over the
    statuses `_day_service_status` chose."""
    table = day_service
    clauses = _where(table, query, since=query.since, until=query.until)
    clauses.append(table.c.status != ANY_STATUS if status == "by status"
                   else table.c.status == status)
    key_cols = [table.c[k] for k in query.group_by]
    stmt = (sa.select(*key_cols, sa.func.sum(table.c.count).label("n"),
                      sa.func.sum(table.c.orgs).label("orgs"))
            .where(*clauses).group_by(*key_cols).order_by(sa.desc("n"), *key_cols))
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return _aggregate_rows(query.group_by, rows)


def _value(key: str, value: Any) -> Any:
    if value == "":
        return None
    if key == "day" and isinstance(value, str):  # a union's date comes back as text on SQLite
        return date.fromisoformat(value)
    return value


AGGREGATE_WORK_MEM = "64MB"
_HOURS_COVER = {"hour", "day", "org", *HOUR_DIMENSIONS, *DERIVED}
_HOUR_SERVICE_COVER = {*HOUR_SERVICE_KEYS, *DERIVED} - {"month"}


def whole_months(since: date | None, until: date | None) -> bool:
    """Whether a period is made of whole calendar months (an open end counts as whole: the
    data ends today)."""
    return ((since is None or since.day == 1)
            and (until is None or (until + timedelta(days=1)).day == 1))


def _sources(query: AggregateQuery) -> list[tuple[sa.Table, date | None, date | None]]:
    """(table, since, until) parts whose union answers the query exactly."""
    named = set(query.group_by) | {k for k, _ in query.filters}
    if "hour" in named:
        if not named <= _HOURS_COVER:
            if named <= _HOUR_SERVICE_COVER and whole_months(query.since, query.until):
                return [(hours_service, query.since, query.until)]
            return [(results, query.since, query.until)]
        daily, monthly = hours_day, hours_month
    else:
        daily, monthly = counts_day, counts_month
    if "day" in named:
        return [(daily, query.since, query.until)]
    return _split(daily, monthly, query.since, query.until)


def _split(daily: sa.Table, monthly: sa.Table, since: date | None, until: date | None
           ) -> list[tuple[sa.Table, date | None, date | None]]:
    """Whole months from the monthly table, the partial months at either end from the daily."""
    first = since if since is None or since.day == 1 else next_month(since.replace(day=1))
    end = None  # the first day after the last whole month; None: open-ended
    if until is not None:
        after = next_month(until.replace(day=1))
        end = after if until == after - timedelta(days=1) else until.replace(day=1)
    if first is not None and end is not None and first >= end:
        return [(daily, since, until)]
    parts: list[tuple[sa.Table, date | None, date | None]] = [
        (monthly, first, None if end is None else end - timedelta(days=1))]
    if since is not None and first is not None and since < first:
        parts.append((daily, since, first - timedelta(days=1)))
    if until is not None and end is not None and end <= until:
        parts.append((daily, end, until))
    return parts


def raw_results(engine: Engine, *, query: AggregateQuery,
                batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Stored results matching the query's filters, streamed in batches (a server-side cursor
    on PostgreSQL), in the order of the (measured_at, id) index so the first row comes at once.
    The period bounds go on measured_at too, so PostgreSQL reads only those months'
    partitions."""
    stmt = sa.select(*(results.c[c] for c in RAW_COLUMNS)).where(*_where(results, query))
    stmt = stmt.order_by(results.c.measured_at, results.c.id)
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # The plan is an ordered Append of the partitions' (measured_at, id) index scans,
            # which starts at once; but its total cost over millions of rows crosses
            # jit_above_cost, and compiling it took seconds before the first row at 10M.
            conn.exec_driver_sql("SET LOCAL jit = off")
        for row in conn.execution_options(yield_per=batch).execute(stmt).mappings():
            yield dict(row)


_MAX_LISTED = 62


def _periods(since: date | None, until: date | None, *, monthly: bool) -> list[date] | None:
    """The days (or first days of months) from since to until inclusive, when both are given
    and there are at most _MAX_LISTED of them."""
    if since is None or until is None or since > until:
        return None
    found: list[date] = []
    at = since.replace(day=1) if monthly else since
    while at <= until:
        if len(found) == _MAX_LISTED:
            return None
        if at >= since:
            found.append(at)
        at = next_month(at) if monthly else at + timedelta(days=1)
    return found


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _column(table: sa.Table, key: str) -> sa.ColumnElement[Any]:
    if table is results:
        if key == "interception":
            return sa.case((results.c.interception_issuer.is_(None), "no"), else_="yes")
        if key in ("day", "hour"):
            return results.c[key]
        return sa.func.coalesce(results.c[key], "")  # the rollup's '' for absent
    return table.c[key]


def _where(table: sa.Table, query: AggregateQuery, *, since: date | None = None,
           until: date | None = None) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = [
        _column(table, key).in_([v if v is not None else "" for v in values])
        for key, values in query.filters]
    since = since if table is not results else query.since
    until = until if table is not results else query.until
    period = table.c.month if "month" in table.c else table.c.day
    listed = _periods(since, until, monthly="month" in table.c) if table is not results else None
    if listed is not None:
        # Every day (month) of a closed period, listed: a rollup's key starts (period, org), so
        # with an organisation filter PostgreSQL descends once per listed period straight to
        # that organisation's rows, where a range reads every organisation's rows in it (a
        # council's report: 3 ms instead of 80 at ten million results). Same rows either way.
        clauses.append(period.in_(listed))
    else:
        if since:
            clauses.append(period >= since)
        if until:
            clauses.append(period <= until)
    if table is results:  # the same bounds on the partition key: only those months are read
        if since:
            clauses.append(results.c.measured_at >= _midnight(since))
        if until:
            clauses.append(results.c.measured_at < _midnight(until + timedelta(days=1)))
    return clauses


# --- maintenance ------------------------------------------------------------------------

def rebuild_rollups(engine: Engine, *, since: date | None = None) -> None:
    """Recount every rollup from the stored results (from `since` on, when given): after a
    bulk load that bypassed the ingest, or to check the rollups. One transaction."""
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if postgres:
            # counts_day's insert trigger fills these again from the rows recounted below
            for table in (day_service, day_service_orgs):
                conn.execute(table.delete().where(table.c.day >= since) if since is not None
                             else table.delete())
        for table, keys in ROLLUPS:
            where, params = "", {}
            if since is not None:
                start = since.replace(day=1) if "month" in keys else since
                period = "month" if "month" in keys else "day"
                conn.execute(table.delete().where(table.c[period] >= start))
                where, params = "WHERE day >= :start", {"start": start}
            else:
                conn.execute(table.delete())
            exprs = _rollup_exprs(keys, postgres=postgres)
            conn.execute(sa.text(
                f"INSERT INTO {table.name} ({', '.join(keys)}, {', '.join(DERIVED)}, count) "
                f"SELECT {', '.join(exprs)}, {_DERIVED_MAX}, count(*) FROM results {where} "
                # in key order (day or month first), as the ingest lays rows down over time:
                # a period's rows then sit together on disk instead of across the table
                f"GROUP BY {', '.join(exprs)} ORDER BY {', '.join(exprs)}"), params)
