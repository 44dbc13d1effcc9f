"""The collector's HTTP API against a real server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from access_probe.collector.store import repo
from access_probe.collector.store.tables import results
from tests.collector.conftest import ORGS, Collector, auth, document, result


def stored_rows(db_url: str) -> list[dict[str, object]]:
    engine = repo.make_engine(db_url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(results)).mappings()]
    engine.dispose()
    return rows


def test_submission_is_stored_once(collector: Collector) -> None:
    token = collector.token(ORGS[0])
    doc = document(ORGS[0], [result(), result("blocked")])
    first = collector.submit(token, doc)
    again = collector.submit(token, doc)
    assert first.status_code == 200 and first.json() == {"accepted": 2, "duplicates": 0}
    assert again.status_code == 200 and again.json() == {"accepted": 0, "duplicates": 2}
    assert len(stored_rows(collector.db_url)) == 2


def test_partly_new_batch_counts_only_new_results(collector: Collector) -> None:
    token = collector.token()
    old, new = result(), result()
    collector.submit(token, document(ORGS[0], [old]))
    answer = collector.submit(token, document(ORGS[0], [old, new, new]))
    assert answer.json() == {"accepted": 1, "duplicates": 2}
    rows = collector.aggregate(collector.token(admin=True)).json()["rows"]
    assert rows == [{"count": 2, "orgs": 1}]


def test_stored_row_keeps_nothing_personal(collector: Collector) -> None:
    token = collector.token(ORGS[0])
    item = result("blocked", url="https://user:pw@www.facebook.com/groups/x?uid=42#frag",
                  evidence={"route": "proxy", "pac": "PROXY", "http_status": 403,
                            "fingerprints": ["squid-403"], "reason": "a sentence",
                            "address": "10.1.2.3"},
                  hostname="PC-0042", client_ip="10.1.2.3")
    assert collector.submit(token, document(ORGS[0], [item])).status_code == 200
    (row,) = stored_rows(collector.db_url)
    assert row["url"] == "https://www.facebook.com/groups/x"
    assert row["evidence"] == {"route": "proxy", "pac": "PROXY", "dns": None, "tcp": None,
                               "tls": None,
                               "http": None, "http_status": 403, "proxy_status": None,
                               "fingerprints": ["squid-403"]}
    assert "10.1.2.3" not in repr(row) and "PC-0042" not in repr(row)
    assert "127.0.0.1" not in repr(row)  # the caller's own address
    assert (row["org"], row["nation"], row["region"], row["council_type"]) == (
        "E07000223", "England", "South East", "Non-metropolitan district")
    assert (row["layer"], row["method"], row["vendor"]) == ("http", "http-blockpage", "squid")


def test_org_codes_are_canonical(collector: Collector) -> None:
    """A token enrolled by three-letter code accepts documents naming the GSS code."""
    token = collector.token("ADU")
    assert collector.submit(token, document("E07000223", [result()])).status_code == 200
    assert collector.submit(token, document(None, [result()])).status_code == 200
    assert {r["org"] for r in stored_rows(collector.db_url)} == {"E07000223"}


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc",
                                    "Bearer ap_00000000_" + "A" * 43])
def test_without_a_valid_token_401(collector: Collector, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = collector.http.post("/api/v1/submissions", json=document(ORGS[0], [result()]),
                                 headers=headers)
    assert answer.status_code == 401
    assert collector.http.get("/api/v1/aggregate", headers=headers).status_code == 401
    assert collector.http.post("/api/v1/control", json={"urls": ["https://a.example/"]},
                               headers=headers).status_code == 401


def test_tampered_and_revoked_tokens_401(make_collector: Callable[..., Collector]) -> None:
    """A revoked token is refused once the token cache's bound has passed (each process
    keeps a token's row for `token_cache_seconds`, the documented bound)."""
    collector = make_collector(token_cache_seconds=1.0)
    token = collector.token()
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert collector.submit(token, document(ORGS[0], [result()])).status_code == 200  # kept
    assert collector.submit(tampered, document(ORGS[0], [result()])).status_code == 401
    engine = repo.make_engine(collector.db_url)
    from access_probe.collector.tokens import token_id
    from access_probe.schema import utc_now

    assert repo.revoke_token(engine, token_id=token_id(token) or "", now=utc_now())
    engine.dispose()
    time.sleep(1.1)
    assert collector.submit(token, document(ORGS[0], [result()])).status_code == 401
    assert collector.aggregate(token).status_code == 401


