"""No input gets a 5xx: every endpoint of the collector's OpenAPI schema fuzzed with
schemathesis (positive and negative generation: bodies, query strings, headers), on SQLite
and PostgreSQL, through a real server; plus a fixed corpus of known-nasty inputs (NUL bytes,
lone surrogates, huge numbers, deep nesting, unterminated IPv6 literals, odd
percent-encoding).

Bounded for CI: FUZZ_CASES generated cases per database (derandomized, so a run is
repeatable). The long run: ACCESS_PROBE_FUZZ_CASES=10000 (see docs/reliability.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from access_probe.collector.app import create_app
from access_probe.collector.settings import Settings
from access_probe.engine.netenv import NetEnv
from tests.collector.conftest import ORGS, auth, document, make_token, result, running, wipe
from tests.servers import DNSServer

FUZZ_CASES = int(os.environ.get("ACCESS_PROBE_FUZZ_CASES", "300"))
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


class Target:
    def __init__(self, url: str, tokens: dict[str, str], schema: Any) -> None:
        self.url = url
        self.tokens = tokens
        self.schema = schema
        self.session = requests.Session()
        self.cases = 0
        self.statuses: dict[int, int] = {}


@pytest.fixture(scope="module")
def target(db_url: str) -> Iterator[Target]:
    """One collector for the module's database. Limits are off (they would answer 429 before
    validation is reached); the control runs catalogue-only against a nameserver that knows
    nothing, so no generated URL is ever fetched beyond loopback."""
    wipe(db_url)
    with DNSServer({}) as dns:
        env = NetEnv(resolver=dns.address, nameservers=(dns.address,), dns_port=dns.port)
        settings_ = replace(Settings(db_url=db_url), submit_per_minute=1e9, submit_burst=10**6,
                            control_per_minute=1e9, control_burst=10**6,
                            auth_failures_per_minute=1e9, auth_failure_burst=10**6,
                            catalogue_only=True, control_deadline_seconds=5)
        app = create_app(settings_, netenv=env)
        tokens = {"admin": make_token(db_url, None, admin=True),
                  "org": make_token(db_url, ORGS[0])}
        with running(app) as url:
            schema = schemathesis.openapi.from_dict(app.openapi())
            found = Target(url, tokens, schema)
            yield found
            print(f"\n{db_url.split(':')[0]}: {found.cases} schemathesis cases, "
                  f"statuses {dict(sorted(found.statuses.items()))}")


def _cases(schema: Any) -> st.SearchStrategy[Any]:
    operations = [r.ok() for r in schema.get_all_operations()]
    return st.one_of(*(op.as_strategy(mode) for op in operations for mode in MODES))


@pytest.mark.timeout(max(300, FUZZ_CASES // 2))
def test_schema_fuzz_never_5xx(target: Target) -> None:
    @settings(max_examples=FUZZ_CASES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @given(case=_cases(target.schema),
           who=st.sampled_from(["admin", "org", "admin", "org", "generated"]))
    def run(case: Any, who: str) -> None:
        headers = dict(case.headers or {})
        if who in target.tokens:  # else: whatever Authorization schemathesis made, if any
            headers["Authorization"] = f"Bearer {target.tokens[who]}"
        try:
            response = case.call(base_url=target.url, session=target.session,
                                 headers=headers, timeout=60)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                UnicodeEncodeError, ValueError):
            return  # the client itself refused to send it: nothing reached the server
        target.cases += 1
        target.statuses[response.status_code] = target.statuses.get(response.status_code,
                                                                    0) + 1
        assert response.status_code < 500, (case.operation.label, case.path_parameters,
                                             case.query, str(case.body)[:500],
                                             response.text[:500])

    run()
    assert target.cases >= FUZZ_CASES * 0.9


# --- a fixed corpus of known-nasty inputs -------------------------------------------------

def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _doc_with(**fields: Any) -> dict[str, Any]:
    return document(ORGS[0], [result(**fields)])


def _raw(doc: dict[str, Any], old: str, new: str) -> bytes:
    text = json.dumps(doc)
    assert old in text
    return text.replace(old, new, 1).encode()


BODIES: list[tuple[str, bytes]] = [
    ("NUL in target", json.dumps(_doc_with(target="face\x00book")).encode()),
    ("NUL in url", json.dumps(_doc_with(url="https://x.test/\x00")).encode()),
    ("NUL in evidence", json.dumps(_doc_with(evidence={"route": "direct\x00"})).encode()),
    ("NUL in network", json.dumps(document(ORGS[0], [result()], network="lan\x00")).encode()),
    ("NUL in a key", json.dumps(_doc_with(timings_ms={"dns\x00": 1.0})).encode()),
    ("escaped backslash then u0000", json.dumps(_doc_with(target="a\\u0000b")).encode()),
    ("raw NUL byte", _raw(_doc_with(target="XX"), "XX", "X\x00X")),
    ("lone high surrogate", _raw(_doc_with(target="XX"), "XX", "\\ud800")),
    ("lone low surrogate", _raw(_doc_with(target="XX"), "XX", "\\udc00x")),
    ("surrogate in a key", _raw(_doc_with(timings_ms={"XX": 1.0}), "XX", "\\ud800")),
    ("UTF-8 encoded surrogate", _raw(_doc_with(target="XX"), "XX", "YY").replace(
        b"YY", b"\xed\xb2\xbf")),
    ("invalid UTF-8", _raw(_doc_with(target="XX"), "XX", "YY").replace(b"YY", b"\xff\xfe")),
    ("huge float", _raw(_doc_with(timings_ms={"dns": 1.5}), "1.5", "1e400")),
    ("huge negative float", _raw(_doc_with(timings_ms={"dns": 1.5}), "1.5", "-1e400")),
    ("huge integer", _raw(_doc_with(timings_ms={"dns": 1.5}), "1.5", "9" * 5000)),
    ("huge integer in evidence", json.dumps(_doc_with(
        evidence={"http_status": 10**40})).encode()),
    ("NaN", _raw(_doc_with(timings_ms={"dns": 1.5}), "1.5", "NaN")),
    ("Infinity", _raw(_doc_with(timings_ms={"dns": 1.5}), "1.5", "Infinity")),
    ("deep nesting in evidence", _raw(_doc_with(evidence={"route": "XX"}), '"XX"',
                                      _nested(5000))),
    ("deep nesting as the body", _nested(100_000).encode()),
    ("deep object nesting", ('{"a":' * 5000 + "1" + "}" * 5000).encode()),
    ("IPv6 literal unterminated", json.dumps(_doc_with(url="http://[")).encode()),
    ("IPv6 literal bad", json.dumps(_doc_with(url="http://[::1%zz]/")).encode()),
    ("IPv6 zone", json.dumps(_doc_with(url="http://[fe80::1%25eth0]/")).encode()),
    ("percent-encoded host", json.dumps(_doc_with(url="http://%E2%98%83.test/%zz")).encode()),
    ("long url", json.dumps(_doc_with(url="https://x.test/" + "a" * 100_000)).encode()),
    ("long target", json.dumps(_doc_with(target="t" * 100_000)).encode()),
    ("empty body", b""),
    ("not json", b"\x00\x01\x02"),
    ("BOM", b"\xef\xbb\xbf" + json.dumps(_doc_with()).encode()),
    ("duplicate keys", b'{"schema":"access-probe/check/1","schema":1}'),
    ("timestamp year 0", json.dumps({**_doc_with(), "started_at": "0000-01-01T00:00:00Z"}
                                    ).encode()),
    ("timestamp year 99999", json.dumps({**_doc_with(), "finished_at": "99999-01-01T00:00:00Z"}
                                        ).encode()),
    ("measured_at far future", json.dumps(_doc_with(measured_at="9999-12-31T23:59:59Z")
                                          ).encode()),
    ("measured_at far past", json.dumps(_doc_with(measured_at="0001-01-01T00:00:00Z")
                                        ).encode()),
    ("offset timestamp", json.dumps(_doc_with(measured_at="2026-01-01T00:00:00+14:00")
                                    ).encode()),
]
CONTROL_BODIES: list[tuple[str, bytes]] = [
    ("unterminated IPv6", b'{"urls": ["http://["]}'),
    ("IPv6 junk", b'{"urls": ["http://[::1", "http://[x]/", "http://]/", "http://[::1]:x/"]}'),
    ("NUL", b'{"urls": ["http://a\\u0000.test/"]}'),
    ("surrogate", b'{"urls": ["http://\\ud800.test/"]}'),
    ("percent", b'{"urls": ["http://%zz/", "http://%00/", "http://%C0%AF/", "http://a%2Eb/"]}'),
    ("huge port", b'{"urls": ["http://x.test:99999999999999999999/"]}'),
    ("deep", b'{"urls": ' + _nested(50_000).encode() + b"}"),
    ("huge number", b'{"urls": [1e400]}'),
]
QUERIES = ["org=%00", "org=a%00b", "group_by=%00", "service=%ED%A0%80", "service=%zz",
           "service=%", "service=%C0%AF", "since=%00", "since=99999-01-01", "since=0000-01-01",
           "until=2026-02-30", "hour=99999999999999999999", "hour=-1", "day=%00",
           "day=0001-01-01", "group_by=" + ",".join(["service"] * 1000),
           "service=" + ",".join(["x"] * 10_000), "raw=1&org=%00", "vendor=" + "%FF" * 1000,
           "a" * 8000, "&&&==&=", "org[]=x", "org=x&org=y&org=%00", "hour=%C2%B2",
           "hour=%D9%A3", "hour=%EF%BC%91", "hour=1%E2%81%B0"]


@pytest.mark.parametrize("name,body", BODIES, ids=[n for n, _ in BODIES])
def test_nasty_submissions_never_5xx(target: Target, name: str, body: bytes) -> None:
    answer = httpx.post(f"{target.url}/api/v1/submissions", content=body, timeout=60,
                        headers={**auth(target.tokens["org"]),
                                 "Content-Type": "application/json"})
    assert answer.status_code < 500, (name, answer.text[:300])
    if answer.status_code != 200:
        assert answer.json()["detail"], name


def test_nul_in_target_is_refused_with_a_reason(target: Target) -> None:
    body = json.dumps(_doc_with(target="face\x00book")).encode()
    answer = httpx.post(f"{target.url}/api/v1/submissions", content=body, timeout=60,
                        headers=auth(target.tokens["org"]))
    assert answer.status_code == 422 and "NUL" in answer.json()["detail"], answer.text


@pytest.mark.parametrize("name,body", CONTROL_BODIES, ids=[n for n, _ in CONTROL_BODIES])
def test_nasty_control_never_5xx(target: Target, name: str, body: bytes) -> None:
    answer = httpx.post(f"{target.url}/api/v1/control", content=body, timeout=60,
                        headers=auth(target.tokens["org"]))
    assert answer.status_code < 500, (name, answer.text[:300])


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("path", ["/api/v1/aggregate", "/api/v1/export.csv", "/"])
def test_nasty_queries_never_5xx(target: Target, path: str, query: str) -> None:
    for who in ("admin", "org"):
        answer = httpx.get(f"{target.url}{path}?{query}", timeout=60,
                           headers=auth(target.tokens[who]))
        assert answer.status_code < 500, (path, query, answer.text[:300])
        answer.read()
