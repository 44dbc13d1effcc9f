"""The Alembic migrations build exactly the schema `tables.py` describes, on both databases;
0002 fills the daily rollup from the hourly one; 0003 upgrades a database holding results
(the previous head, 0002) to the partitioned store with rebuilt rollups."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from access_probe.collector.aggregate import AggregateQuery
from access_probe.collector.store import migrate, repo
from access_probe.collector.store.records import StoredResult
from access_probe.collector.store.tables import (
    RESULT_COLUMNS,
    include_name,
    metadata,
    postgres_metadata,
    results,
)
from tests.collector.conftest import ORGS, postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    with postgres_database() as url:
        yield url


def test_migrations_match_the_table_definitions(empty_db: str) -> None:
    engine = repo.make_engine(empty_db)
    assert migrate.current(engine) is None and not migrate.is_current(engine)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # idempotent
    # the day x service rollup exists on PostgreSQL only
    described = [metadata, postgres_metadata] if empty_db.startswith("postgresql") else metadata
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(
            conn, opts={"include_name": include_name}), described)  # type: ignore[arg-type]
    engine.dispose()
    assert diff == []


def test_daily_rollup_is_backfilled(empty_db: str) -> None:
    engine = repo.make_engine(empty_db)
    migrate.upgrade(engine, "0001")
    key = {"org": "E07000223", "network": "lan", "service": "facebook", "category": "social",
           "status": "blocked", "layer": "http", "method": "http-blockpage", "vendor": "squid",
           "council_type": "x", "nation": "England", "region": "South East"}
    hourly = sa.table("result_counts", *(sa.column(c) for c in (*key, "hour", "count")),
                      sa.column("day", sa.Date))
    daily = sa.table("result_counts_daily", *(sa.column(c) for c in (*key, "count")),
                     sa.column("day", sa.Date))
    with engine.begin() as conn:
        conn.execute(sa.insert(hourly), [
            {**key, "day": date(2026, 11, 2), "hour": h, "count": h + 1} for h in range(3)])
    migrate.upgrade(engine, "0002")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(daily)).mappings().all()
    engine.dispose()
    assert [dict(r) for r in rows] == [{**key, "day": date(2026, 11, 2), "count": 6}]


def test_upgrade_from_0002_keeps_results_and_rebuilds_the_rollups(empty_db: str) -> None:
    """A database at the previous head with results in it: after `migrate` every result is
    still there (agent, evidence and all), counted once in every new rollup, its id still
    refused as a duplicate, and the aggregate answers from the new rollups as from the raw
    results."""
    engine = repo.make_engine(empty_db)
    migrate.upgrade(engine, "0002")
    rows = []
    for n in range(40):
        measured = datetime(2026, 9 + n % 3, 1 + n % 28, n % 24, tzinfo=UTC)
        rows.append({
            "id": uuid.uuid4(), "org": ORGS[n % 3], "council_type": "x", "nation": "England",
            "region": None, "network": "lan", "service": f"s{n % 4}", "category": "social",
            "target": "t", "url": "https://t.test/", "status": "blocked" if n % 2 else
            "accessible", "layer": "http" if n % 2 else None,
            "method": "http-blockpage" if n % 2 else None, "vendor": "squid" if n % 2 else None,
            "blocking_category": "Social" if n % 4 == 1 else None,
            "interception_issuer": "Council CA" if n % 5 == 0 else None,
            "control_status": "accessible", "timings": {"total": 1.0}, "evidence": None,
            "agent": "access-probe/0.1.0", "measured_at": measured, "day": measured.date(),
            "hour": measured.hour, "submitted_at": measured})
    typed = sa.table("results", *(sa.column(c, results.c[c].type) for c in RESULT_COLUMNS))
    with engine.begin() as conn:
        conn.execute(sa.insert(typed), rows)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    assert repo.count_results(engine) == 40
    assert repo.rollup_totals(engine) == (40, 40, 40, 40, 40)
    with engine.connect() as conn:
        agents = conn.execute(sa.select(results.c.agent).distinct()).scalars().all()
    assert agents == ["access-probe/0.1.0"]
    stored = [StoredResult(**{**r, "submitted_at": r["measured_at"]}) for r in rows[:5]]
    assert repo.ingest(engine, batch=stored).accepted == 0
    for keys in (("service", "status"), ("interception",), ("blocking_category", "vendor"),
                 ("hour", "status"), ("day",), ()):
        for since, until in ((None, None), (date(2026, 9, 15), date(2026, 11, 3))):
            query = AggregateQuery(group_by=keys, since=since, until=until)
            assert (repo.aggregate(engine, query=query)
                    == repo.aggregate(engine, query=query, source="results")), (keys, since)
    engine.dispose()


@pytest.mark.postgres
def test_0006_backfills_day_service_and_downgrades_cleanly() -> None:
    """Results stored at 0005 are in day_service after the upgrade; the downgrade removes the
    tables and triggers (the ingest still works without them); upgrading again refills it."""
    from alembic import command

    from tests.collector.test_store import _day_service_batch, _day_service_matches

    with postgres_database() as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine, "0005")
        batch = _day_service_batch(300, datetime(2026, 1, 30, tzinfo=UTC))
        repo.ingest(engine, batch=batch[:200])
        migrate.upgrade(engine)
        _day_service_matches(engine)
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn), "0005")
        with engine.connect() as conn:
            left = conn.execute(sa.text(
                "SELECT count(*) FROM pg_class WHERE relname LIKE 'day_service%' UNION ALL "
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'day_service%'")).scalars()
            assert list(left) == [0, 0]
        assert repo.ingest(engine, batch=batch[100:]).accepted == 100
        migrate.upgrade(engine)
        _day_service_matches(engine)
        engine.dispose()
