"""`collector demo-data`: a synthetic picture, marked as such, through the ingest path."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from access_probe.collector import councils, demo
from access_probe.collector.aggregate import AggregateQuery
from access_probe.collector.store import repo
from access_probe.collector.store.tables import results
from tests.collector.conftest import wipe

END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # a Monday evening


def test_demo_data_is_marked_varied_and_idempotent(db_url: str) -> None:
    wipe(db_url)
    engine = repo.make_engine(db_url)
    try:
        counts = demo.load(engine, councils.load(), councils=12, days=2, seed=7, end=END,
                           batch=3000)
        assert counts.councils == 12 and counts.accepted > 5000 and counts.duplicates == 0
        assert repo.count_results(engine) == counts.accepted
        assert set(repo.rollup_totals(engine)) == {counts.accepted}
        with engine.connect() as conn:
            agents = conn.execute(sa.select(results.c.agent).distinct()).scalars().all()
        assert agents == [demo.DEMO_AGENT]

        def keys(key: str) -> set[object]:
            rows = repo.aggregate(engine, query=AggregateQuery(group_by=(key,)))
            return {r.keys[0] for r in rows}

        assert "corporate-lan" in keys("network") and len(keys("network")) >= 3
        assert {"accessible", "blocked"} <= keys("status")
        assert len(keys("method") - {None}) >= 3 and len(keys("vendor") - {None}) >= 3
        assert {None, "E"} & {c[:1] if c else None for c in keys("org")}  # real council codes
        assert keys("org") <= {c.code for c in councils.load().by_code.values()}
        # the same seed again: every id is already there
        again = demo.load(engine, councils.load(), councils=12, days=2, seed=7, end=END,
                          batch=3000)
        assert again.accepted == 0 and again.duplicates == counts.accepted
    finally:
        engine.dispose()


def test_lunchtime_policy_opens_only_at_lunch() -> None:
    import random

    from access_probe.catalogue import packaged_catalogue

    council = next(c for c in councils.load().by_code.values() if c.current)
    site = demo.Site(council=council, network="corporate-lan", office_hours=True,
                     product=demo.Block("smoothwall", "http", "http-blockpage", "Social"),
                     issuer=None, policy={"facebook": "lunch"})
    rng = random.Random(1)
    start = datetime(2026, 11, 30, 7, tzinfo=UTC)
    seen = {}
    for _site, doc in demo.documents([site], packaged_catalogue(), rng, start=start,
                                     end=start.replace(hour=19)):
        fb = next(r for r in doc["results"] if r["service"] == "facebook")
        if fb["status"] in ("accessible", "blocked"):
            seen[fb["measured_at"].hour] = fb["status"]
    assert seen[12] == seen[13] == "accessible"
    assert {seen[h] for h in seen if h not in (12, 13)} == {"blocked"}
