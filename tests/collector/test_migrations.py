"""The Alembic migrations build exactly the schema `tables.py` describes, on both databases,
and 0002 fills the daily rollup from the hourly one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from access_probe.collector.store import migrate, repo
from access_probe.collector.store.tables import metadata, result_counts, result_counts_daily
from tests.collector.conftest import postgres_database


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
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_daily_rollup_is_backfilled(empty_db: str) -> None:
    engine = repo.make_engine(empty_db)
    migrate.upgrade(engine, "0001")
    key = {"org": "E07000223", "network": "lan", "service": "facebook", "category": "social",
           "status": "blocked", "layer": "http", "method": "http-blockpage", "vendor": "squid",
           "council_type": "x", "nation": "England", "region": "South East"}
    with engine.begin() as conn:
        conn.execute(sa.insert(result_counts), [
            {**key, "day": date(2026, 11, 2), "hour": h, "count": h + 1} for h in range(3)])
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(result_counts_daily)).mappings().all()
    engine.dispose()
    assert [dict(r) for r in rows] == [{**key, "day": date(2026, 11, 2), "count": 6}]
