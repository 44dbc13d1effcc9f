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

__all__ = ["FlushReport", "Outcome", "SubmitResult", "Submitter", "backoff_delay",
           "describe_error", "flush", "plain_error"]

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
    error: str | None = None  # why the flush stopped early, in plain words
    error_status: int | None = None  # the collector's HTTP status then, when it answered
    refused: bool = False  # the collector refused this agent (token, org, URL): 401/403/404

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


def _network_reason(exc: requests.RequestException) -> str:
    """What a person can act on, from the exception's type (never its text: it names
    addresses)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "network: the collector's TLS certificate was not trusted"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "network: the proxy refused or failed the connection to the collector"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "network: connecting to the collector timed out"
    if isinstance(exc, requests.exceptions.Timeout):
        return "network: the collector did not answer in time"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "network: could not connect to the collector"
    return f"network: {type(exc).__name__}"


REFUSED = "the collector refused"  # how a plain error about the token or org begins
_ADVICE = {
    401: "the collector refused the token (HTTP 401): check collector.token",
    403: "the collector refused this organisation for the token (HTTP 403): "
         "check org and collector.token",
    404: "the collector has no submissions endpoint there (HTTP 404): check collector.url",
    413: "the collector found a batch too large (HTTP 413)",
    429: "the collector asked the agent to slow down (HTTP 429); it retries later",
}


def plain_error(result: SubmitResult) -> str:
    """Why a submission failed, with what to check, in words for IT staff."""
    status = result.status
    if status is None:
        reason = result.reason.removeprefix("network: ")
        return (f"{reason}: check collector.url, the proxy setting and that this machine "
                "can reach the collector; results stay in the spool")
    if status in _ADVICE:
        text = _ADVICE[status]
    elif status >= 500:
        text = f"the collector failed (HTTP {status}); it is retried later"
    elif status == 200:
        text = f"the collector's acknowledgement was incomplete ({result.reason})"
    else:
        text = f"the collector answered HTTP {status}: check collector.url"
    detail = result.reason.split(": ", 1)[1] if ": " in result.reason else ""
    return f"{text} ({detail})" if detail and status != 200 else text


def describe_error(report: FlushReport) -> str:
    return report.error or "nothing went wrong"


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
            return SubmitResult(outcome=Outcome.RETRY, reason=_network_reason(exc))
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


def _defer(spool: Spool, result: SubmitResult, rng: random.Random | None) -> str:
    """Persist the backoff and the reason; returns the reason in plain words."""
    text = plain_error(result)
    previous = spool.last_error()
    if result.outcome is Outcome.BAD_CONFIG:
        delay = timedelta(seconds=BACKOFF_CAP)
        log.error("collector refused this agent (%s): check collector.url, collector.token"
                  " and org; results stay in the spool", result.reason)
    else:
        delay = backoff_delay(spool.attempts(), rng=rng)
        if result.retry_after is not None:
            delay = max(delay, timedelta(seconds=min(result.retry_after, BACKOFF_CAP)))
        # Said once per change at the default level (an unreachable collector is worth
        # knowing about), then quietly at each retry so a week offline is not 168 lines.
        log.log(logging.WARNING if text != previous else logging.INFO,
                "could not deliver results: %s", text)
    when = spool.record_failure(delay, text)
    log.info("submission failed (%s); next attempt after %s", result.reason or result.outcome,
             when.isoformat(timespec="seconds"))
    return text


def flush(spool: Spool, submitter: Submitter, *, force: bool = False,
          rng: random.Random | None = None,
          max_batches: int = MAX_BATCHES_PER_FLUSH, batch_size: int = MAX_BATCH) -> FlushReport:
    """Send pending results until the spool is empty or the collector says wait.

    Respects the persisted backoff unless `force` (a person asked: `spool flush`)."""
    due = spool.next_attempt()
    if not force and due is not None and spool.clock() < due and spool.pending():
        last = spool.last_error()
        return FlushReport(deferred=True, error=last,
                           refused=last is not None and last.startswith(REFUSED))
    tally = _Tally()
    error: str | None = None
    failed: SubmitResult | None = None
    while tally.batches < max_batches:
        batch = spool.next_batch(batch_size)
        if batch is None:
            break
        result = _send(batch, submitter, spool, tally)
        if result.outcome in (Outcome.RETRY, Outcome.BAD_CONFIG):
            error = _defer(spool, result, rng)
            failed = result
            break
        spool.record_success()
    if tally.delivered or tally.duplicates:
        log.info("submitted %d results (%d already stored) in %d batches",
                 tally.delivered, tally.duplicates, tally.batches)
    return FlushReport(delivered=tally.delivered, duplicates=tally.duplicates,
                       rejected=tally.rejected, batches=tally.batches, error=error,
                       error_status=failed.status if failed else None,
                       refused=error is not None and error.startswith(REFUSED))