def test_other_organisation_403(collector: Collector) -> None:
    answer = collector.submit(collector.token(ORGS[0]), document(ORGS[1], [result()]))
    assert answer.status_code == 403 and "organisation" in answer.json()["detail"]
    assert stored_rows(collector.db_url) == []


def test_admin_submits_for_named_org_only(collector: Collector) -> None:
    admin = collector.token(admin=True)
    assert collector.submit(admin, document(ORGS[1], [result()])).status_code == 200
    assert collector.submit(admin, document(None, [result()])).status_code == 422


def test_oversized_body_413_by_length_and_by_stream(make_collector: Callable[..., Collector]
                                                     ) -> None:
    collector = make_collector(max_body_bytes=20_000)
    token = collector.token()
    big = document(ORGS[0], [result() for _ in range(200)])
    assert collector.submit(token, big).status_code == 413

    def chunks() -> object:
        yield b'{"schema": "access-probe/check/1", "results": ['
        for _ in range(100):
            yield b'"' + b"x" * 1000 + b'",'
        yield b"]}"

    answer = collector.http.post("/api/v1/submissions", content=chunks(),  # type: ignore[arg-type]
                                 headers=auth(token))
    assert answer.status_code == 413
    assert stored_rows(collector.db_url) == []


def test_too_many_results_422(collector: Collector) -> None:
    items = [result() for _ in range(5001)]
    answer = collector.submit(collector.token(), document(ORGS[0], items))
    assert answer.status_code == 422 and "results" in answer.json()["detail"]


EVIL_BODIES: list[bytes] = [
    b"", b"null", b"[]", b"{}", b"{", b'{"schema": "access-probe/check/1"',
    b"\xff\xfe\xfd", b'{"schema": "\xed\xa0\x80"}', b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 5000 + b"1" + b"}" * 5000, b"NaN", b"1e999999", b"9" * 100_000,
    b'{"schema": "access-probe/check/1", "started_at": NaN}',
    b'{"schema": "access-probe/check/2", "started_at": "2026-01-01T00:00:00Z",'
    b' "finished_at": "2026-01-01T00:00:00Z", "context": {}, "results": []}',
    b'\x00' * 1000, "{\"schema\": \"\u202e\"}".encode(),
]


def _evil_documents() -> list[dict[str, object]]:
    good = result()
    bad_results: list[dict[str, object]] = [
        {**good, "status": "maybe"},
        {**good, "id": "not-a-uuid"},
        {**good, "status": "accessible", "blocking": {"layer": "http", "method": "http-status"}},
        {**good, "status": "blocked", "blocking": {"layer": "ip", "method": "x"}},
        {**good, "status": "blocked", "blocking": {"layer": "http", "method": "Bad Method!"}},
        {**good, "timings_ms": {"dns": float("1e308") * 10}},
        {**good, "timings_ms": {"dns": -1}},
        {**good, "timings_ms": {f"k{i}": 1 for i in range(100)}},
        {**good, "url": "javascript:alert(1)"},
        {**good, "url": "https://x/" + "a" * 5000},
        {**good, "service": "<script>"},
        {**good, "measured_at": "1970-01-01T00:00:00Z"},
        {**good, "measured_at": "2999-01-01T00:00:00Z"},
        {**good, "target": 12},
        {**good, "evidence": {"http_status": 10**30}},
        {**good, "id": None},
    ]
    return [document(ORGS[0], [r]) for r in bad_results] + [
        {**document(ORGS[0], [good]), "results": "many"},
        {**document(ORGS[0], [good]), "context": {"org": ORGS[0], "network": "x" * 65}},
        {**document(ORGS[0], [good]), "context": {"org": ORGS[0], "asn": -5}},
        {**document(ORGS[0], [good]), "started_at": "yesterday"},
        {**document(ORGS[0], [good]), "schema": "access-probe/check/2"},
    ]


