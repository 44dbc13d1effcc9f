"""The dashboard at GET /: names not codes, suppressed public view, everything escaped. The
pages in a real Chromium: tests/collector/test_browser.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from access_probe.collector import councils, demo, views
from access_probe.collector.aggregate import AggregateQuery, AggregateRow
from access_probe.collector.api import warm
from access_probe.collector.api.dashboard import HOW, dashboard_queries
from access_probe.collector.store import migrate, repo
from tests.collector.conftest import ORGS, Collector, document, result

EVIL = '<script>document.title="pwned"</script>'


def _fill(collector: Collector) -> None:
    for org in ORGS[:3]:
        collector.submit(collector.token(org), document(org, [
            result("blocked"), result(service="govuk", category="baseline")], network=EVIL))
    collector.submit(collector.token(ORGS[3]), document(ORGS[3], [result(service="lonely")]))


def test_dashboard_escapes_names_and_suppresses(collector: Collector) -> None:
    _fill(collector)
    response = collector.http.get("/")
    page = response.text
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert EVIL not in page
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in page
    assert "Facebook" in page and "100%" in page  # names, and all three block it
    assert "lonely" not in page  # one organisation: not even named
    assert "GOV.UK</span>" not in page  # a baseline is no service
    assert "squid" in page
    assert "Social Networking" in page  # the filter's own category, beside the catalogue's
    assert "as its block page states" in page and ">Social<" in page
    assert ">none<" not in page
    page = collector.http.get("/", params={"network": EVIL}).text
    assert EVIL not in page and "Facebook" in page
    assert collector.http.get("/", params={"network": "nowhere"}).status_code == 200


def test_dashboard_refuses_bad_parameters(collector: Collector) -> None:
    for params in ({"group_by": "org"}, {"bogus": "1"}, {"period": "x"}, {"by": "org"},
                   {"status": "blocked"}, {"since": "yesterday"}):
        assert collector.http.get("/", params=params).status_code == 422, params


def test_dashboard_csv_has_codes_names_and_suppression(collector: Collector) -> None:
    _fill(collector)
    response = collector.http.get("/dashboard.csv", params={"by": "nation"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "service,service_name,nation,councils_blocked_or_restricted,councils,share"
    # England two councils, Scotland and Wales one: every cell is below k for the public
    assert lines[1:] == []
    admin = collector.token(None, admin=True)
    full = collector.http.get("/dashboard.csv", params={"by": "nation"},
                              headers={"Authorization": f"Bearer {admin}"}).text.splitlines()
    assert "facebook,Facebook,England,2,2,1.0" in full and not any("govuk" in x for x in full)
    assert any(x.startswith("lonely,lonely,Wales") for x in full)
    assert collector.http.get("/dashboard.csv", params={"by": "org"}).status_code == 422



def test_the_warmer_answers_the_default_views_without_a_query(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the 30 s cache off, the default dashboard's questions (and with a network filter)
    are answered from what the warmer left, the same counts as asked afresh; a view the warmer
    does not know (another period) still queries the database."""
    engine = repo.make_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    migrate.upgrade(engine)
    end = datetime.now(UTC).replace(microsecond=0)
    demo.load(engine, councils.load(), councils=4, days=2, seed=5, end=end)
    monkeypatch.setattr(views, "CACHE_SECONDS", 0.0)
    today = end.date()
    default = AggregateQuery(since=views.period_start(views.DEFAULT_PERIOD, today))
    fresh = views.run_all(engine, dashboard_queries(default, today))
    warm.warm(engine, keep=60)
    asked: list[AggregateQuery] = []
    real = repo.aggregate

    def counting(engine: Engine, *, query: AggregateQuery) -> list[AggregateRow]:
        asked.append(query)
        return real(engine, query=query)

    monkeypatch.setattr(repo, "aggregate", counting)
    assert views.run_all(engine, dashboard_queries(default, today)) == fresh
    lan = views.with_filter(default, "network", ("corporate-lan",))
    views.run_all(engine, dashboard_queries(lan, today))
    assert asked == []
    week = AggregateQuery(since=views.period_start("7", today))
    views.run_all(engine, dashboard_queries(week, today))
    assert asked
    engine.dispose()


def test_the_breakdowns_regrouped_from_one_question_equal_their_own_questions(
        tmp_path: Path) -> None:
    engine = repo.make_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    migrate.upgrade(engine)
    demo.load(engine, councils.load(), councils=8, days=2, seed=7)
    denied = views.with_filter(AggregateQuery(), "status", views.DENIED)
    by_org = repo.aggregate(engine, query=replace(denied, group_by=("org", *HOW)))
    for at, key in enumerate(HOW, start=1):
        alone = repo.aggregate(engine, query=replace(denied, group_by=(key,)))
        assert len(alone) > 1, key  # the demo has several of each
        assert sorted(views.regroup(by_org, at), key=repr) == sorted(alone, key=repr), key
    engine.dispose()


def test_the_hour_view_reads_the_whole_months_of_the_periods_last_four_weeks() -> None:
    from datetime import date

    from access_probe.collector.api.dashboard import hour_months
    from access_probe.collector.store.repo import whole_months

    today = date(2026, 12, 4)
    cases = {
        (date(2026, 11, 7), None): (date(2026, 11, 1), None),  # the default 28 days
        (date(2026, 12, 1), None): (date(2026, 12, 1), None),
        (None, None): (date(2026, 11, 1), None),  # all time: the last four weeks' months
        (date(2026, 1, 1), date(2026, 3, 10)): (date(2026, 2, 1), date(2026, 3, 31)),
        (date(2026, 3, 5), date(2026, 3, 10)): (date(2026, 3, 1), date(2026, 3, 31)),
    }
    for (since, until), wanted in cases.items():
        got = hour_months(AggregateQuery(since=since, until=until), today)
        assert got == wanted, (since, until)
        assert whole_months(*got)
