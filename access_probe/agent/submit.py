"""Deliver spooled results to the collector: batches, idempotent ids, backoff with full jitter.

Outcomes of one POST /api/v1/submissions (interface.md section 4):
- 200 whose accepted + duplicates covers the batch: delete the batch from the spool;
- 429, 5xx, a network failure or a short acknowledgement: keep everything, wait
  `backoff_delay` (persisted in the spool, so a restarted agent waits too; Retry-After wins
  when the collector sends one);
- 400/409/413/422: the data is the problem: halve the batch until the bad result is alone,
  then mark it rejected with the collector's reason (kept, counted, not retried);
- any other 4xx (401, 403, 404, ...): the agent's configuration is the problem (token, org,
  URL): keep everything and wait the longest backoff; the log says what to fix.
"""

from __future__ import annotations

import logging
import random
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from access_probe import USER_AGENT
from access_probe.agent.spool import MAX_BATCH, Batch, Spool

__all__ = ["FlushReport", "Outcome", "SubmitResult", "Submitter", "backoff_delay", "flush"]

log = logging.getLogger(__name__)

SUBMIT_PATH = "/api/v1/submissions"
BACKOFF_BASE = 30.0  # seconds
BACKOFF_CAP = 3600.0
DATA_PROBLEMS = frozenset({400, 409, 413, 422})
MAX_BATCHES_PER_FLUSH = 400


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: try the same batch later
    BAD_DATA = "bad-data"  # the collector refuses this content
    BAD_CONFIG = "bad-config"  # the collector refuses this agent (token, org, URL)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResult:
    outcome: Outcome
    status: int | None = None
    accepted: int = 0
    duplicates: int = 0
    reason: str = ""
    retry_after: float | None = None  # seconds, when the collector said


@dataclass(frozen=True, slots=True, kw_only=True)
class FlushReport:
    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    deferred: bool = False  # not tried: the persisted backoff has not expired
    error: str | None = None  # why the flush stopped early

    @property
    def ok(self) -> bool:
        return self.error is None and not self.deferred


