"""The spool: durable, idempotent, bounded, with persisted backoff."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from access_probe.agent.anonymise import anonymise
from access_probe.agent.spool import Spool, SpoolLimits
from access_probe.schema import Status

from .docs import T0, document


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


def test_enqueue_is_idempotent_and_survives_reopen(tmp_path: Path) -> None:
    doc = anonymise(document(Status.BLOCKED, Status.ACCESSIBLE, Status.RESTRICTED))
    with Spool(tmp_path / "s.db") as spool:
        assert spool.enqueue(doc) == 3
        assert spool.enqueue(doc) == 0
        assert spool.pending() == 3
    with Spool(tmp_path / "s.db") as spool:
        batch = spool.next_batch()
        assert batch is not None
        assert [r["id"] for r in batch.results] == [r["id"] for r in doc["results"]]
        assert batch.document()["context"] == doc["context"]
        assert spool.acknowledge(batch.ids[:2]) == 2
        assert spool.pending() == 1


def test_batches_never_mix_contexts(spool: Spool) -> None:
    spool.enqueue(anonymise(document(Status.ACCESSIBLE, org="E07000223")))
    spool.enqueue(anonymise(document(Status.ACCESSIBLE, org="E06000001")))
    first = spool.next_batch()
    assert first is not None and first.context["org"] == "E07000223"
    spool.acknowledge(first.ids)
    second = spool.next_batch()
    assert second is not None and second.context["org"] == "E06000001"


def test_status_reports_pending_and_oldest(tmp_path: Path) -> None:
    clock = Clock()
    with Spool(tmp_path / "s.db", clock=clock) as spool:
        assert spool.status().to_json()["pending"] == 0
        assert spool.status().to_json()["oldest"] is None
        spool.enqueue(anonymise(document(Status.ACCESSIBLE)))
        clock.now = T0 + timedelta(hours=1)
        spool.enqueue(anonymise(document(Status.BLOCKED)))
        status = spool.status().to_json()
        assert status["pending"] == 2
        assert status["oldest"] == "2026-11-24T09:00:00Z"


def test_size_bound_drops_oldest_and_says_so(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    limits = SpoolLimits(max_results=5, max_age_days=30)
    docs = [anonymise(document(Status.ACCESSIBLE, Status.BLOCKED)) for _ in range(4)]
    with Spool(tmp_path / "s.db", limits=limits) as spool, caplog.at_level(logging.WARNING):
        for doc in docs:
            spool.enqueue(doc)
        assert spool.pending() == 5
        kept = spool.ids()
    newest = {r["id"] for d in docs[1:] for r in d["results"]}
    assert kept <= newest and len(kept) == 5
    assert docs[0]["results"][0]["id"] not in kept
    assert "dropped the 1 oldest" in caplog.text and "max_results=5" in caplog.text


def test_age_bound_drops_stale_results(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    with Spool(tmp_path / "s.db", clock=clock, limits=SpoolLimits(max_age_days=7)) as spool:
        spool.enqueue(anonymise(document(Status.ACCESSIBLE, Status.BLOCKED)))
        clock.now = T0 + timedelta(days=6)
        fresh = anonymise(document(Status.BLOCKED))
        spool.enqueue(fresh)
        clock.now = T0 + timedelta(days=7, hours=1)
        with caplog.at_level(logging.WARNING):
            assert spool.prune() == 2
        assert spool.ids() == {fresh["results"][0]["id"]}
    assert "older than 7 days" in caplog.text


def test_backoff_state_persists(tmp_path: Path) -> None:
    clock = Clock()
    with Spool(tmp_path / "s.db", clock=clock) as spool:
        spool.record_failure(timedelta(minutes=5))
        spool.record_failure(timedelta(minutes=9))
    with Spool(tmp_path / "s.db", clock=clock) as spool:
        assert spool.attempts() == 2
        assert spool.next_attempt() == T0 + timedelta(minutes=9)
        spool.record_success()
        assert spool.attempts() == 0 and spool.next_attempt() is None


def test_rejected_rows_are_kept_but_not_offered(spool: Spool) -> None:
    doc = anonymise(document(Status.ACCESSIBLE, Status.BLOCKED))
    spool.enqueue(doc)
    spool.reject([doc["results"][0]["id"]], "HTTP 422: bad")
    assert spool.pending() == 1 and spool.status().rejected == 1
    batch = spool.next_batch()
    assert batch is not None and batch.ids == (doc["results"][1]["id"],)
    assert spool.requeue_rejected() == 1 and spool.pending() == 2
