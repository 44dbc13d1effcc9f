"""The store at scale: idempotent ingest counted once in every rollup, the new aggregate keys,
the agent's version, CSV names next to codes, monthly partitions and the retention, and the
rollup choice for a period (monthly rows for whole months, daily rows at the edges)."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from access_probe.collector.aggregate import AggregateQuery
from access_probe.collector.store import migrate, partitions, repo
from access_probe.collector.store.records import StoredResult
from access_probe.collector.store.repo import _split
from access_probe.collector.store.tables import counts_day, counts_month, results
from tests.collector.conftest import ORGS, Collector, auth, document, postgres_database, result


def test_a_batch_sent_twice_is_counted_once_in_every_rollup(collector: Collector) -> None:
    token = collector.token(ORGS[0])
    doc = document(ORGS[0], [result(), result("blocked"), result("blocked", service="x")])
    assert collector.submit(token, doc).json() == {"accepted": 3, "duplicates": 0}
    assert collector.submit(token, doc).json() == {"accepted": 0, "duplicates": 3}
    engine = repo.make_engine(collector.db_url)
    assert repo.count_results(engine) == 3
    assert repo.rollup_totals(engine) == (3, 3, 3, 3, 3)
    engine.dispose()
    admin = collector.token(admin=True)
    for group_by in ("status", "hour,status", "day", "service,status"):
        rows = collector.aggregate(admin, group_by=group_by).json()["rows"]
        assert sum(r["count"] for r in rows) == 3, group_by


def test_group_by_blocking_category_and_interception(collector: Collector) -> None:
    admin = collector.token(admin=True)
    for n, org in enumerate(ORGS[:3]):
        items = [result("blocked"), result(interception={"issuer": f"Council {n} CA"})]
        assert collector.submit(collector.token(org), document(org, items)).status_code == 200
    rows = collector.aggregate(admin, group_by="blocking_category,interception").json()["rows"]
    assert sorted(rows, key=repr) == sorted([
        {"blocking_category": "Social Networking", "interception": "no", "count": 3,
         "orgs": 3},
        {"blocking_category": None, "interception": "yes", "count": 3, "orgs": 3}], key=repr)
    filtered = collector.aggregate(admin, group_by="status", interception="yes").json()
    assert filtered["rows"] == [{"status": "accessible", "count": 3, "orgs": 3}]
    # an organisation token sees the same (3 councils each), nothing suppressed
    assert collector.aggregate(collector.token(ORGS[0]),
                               group_by="interception").json()["suppressed"] == 0


def test_agent_version_and_council_names_in_the_csv(collector: Collector) -> None:
    doc = {**document(ORGS[0], [result("blocked")]), "agent": "access-probe/9.8.7"}
    assert collector.submit(collector.token(ORGS[0]), doc).status_code == 200
    admin = auth(collector.token(admin=True))
    raw = collector.http.get("/api/v1/export.csv?raw=1", headers=admin)
    (row,) = list(csv.DictReader(io.StringIO(raw.text)))
    assert row["agent"] == "access-probe/9.8.7"
    assert row["org_name"] == "Adur District Council"
    assert list(row)[2:5] == ["org", "org_name", "council_type"]
    table = collector.http.get("/api/v1/export.csv", headers=admin,
                               params={"group_by": "status,org"})
    header, line = list(csv.reader(io.StringIO(table.text)))
    assert header == ["status", "org", "org_name", "org_type", "count", "orgs"]
    assert line == ["blocked", ORGS[0], "Adur District Council", "Non-metropolitan district",
                    "1", "1"]


def _stored(measured: datetime, org: str = ORGS[0]) -> StoredResult:
    return StoredResult(
        id=uuid.uuid4(), org=org, council_type="t", nation="England", region=None,
        network="lan", service="facebook", category="social", target="facebook",
        url="https://www.facebook.com/", status="accessible", layer=None, method=None,
        vendor=None, blocking_category=None, interception_issuer=None, control_status=None,
        timings={"total": 1.0}, evidence=None, agent="access-probe/0.1.0",
        measured_at=measured, day=measured.date(), hour=measured.hour, submitted_at=measured)


@pytest.mark.postgres
def test_partitions_are_made_at_ingest_and_dropped_by_the_retention() -> None:
    now = datetime.now(UTC)
    old = [datetime(2024, 1, 10, 5, tzinfo=UTC), datetime(2024, 2, 20, 6, tzinfo=UTC)]
    with postgres_database() as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine)
        batch = [_stored(t) for t in (*old, now)]
        assert repo.ingest(engine, batch=batch).accepted == 3
        with engine.connect() as conn:
            months = partitions.existing_months(conn)
        assert {date(2024, 1, 1), date(2024, 2, 1), now.date().replace(day=1)} <= set(months)
        # 400 days: January and February 2024 end before the cutoff, this month does not
        assert partitions.retain(engine, days=400, now=now) >= 2
        with engine.connect() as conn:
            months = partitions.existing_months(conn)
            kept = conn.execute(sa.select(results.c.measured_at)).scalars().all()
        assert date(2024, 1, 1) not in months and date(2024, 2, 1) not in months
        assert len(kept) == 1
        assert set(repo.rollup_totals(engine)) == {3}  # every rollup keeps its counts
        # the ingest makes a dropped month's partition again when a late result comes
        assert repo.ingest(engine, batch=[_stored(old[0])]).accepted == 1
        assert repo.count_results(engine) == 2
        engine.dispose()


def test_retention_on_sqlite_deletes_old_rows(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/r.sqlite3"
    engine = repo.make_engine(url)
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    repo.ingest(engine, batch=[_stored(now - timedelta(days=d)) for d in (1, 50, 400)])
    assert partitions.retain(engine, days=30, now=now) == 2
    assert partitions.retain(engine, days=0, now=now) == 0
    assert repo.count_results(engine) == 1
    assert set(repo.rollup_totals(engine)) == {3}  # every rollup keeps its counts
    engine.dispose()


@pytest.mark.parametrize(("since", "until"), [
    (None, None), (date(2026, 1, 15), None), (None, date(2026, 3, 10)),
    (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 1, 15), date(2026, 1, 20)),
    (date(2026, 1, 15), date(2026, 3, 10)), (date(2026, 1, 31), date(2026, 2, 1)),
    (date(2026, 2, 1), date(2026, 2, 28)), (date(2025, 12, 31), date(2026, 3, 1))])
def test_a_period_is_split_into_whole_months_and_edge_days(since: date | None,
                                                          until: date | None) -> None:
    parts = _split(counts_day, counts_month, since, until)
    covered: list[date] = []
    lo, hi = date(2025, 11, 1), date(2026, 5, 31)
    for table, a, b in parts:
        day = a or lo
        while day <= (b or hi):
            if table is counts_month:
                assert day.day == 1 or day == (a or lo)  # whole months only
                covered += [day + timedelta(days=i) for i in range(31)
                            if (day + timedelta(days=i)).month == day.month]
                day = partitions.next_month(day)
            else:
                covered.append(day)
                day += timedelta(days=1)
    wanted = [lo + timedelta(days=i) for i in range((hi - lo).days + 1)
              if (since is None or lo + timedelta(days=i) >= since)
              and (until is None or lo + timedelta(days=i) <= until)]
    assert sorted(covered) == wanted  # every day once, nothing outside the period


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_rollups_answer_periods_as_the_raw_results_do(tmp_path: object, backend: str) -> None:
    with contextlib.ExitStack() as stack:
        url = (f"sqlite:///{tmp_path}/p.sqlite3" if backend == "sqlite"
               else stack.enter_context(postgres_database()))
        _periods_match(repo.make_engine(url))


def _periods_match(engine: sa.engine.Engine) -> None:
    migrate.upgrade(engine)
    start = datetime(2026, 1, 20, tzinfo=UTC)
    repo.ingest(engine, batch=[
        dataclasses.replace(_stored(start + timedelta(hours=7 * n), ORGS[n % 4]),
                            service=("facebook", "tiktok", "x")[n % 3],
                            network=("lan", "public-wifi")[n % 5 // 4],
                            status=("accessible", "blocked")[n % 7 // 5])
        for n in range(300)])
    for since, until in ((None, None), (date(2026, 1, 25), date(2026, 3, 3)),
                         (date(2026, 2, 1), None), (None, date(2026, 2, 28)),
                         (date(2026, 1, 1), date(2026, 2, 28))):
        for keys in (("org",), ("hour",), ("day",), ("council_type", "network"),
                     ("hour", "service", "status"), ("network", "service", "hour", "status")):
            query = AggregateQuery(group_by=keys, since=since, until=until)
            assert (repo.aggregate(engine, query=query)
                    == repo.aggregate(engine, query=query, source="results")), (keys, since)
    engine.dispose()


def test_hour_questions_by_service_read_the_monthly_hour_rollup_for_whole_months() -> None:
    """The hour rollup by service is monthly: it answers whole months (or everything), and a
    period with partial months still reads the raw results, so every answer stays exact."""
    from access_probe.collector.store.repo import _sources
    from access_probe.collector.store.tables import hours_month, hours_service

    def table(keys: tuple[str, ...], since: date | None, until: date | None,
              **filters: tuple[str, ...]) -> set[str]:
        query = AggregateQuery(group_by=keys, since=since, until=until,
                               filters=tuple(filters.items()))
        return {t.name for t, _a, _b in _sources(query)}

    by_service = ("hour", "service", "status")
    assert table(by_service, None, None) == {hours_service.name}
    assert table(by_service, date(2026, 1, 1), None, network=("lan",)) == {hours_service.name}
    assert table(by_service, date(2026, 1, 1), date(2026, 2, 28)) == {hours_service.name}
    assert table(by_service, date(2026, 1, 2), None) == {results.name}
    assert table(by_service, date(2026, 1, 1), date(2026, 2, 27)) == {results.name}
    assert table(("hour", "vendor"), None, None) == {results.name}  # not in the rollup
    assert table(("hour", "day", "service"), None, None) == {results.name}
    assert hours_month.name in table(("hour", "status"), date(2026, 1, 1), None)


def test_maintain_command_applies_the_retention(tmp_path: object,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from access_probe.cli import main

    url = f"sqlite:///{tmp_path}/m.sqlite3"
    assert main(["collector", "migrate", "--db", url]) == 0
    engine = repo.make_engine(url)
    now = datetime.now(UTC)
    repo.ingest(engine, batch=[_stored(now - timedelta(days=d)) for d in (1, 100)])
    monkeypatch.setenv("ACCESS_PROBE_RETENTION_DAYS", "30")
    assert main(["collector", "maintain", "--db", url]) == 0
    assert "1 results deleted" in capsys.readouterr().out
    assert main(["collector", "maintain", "--db", url, "--retention-days", "0"]) == 0
    assert "retention off" in capsys.readouterr().out
    assert repo.count_results(engine) == 1
    engine.dispose()
    monkeypatch.setenv("ACCESS_PROBE_RETENTION_DAYS", "a month")
    assert main(["collector", "maintain", "--db", url]) == 2


# --- the day x service rollup (PostgreSQL) ------------------------------------------------

_DAY_SERVICE_QUESTIONS: tuple[tuple[tuple[str, ...], dict[str, tuple[str | None, ...]]], ...] = (
    (("day", "service"), {}), (("service", "day"), {}), (("day", "service", "status"), {}),
    (("status", "day", "service"), {"status": ("blocked", "accessible")}),
    (("day", "service"), {"status": ("blocked",)}), (("day", "service"), {"service": ("x",)}),
    (("day", "service", "status"), {"service": ("tiktok", "x"), "status": ("blocked",)}),
)


def _day_service_batch(n: int, start: datetime, *, orgs: int = 4) -> list[StoredResult]:
    """Results over days of two months, several services and statuses; an organisation is
    often seen in two statuses of one (day, service), which the orgs by (day, service) must
    count once."""
    return [dataclasses.replace(_stored(start + timedelta(minutes=20 * i), ORGS[i % orgs]),
                                service=("facebook", "tiktok", "x")[i % 3],
                                network=("lan", "public-wifi")[i % 2],
                                status=("accessible", "blocked", "dns_error")[i // 3 % 3])
            for i in range(n)]


def _day_service_matches(engine: sa.engine.Engine, *, since: date | None = None,
                         until: date | None = None) -> None:
    """Every day x service question reads day_service and answers as the raw results do."""
    for keys, filters in _DAY_SERVICE_QUESTIONS:
        query = AggregateQuery(group_by=keys, filters=tuple(filters.items()), since=since,
                               until=until)
        assert repo._day_service_status(query) is not None, query  # the new path is taken
        fast = repo.aggregate(engine, query=query)
        assert fast and fast == repo.aggregate(engine, query=query, source="results"), query


@pytest.mark.postgres
def test_day_service_answers_as_the_raw_results_do() -> None:
    start = datetime(2026, 1, 29, tzinfo=UTC)
    with postgres_database() as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine)
        batch = _day_service_batch(400, start)
        for part in (batch[:150], batch[100:300], batch[250:]):  # overlaps: duplicates
            repo.ingest(engine, batch=part)
        repo.ingest(engine, batch=batch[:50])  # the same submission again
        assert repo.count_results(engine) == 400
        # the data exercises the overlap: some organisation is in two statuses of a key
        by_status = repo.aggregate(engine, query=AggregateQuery(
            group_by=("day", "service", "status")))
        any_status = repo.aggregate(engine, query=AggregateQuery(group_by=("day", "service")))
        summed = Counter[tuple[object, ...]]()
        for row in by_status:
            summed[row.keys[:2]] += row.orgs
        assert any(summed[row.keys] > row.orgs for row in any_status)
        for since, until in ((None, None), (date(2026, 1, 30), date(2026, 2, 2)),
                             (date(2026, 2, 1), None), (None, date(2026, 1, 31))):
            _day_service_matches(engine, since=since, until=until)
        engine.dispose()


def test_only_questions_by_day_and_service_read_day_service() -> None:
    """Sums of day_service's orgs are exact over shards only: a question over several days,
    services or statuses of one row of the answer reads counts_day as before."""
    def status(keys: tuple[str, ...], **filters: tuple[str | None, ...]) -> str | None:
        return repo._day_service_status(AggregateQuery(group_by=keys,
                                                       filters=tuple(filters.items())))

    assert status(("day", "service")) == "*"
    assert status(("day", "service"), status=("blocked",)) == "blocked"
    assert status(("day", "service", "status"), status=("blocked", "accessible")) == "by status"
    assert status(("day", "service"), status=("blocked", "accessible")) is None
    assert status(("day", "service"), status=("*",)) is None
    assert status(("service",)) is None and status(("day",)) is None
    assert status(("day", "status")) is None
    assert status(("day", "service", "org")) is None
    assert status(("day", "service"), network=("lan",)) is None


@pytest.mark.postgres
def test_day_service_stays_exact_under_concurrent_ingests_of_the_same_keys() -> None:
    """Threads ingest overlapping batches (the same days, services, statuses and
    organisations, some results in several batches): every organisation is counted once."""
    from concurrent.futures import ThreadPoolExecutor

    start = datetime(2026, 3, 1, tzinfo=UTC)
    with postgres_database() as url:
        engine = repo.make_engine(url, pool_size=4)
        migrate.upgrade(engine)
        batch = _day_service_batch(600, start, orgs=5)
        parts = [batch[i::6] + batch[(i + 1) % 6::12] for i in range(6)] * 2
        with ThreadPoolExecutor(max_workers=4) as pool:
            accepted = sum(c.accepted for c in pool.map(
                lambda part: repo.ingest(engine, batch=part), parts, timeout=120))
        assert accepted == repo.count_results(engine) == 600
        _day_service_matches(engine)
        engine.dispose()


@pytest.mark.postgres
def test_day_service_after_a_rebuild_and_the_retention() -> None:
    """A rebuild recounts day_service with counts_day (results loaded behind the ingest's
    back included); the retention, which keeps the rollups' counts, keeps it too."""
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    old = now - timedelta(days=500)
    with postgres_database() as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine)
        repo.ingest(engine, batch=_day_service_batch(200, old) + _day_service_batch(200, now))
        bypassed = _day_service_batch(60, now - timedelta(days=3), orgs=5)
        with engine.begin() as conn:  # behind the ingest's back: no rollup counts them
            conn.execute(results.insert(), [
                {c: getattr(r, c) for c in results.c.keys()} for r in bypassed])
        repo.rebuild_rollups(engine, since=(now - timedelta(days=4)).date())
        _day_service_matches(engine)
        repo.rebuild_rollups(engine)
        _day_service_matches(engine)
        before = repo.aggregate(engine, query=AggregateQuery(group_by=("day", "service")))
        assert partitions.retain(engine, days=400, now=now) >= 1
        assert repo.count_results(engine) == 260  # the old results are gone, not their counts
        # the same question through counts_day (a filter on every network takes that path)
        through_counts_day = AggregateQuery(group_by=("day", "service"),
                                            filters=(("network", ("lan", "public-wifi")),))
        assert (repo.aggregate(engine, query=AggregateQuery(group_by=("day", "service")))
                == before == repo.aggregate(engine, query=through_counts_day))
        engine.dispose()