def backoff_delay(attempts: int, *, rng: random.Random | None = None,
                  base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> timedelta:
    """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempts)], so
    a council's agents coming back together do not retry in step."""
    ceiling = min(cap, base * 2 ** min(attempts, 32))
    return timedelta(seconds=(rng or random.Random()).uniform(0, ceiling))


class _ContextAdapter(HTTPAdapter):
    """Verifies the collector with the given SSL context (the OS trust store, so a council's
    inspection proxy in the way is trusted the way the browser trusts it)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from access_probe.schema import utc_now

        return max(0.0, (parsedate_to_datetime(value) - utc_now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _reason(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") if isinstance(body, dict) else None
    status = f"HTTP {response.status_code}"
    return f"{status}: {detail}"[:200] if detail else status


class Submitter:
    """Posts check documents to one collector. The proxy is passed in (netenv decides it);
    the environment is never consulted (`trust_env=False`)."""

    def __init__(self, url: str, token: str | None, *, proxy: str | None = None,
                 ssl_context: ssl.SSLContext | None = None,
                 timeout: tuple[float, float] = (10.0, 60.0)) -> None:
        self.endpoint = url.rstrip("/") + SUBMIT_PATH
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["User-Agent"] = USER_AGENT
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if proxy:
            self.session.proxies = {"http": proxy, "https": proxy}
        if ssl_context is not None:
            self.session.mount("https://", _ContextAdapter(ssl_context))

    def close(self) -> None:
        self.session.close()

    def post(self, document: dict[str, Any]) -> SubmitResult:
        try:
            response = self.session.post(self.endpoint, json=document, timeout=self.timeout)
        except requests.RequestException as exc:
            return SubmitResult(outcome=Outcome.RETRY, reason=type(exc).__name__)
        with response:
            return self._judge(response, expected=len(document.get("results") or ()))

    @staticmethod
    def _judge(response: requests.Response, *, expected: int) -> SubmitResult:
        status = response.status_code
        if status == 200:
            try:
                body = response.json()
                accepted, duplicates = int(body["accepted"]), int(body["duplicates"])
            except (ValueError, KeyError, TypeError):
                return SubmitResult(outcome=Outcome.RETRY, status=status,
                                    reason="unreadable acknowledgement")
            covered = accepted + duplicates >= expected
            return SubmitResult(outcome=Outcome.DELIVERED if covered else Outcome.RETRY,
                                status=status, accepted=accepted, duplicates=duplicates,
                                reason="" if covered else f"acknowledged {accepted + duplicates}"
                                f" of {expected}")
        if status == 429 or status >= 500 or status < 200 or 300 <= status < 400:
            return SubmitResult(outcome=Outcome.RETRY, status=status, reason=f"HTTP {status}",
                                retry_after=_retry_after(response))
        outcome = Outcome.BAD_DATA if status in DATA_PROBLEMS else Outcome.BAD_CONFIG
        return SubmitResult(outcome=outcome, status=status, reason=_reason(response))


@dataclass(slots=True)
class _Tally:
    delivered: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0


def _send(batch: Batch, submitter: Submitter, spool: Spool, tally: _Tally) -> SubmitResult:
    """Send one batch, splitting it while the collector objects to its content."""
    result = submitter.post(batch.document())
    tally.batches += 1
    if result.outcome is Outcome.DELIVERED:
        spool.acknowledge(batch.ids)
        tally.delivered += result.accepted
        tally.duplicates += result.duplicates
    elif result.outcome is Outcome.BAD_DATA and len(batch.results) > 1:
        for half in batch.split():
            sub = _send(half, submitter, spool, tally)
            if sub.outcome in (Outcome.RETRY, Outcome.BAD_CONFIG):
                return sub
        return SubmitResult(outcome=Outcome.DELIVERED)
    elif result.outcome is Outcome.BAD_DATA:
        log.warning("collector rejected result %s: %s; it stays in the spool, marked rejected",
                    batch.ids[0], result.reason)
        spool.reject(batch.ids, result.reason)
        tally.rejected += 1
    return result


def _defer(spool: Spool, result: SubmitResult, rng: random.Random | None) -> None:
    if result.outcome is Outcome.BAD_CONFIG:
        delay = timedelta(seconds=BACKOFF_CAP)
        log.error("collector refused this agent (%s): check collector.url, collector.token"
                  " and org; results stay in the spool", result.reason)
    else:
        delay = backoff_delay(spool.attempts(), rng=rng)
        if result.retry_after is not None:
            delay = max(delay, timedelta(seconds=min(result.retry_after, BACKOFF_CAP)))
    when = spool.record_failure(delay)
    log.info("submission failed (%s); next attempt after %s", result.reason or result.outcome,
             when.isoformat(timespec="seconds"))


def flush(spool: Spool, submitter: Submitter, *, force: bool = False,
          rng: random.Random | None = None,
          max_batches: int = MAX_BATCHES_PER_FLUSH, batch_size: int = MAX_BATCH) -> FlushReport:
    """Send pending results until the spool is empty or the collector says wait.

    Respects the persisted backoff unless `force` (a person asked: `spool flush`)."""
    due = spool.next_attempt()
    if not force and due is not None and spool.clock() < due and spool.pending():
        return FlushReport(deferred=True)
    tally = _Tally()
    error: str | None = None
    while tally.batches < max_batches:
        batch = spool.next_batch(batch_size)
        if batch is None:
            break
        result = _send(batch, submitter, spool, tally)
        if result.outcome in (Outcome.RETRY, Outcome.BAD_CONFIG):
            _defer(spool, result, rng)
            error = result.reason or str(result.outcome)
            break
        spool.record_success()
    if tally.delivered or tally.duplicates:
        log.info("submitted %d results (%d already stored) in %d batches",
                 tally.delivered, tally.duplicates, tally.batches)
    return FlushReport(delivered=tally.delivered, duplicates=tally.duplicates,
                       rejected=tally.rejected, batches=tally.batches, error=error)
