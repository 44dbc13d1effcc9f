"""Submission to a real HTTP collector on loopback: batching, acknowledgement, backoff."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest

from access_probe.agent.anonymise import anonymise
from access_probe.agent.spool import Spool
from access_probe.agent.submit import Submitter, backoff_delay, flush
from access_probe.schema import Status

from .docs import document
from .stub_collector import TOKEN, StubCollector


def fill(spool: Spool, n_docs: int, per_doc: int = 3) -> set[str]:
    ids: set[str] = set()
    for _ in range(n_docs):
        doc = anonymise(document(*[Status.BLOCKED] * per_doc))
        spool.enqueue(doc)
        ids |= {r["id"] for r in doc["results"]}
    return ids


def test_flush_delivers_in_batches_and_empties_spool(spool: Spool,
                                                     collector: StubCollector) -> None:
    ids = fill(spool, 400)  # 1200 results: three batches of at most 500
    report = flush(spool, Submitter(collector.url, TOKEN))
    assert report.ok and report.delivered == 1200 and report.batches == 3
    assert set(collector.stored) == ids
    assert spool.pending() == 0
    assert all(count == 1 for count in collector.deliveries.values())


def test_collector_down_keeps_everything_and_backs_off(spool: Spool,
                                                       collector: StubCollector) -> None:
    ids = fill(spool, 2)
    collector.mode = "down"
    submitter = Submitter(collector.url, TOKEN)
    report = flush(spool, submitter, rng=random.Random(3))
    assert report.error == "the collector failed (HTTP 503); it is retried later"
    assert spool.pending() == len(ids) and spool.status().last_error == report.error
    assert spool.attempts() == 1 and spool.next_attempt() is not None
    requests_before = collector.requests
    deferred = flush(spool, submitter)
    assert deferred.deferred and deferred.error == report.error  # the backoff is respected
    assert collector.requests == requests_before
    collector.mode = "up"
    assert flush(spool, submitter, force=True).delivered == len(ids)
    assert spool.pending() == 0 and spool.attempts() == 0 and spool.last_error() is None


def test_unreachable_collector_is_a_retry_not_an_exception(
        spool: Spool, caplog: pytest.LogCaptureFixture) -> None:
    fill(spool, 1)
    stub = StubCollector()  # bound but never started: connections are refused
    url = stub.url
    stub.server.server_close()
    caplog.set_level(logging.WARNING, logger="access_probe")
    report = flush(spool, Submitter(url, TOKEN, timeout=(2, 2)), force=True)
    assert report.error is not None and spool.pending() == 3
    assert report.error.startswith("could not connect to the collector: check collector.url")
    assert not report.refused
    # Logged at the default level once; the same failure again only at INFO.
    assert caplog.text.count("could not deliver results: could not connect") == 1
    flush(spool, Submitter(url, TOKEN, timeout=(2, 2)), force=True)
    assert caplog.text.count("could not deliver results: could not connect") == 1


def test_retry_after_is_honoured(spool: Spool, collector: StubCollector) -> None:
    fill(spool, 1)
    collector.mode = "ratelimit"
    flush(spool, Submitter(collector.url, TOKEN), rng=random.Random(0))
    due = spool.next_attempt()
    assert due is not None and due - spool.clock() >= timedelta(seconds=119)


def test_bad_result_is_isolated_and_rejected(spool: Spool, collector: StubCollector) -> None:
    ids = fill(spool, 5)
    bad = sorted(ids)[4]
    collector.reject_ids = {bad}
    report = flush(spool, Submitter(collector.url, TOKEN))
    assert report.rejected == 1
    assert set(collector.stored) == ids - {bad}
    assert spool.pending() == 0 and spool.status().rejected == 1


def test_wrong_token_keeps_results_and_waits_long(spool: Spool, collector: StubCollector,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    fill(spool, 1)
    report = flush(spool, Submitter(collector.url, "wrong"))
    assert report.error and "401" in report.error and "collector.token" in report.error
    assert report.refused and report.error_status == 401
    assert spool.pending() == 3 and spool.status().rejected == 0
    due = spool.next_attempt()
    assert due is not None and due - spool.clock() >= timedelta(minutes=59)
    assert "collector.token" in caplog.text


def test_backoff_full_jitter_bounds() -> None:
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(3600, 30 * 2**attempt)
        delays = [backoff_delay(attempt, rng=rng).total_seconds() for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not clustered
