"""No input makes the collector answer 5xx: generated bodies, and valid documents with one
part replaced by arbitrary JSON (hypothesis, bounded)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access_probe.engine.netenv import NetEnv
from tests.collector.conftest import Collector, auth, document, result
from tests.servers import DNSServer

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=4),
    max_leaves=20)
PATHS = [("schema",), ("started_at",), ("finished_at",), ("context",), ("context", "org"),
         ("context", "network"), ("context", "asn"), ("results",), ("results", 0),
         ("results", 0, "id"), ("results", 0, "status"), ("results", 0, "url"),
         ("results", 0, "blocking"), ("results", 0, "blocking", "method"),
         ("results", 0, "timings_ms"), ("results", 0, "evidence"), ("results", 0, "control")]
FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def replaced(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy: Any = json.loads(json.dumps(doc))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy  # type: ignore[no-any-return]


@FUZZ
@given(path=st.sampled_from(PATHS), value=JSON)
def test_one_part_replaced_never_5xx(make_collector: Callable[..., Collector],
                                      path: tuple[Any, ...], value: Any) -> None:
    collector = fuzz_collector(make_collector)
    org = "E07000223"
    doc = replaced(document(org, [result("blocked")]), path, value)
    answer = collector.submit(collector.token(org), doc)
    assert answer.status_code < 500, (path, value, answer.text)
    assert answer.status_code in (200, 403, 413, 422), answer.text
    if answer.status_code != 200:
        assert answer.json().get("detail"), answer.text  # a reason, always


@FUZZ
@given(body=JSON)
def test_arbitrary_body_never_5xx(make_collector: Callable[..., Collector], body: Any) -> None:
    collector = fuzz_collector(make_collector)
    answer = collector.http.post("/api/v1/submissions", json=body,
                                 headers=auth(collector.token("E07000223")))
    assert answer.status_code in (403, 413, 422), (body, answer.text)


_collectors: dict[int, Collector] = {}


def fuzz_collector(make: Callable[..., Collector]) -> Collector:
    """One collector per test (hypothesis calls the test body many times); rate limits off,
    since they would answer 429 before validation is reached."""
    key = id(make)
    if key not in _collectors:
        _collectors.clear()
        _collectors[key] = make(submit_per_minute=1e9)
    return _collectors[key]


TRICKY_URLS = ["http://127.0.0.1/", "http://[::1]:8080/", "https://169.254.169.254/latest/",
               "ftp://x.test/", "http://user:pw@x.test:99999/", "http://0/", "http://[fe80::1%25eth0]/",
               "https://x.test:0/", "http://%00.test/", "https://" + "a" * 300 + ".test/"]
URLS = st.lists(st.one_of(
    st.text(max_size=30),
    st.sampled_from(TRICKY_URLS),
    st.builds(lambda host, path: f"https://{host}.test/{path}",
              st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True), st.text(max_size=10))),
    max_size=5)


@FUZZ
@given(urls=URLS)
def test_control_never_5xx_and_never_leaves_the_lab(make_collector: Callable[..., Collector],
                                                    empty_dns: DNSServer,
                                                    urls: list[str]) -> None:
    """Whatever the list, the answer is a 4xx or one entry per URL, each refused or
    measured; the test's network guard fails it if any lookup or connection left loopback."""
    collector = fuzz_control_collector(make_collector, empty_dns)
    answer = collector.http.post("/api/v1/control", json={"urls": urls},
                                 headers=auth(collector.token("E07000223")))
    assert answer.status_code in (200, 413, 422), (urls, answer.text)
    if answer.status_code == 200:
        for entry in answer.json()["results"]:
            assert "refused" in entry or entry.get("status") in (
                "accessible", "unreachable", "inconclusive"), entry


@pytest.fixture(scope="module")
def empty_dns() -> Iterator[DNSServer]:
    """A loopback nameserver that knows no names: nothing generated here resolves beyond the
    machine."""
    with DNSServer({}) as server:
        yield server


def fuzz_control_collector(make: Callable[..., Collector], dns: DNSServer) -> Collector:
    key = -id(make)
    if key not in _collectors:
        _collectors.clear()
        env = NetEnv(resolver=dns.address, nameservers=(dns.address,), dns_port=dns.port)
        _collectors[key] = make(control_per_minute=1e9, netenv=env)
    return _collectors[key]
