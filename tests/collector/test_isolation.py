"""An organisation's token can neither read another organisation's raw results nor submit for
it, on SQLite and PostgreSQL, through a real server.

The contract: raw results (`export.csv?raw=1`) are for administrator tokens only; counts are
visible to organisation tokens only in cells of at least k organisations, so no filter or
grouping singles one organisation out; a submission whose `context.org` names another
organisation is refused with 403 and nothing is stored; one with no `context.org`, or the
token's own organisation in any spelling, is stored under the token's organisation."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import sqlalchemy as sa

from access_probe.collector.store import repo
from access_probe.collector.store.tables import rate_buckets, results
from tests.collector.conftest import ORGS, Collector, auth, document, result

ADUR, WESTMINSTER = ORGS[0], ORGS[1]


def stored_orgs(db_url: str) -> list[str]:
    engine = repo.make_engine(db_url)
    with engine.connect() as conn:
        orgs = sorted(conn.execute(sa.select(results.c.org)).scalars())
    engine.dispose()
    return orgs


def test_no_raw_results_of_another_organisation(collector: Collector) -> None:
    mine, theirs = collector.token(ADUR), collector.token(WESTMINSTER)
    assert collector.submit(theirs, document(WESTMINSTER, [result("blocked")])).status_code == 200
    assert collector.submit(mine, document(ADUR, [result()])).status_code == 200
    for query in ("raw=1", f"raw=1&org={WESTMINSTER}", f"raw=1&org={ADUR}",
                  "raw=1&group_by=org", "RAW=1&raw=1", "raw=2&raw=1"):
        answer = collector.http.get(f"/api/v1/export.csv?{query}", headers=auth(mine))
        assert answer.status_code in (403, 422), (query, answer.status_code)
        assert WESTMINSTER not in answer.text and "blocked" not in answer.text
    for query in ("raw=01", "raw=true", "raw=%31", f"raw=%201&org={WESTMINSTER}"):
        answer = collector.http.get(f"/api/v1/export.csv?{query}", headers=auth(mine))
        assert WESTMINSTER not in answer.text and "blocked" not in answer.text, query
    # Counts: two organisations are below k=3, so nothing singles Westminster out.
    for params in ({"group_by": "org"}, {"org": WESTMINSTER}, {"group_by": "org,status"},
                   {"org": WESTMINSTER, "group_by": "status"}):
        answer = collector.aggregate(mine, **params)
        assert answer.status_code == 200 and answer.json()["rows"] == [], params
        csv = collector.http.get("/api/v1/export.csv", params=params, headers=auth(mine))
        assert csv.status_code == 200 and WESTMINSTER not in csv.text
        assert csv.text.count("\n") == 1  # the header only


def test_no_submission_for_another_organisation(collector: Collector) -> None:
    mine = collector.token(ADUR)
    for claimed in (WESTMINSTER, WESTMINSTER.lower(), f" {WESTMINSTER} ", "WSM", "ZZZ",
                    "E07000224"):
        answer = collector.submit(mine, document(claimed, [result()]))
        assert answer.status_code in (403, 422), (claimed, answer.status_code)
    assert stored_orgs(collector.db_url) == []
    # No claim, or the token's own organisation by another of its codes: the token's org.
    for claimed in (None, ADUR, "ADU", "adu"):
        answer = collector.submit(mine, document(claimed, [result()]))
        assert answer.status_code == 200, (claimed, answer.text)
    assert stored_orgs(collector.db_url) == [ADUR] * 4


def test_an_organisation_token_cannot_become_administrator(collector: Collector) -> None:
    """A token of one organisation replayed with the id of another token (or the admin's)
    fails: the secret is bound to its id by the stored hash."""
    mine, admin = collector.token(ADUR), collector.token(admin=True)
    forged = admin[:11] + mine[11:]
    answer = collector.http.get("/api/v1/export.csv?raw=1", headers=auth(forged))
    assert answer.status_code == 401


def test_failed_authentications_are_throttled_per_client(
        make_collector: Callable[..., Collector]) -> None:
    """Each client address has its own budget of failures; only a keyed hash of it is kept,
    in a throttle row, never the address."""
    collector = make_collector(auth_failures_per_minute=0.01, auth_failure_burst=3)
    bad = auth("ap_0000abcd_" + "y" * 43)

    def codes(source: str, n: int) -> list[int]:
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(base_url=collector.url, transport=transport, timeout=30) as client:
            return [client.get("/api/v1/aggregate", headers=bad).status_code for _ in range(n)]

    assert codes("127.0.0.1", 5) == [401, 401, 401, 429, 429]
    assert codes("127.0.0.2", 4) == [401, 401, 401, 429]
    # No token at all is no guess: still a plain 401, never charged.
    assert collector.http.get("/api/v1/aggregate").status_code == 401
    engine = repo.make_engine(collector.db_url)
    with engine.connect() as conn:
        keys = conn.execute(sa.select(rate_buckets.c.key)).scalars().all()
        dump = repr(conn.execute(sa.select(rate_buckets)).all())
    engine.dispose()
    assert len(keys) == 2 and all(k.startswith("auth:") for k in keys)
    assert "127.0.0" not in dump