@pytest.mark.parametrize("body", EVIL_BODIES, ids=lambda b: repr(b[:20]))
def test_malformed_bodies_are_4xx(collector: Collector, body: bytes) -> None:
    answer = collector.http.post("/api/v1/submissions", content=body,
                                 headers=auth(collector.token()))
    assert 400 <= answer.status_code < 500, answer.text
    assert len(answer.content) < 5000  # the reason, not an echo of the input


def test_invalid_documents_are_422_with_reason(collector: Collector) -> None:
    token = collector.token()
    for doc in _evil_documents():
        answer = collector.http.post("/api/v1/submissions", content=_dumps(doc),
                                     headers=auth(token))
        assert answer.status_code == 422, (doc, answer.text)
        assert answer.json()["detail"].startswith("invalid input: ")
    assert stored_rows(collector.db_url) == []


def _dumps(doc: object) -> bytes:
    import json

    return json.dumps(doc, allow_nan=True).encode()


def test_garbage_on_the_socket_never_5xx(collector: Collector) -> None:
    """Raw HTTP with lies in it. A body shorter than its Content-Length ends in the client's
    half-close: the server may have no one left to answer, but must never answer 5xx."""
    host, port = collector.url.removeprefix("http://").split(":")
    token = collector.token()
    cases = ((5, b'{"sch', b"422"), (10**12, b"{}", b"413"), ("abc", b"{}", b"400"),
             (100, b"{}", b""), (-1, b"{}", b"400"))
    for declared, body, expected in cases:
        request = (f"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {declared}\r\nConnection: close\r\n\r\n").encode() + body
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(request)
            if expected == b"":
                sock.shutdown(socket.SHUT_WR)  # the promised rest never comes
            status_line = sock.recv(4096).split(b"\r\n", 1)[0]
        status = status_line.split()[1] if status_line else b""
        assert status == expected, (declared, status_line)


def test_unknown_fields_ignored_not_stored(collector: Collector) -> None:
    doc = document(ORGS[0], [result(extra_field="secret-ish")])
    doc["context"]["hostname"] = "PC-0042"
    doc["surprise"] = {"nested": [1, 2, 3]}
    assert collector.submit(collector.token(), doc).status_code == 200
    (row,) = stored_rows(collector.db_url)
    assert "secret-ish" not in repr(row) and "PC-0042" not in repr(row)


