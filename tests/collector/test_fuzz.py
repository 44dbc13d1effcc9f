"""No input makes the collector answer 5xx: generated bodies, and valid documents with one
part replaced by arbitrary JSON (hypothesis, bounded)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.collector.conftest import Collector, auth, document, result

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