def test_submission_rate_limit_429(make_collector: Callable[..., Collector]) -> None:
    collector = make_collector(submit_per_minute=1, submit_burst=2)
    token, other = collector.token(ORGS[0]), collector.token(ORGS[1])
    codes = [collector.submit(token, document(ORGS[0], [result()])).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = collector.submit(token, document(ORGS[0], [result()]))
    assert int(limited.headers["Retry-After"]) > 0
    assert collector.submit(other, document(ORGS[1], [result()])).status_code == 200


def _fill(collector: Collector) -> None:
    """Facebook blocked by squid in 3 organisations, X blocked in 1, YouTube fine in 2."""
    for org in ORGS[:3]:
        collector.submit(collector.token(org), document(org, [result("blocked"),
                                                              result("blocked")]))
    collector.submit(collector.token(ORGS[3]), document(ORGS[3], [result("blocked",
                                                                         service="x")]))
    for org in ORGS[3:5]:
        collector.submit(collector.token(org), document(org, [result(service="youtube")]))


def test_aggregate_suppresses_small_cells(collector: Collector) -> None:
    _fill(collector)
    org_view = collector.aggregate(collector.token(ORGS[0]), group_by="service,status").json()
    assert org_view == {"rows": [{"service": "facebook", "status": "blocked", "count": 6,
                                  "orgs": 3}], "suppressed": 2, "k": 3}
    admin_view = collector.aggregate(collector.token(admin=True),
                                     group_by="service,status").json()
    assert admin_view["suppressed"] == 0
    assert {(r["service"], r["count"], r["orgs"]) for r in admin_view["rows"]} == {
        ("facebook", 6, 3), ("x", 1, 1), ("youtube", 2, 2)}


def test_aggregate_by_council_facts_and_filters(collector: Collector) -> None:
    _fill(collector)
    admin = collector.token(admin=True)
    by_nation = collector.aggregate(admin, group_by="nation", status="blocked").json()["rows"]
    assert by_nation == [{"nation": "England", "count": 4, "orgs": 2},
                         {"nation": "Scotland", "count": 2, "orgs": 1},
                         {"nation": "Wales", "count": 1, "orgs": 1}]
    vendors = collector.aggregate(admin, group_by="vendor,layer,method",
                                  service="facebook,youtube").json()["rows"]
    assert vendors[0] == {"vendor": "squid", "layer": "http", "method": "http-blockpage",
                          "count": 6, "orgs": 3}
    assert vendors[1] == {"vendor": None, "layer": None, "method": None, "count": 2, "orgs": 2}
    absent = collector.aggregate(admin, group_by="service", vendor="").json()["rows"]
    assert absent == [{"service": "youtube", "count": 2, "orgs": 2}]
    hours = collector.aggregate(admin, group_by="day,hour").json()["rows"]
    assert sum(r["count"] for r in hours) == 9 and all(0 <= r["hour"] <= 23 for r in hours)


@pytest.mark.parametrize("query", ["group_by=colour", "group_by=service,service",
                                   "since=last-week", "hour=24", "servise=facebook"])
def test_aggregate_rejects_bad_queries_422(collector: Collector, query: str) -> None:
    answer = collector.http.get(f"/api/v1/aggregate?{query}", headers=auth(collector.token()))
    assert answer.status_code == 422 and answer.json()["detail"]


def test_export_csv_and_raw(collector: Collector) -> None:
    _fill(collector)
    org, admin = collector.token(ORGS[0]), collector.token(admin=True)
    table = collector.http.get("/api/v1/export.csv", params={"group_by": "service,status"},
                               headers=auth(org))
    assert table.status_code == 200 and table.headers["x-suppressed-rows"] == "2"
    assert list(csv.reader(io.StringIO(table.text))) == [
        ["service", "status", "count", "orgs"], ["facebook", "blocked", "6", "3"]]
    assert collector.http.get("/api/v1/export.csv?raw=1", headers=auth(org)).status_code == 403
    raw = collector.http.get("/api/v1/export.csv?raw=1&service=facebook", headers=auth(admin))
    rows = list(csv.DictReader(io.StringIO(raw.text)))
    assert len(rows) == 6 and {r["vendor"] for r in rows} == {"squid"}


def test_health_metrics_and_openapi(collector: Collector) -> None:
    assert collector.http.get("/healthz").json() == {"status": "ok", "database": True}
    collector.submit(collector.token(), document(ORGS[0], [result()]))
    metrics = collector.http.get("/metrics").text
    assert 'collector_results_total{outcome="new"} 1.0' in metrics
    schema = collector.http.get("/openapi.json").json()
    assert "CheckIn" in schema["components"]["schemas"]
    assert "/api/v1/submissions" in schema["paths"]


def test_security_headers_on_every_answer(collector: Collector) -> None:
    token = collector.token(ORGS[0])
    answers = [collector.submit(token, document(ORGS[0], [result()])),
               collector.http.get("/api/v1/aggregate"), collector.http.get("/healthz")]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Content-Security-Policy" not in collector.http.get("/docs").headers
