"""The control vantage point, both sides of `POST /api/v1/control` (contract section 4).

`control_to_json()` is the wire form of what the collector answers for one URL it measured from
outside with the same engine (`verdict.summarise` of `measure.measure`); `fetch_controls()` is
the agent's client, turning those answers back into `model.Control` records
(`control_from_json`) for `verdict.decide()`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from access_probe.model import Control, ControlHTTP, ControlStatus, Failure
from access_probe.schema import failure_named

log = logging.getLogger(__name__)

BATCH = 100  # URLs per control request: the collector accepts up to 100 (one request per catalogue)


def control_to_json(c: Control) -> dict[str, Any]:
    """The contract's per-URL control answer for a `verdict.summarise` record."""
    if c.refused is not None:
        return {"url": c.url, "refused": c.refused}
    http = c.http or ControlHTTP()
    return {
        "url": c.url,
        "status": str(c.status) if c.status is not None else None,
        "dns": {
            "failure": _name(c.dns_failure),
            "rcode": c.dns_rcode,
            "addresses": list(c.dns_addresses),
        },
        "tcp": {"failure": _name(c.tcp_failure)},
        "tls": {"failure": _name(c.tls_failure), "issuer": c.tls_issuer}
        if urlsplit(c.url).scheme.lower() == "https"
        else None,
        "http": {
            "status": http.status,
            "title": http.title,
            "body_length": http.body_length,
            "failure": _name(http.failure),
            "server": http.server,
        },
    }


def control_from_json(doc: dict[str, Any]) -> Control:
    """One entry of the collector's answer; tolerant of missing parts (older collectors) and
    of failure names this agent does not know (`Failure.UNKNOWN`)."""
    url = str(doc.get("url", ""))
    if doc.get("refused"):
        return Control(url=url, refused=str(doc["refused"]))

    def part(name: str) -> dict[str, Any]:
        value = doc.get(name)
        return value if isinstance(value, dict) else {}

    http = part("http")
    status = doc.get("status")
    known = status if isinstance(status, str) and status in _STATUSES else None
    return Control(
        url=url,
        status=ControlStatus(known) if known else None,
        error=None if status else "no status in control answer",
        dns_failure=failure_named(part("dns").get("failure")),
        dns_rcode=_str_or_none(part("dns").get("rcode")),
        dns_addresses=tuple(str(a) for a in part("dns").get("addresses") or ()),
        tcp_failure=failure_named(part("tcp").get("failure")),
        tls_failure=failure_named(part("tls").get("failure")),
        tls_issuer=_str_or_none(part("tls").get("issuer")),
        http=ControlHTTP(
            status=_int_or_none(http.get("status")),
            title=_str_or_none(http.get("title")),
            body_length=_int_or_none(http.get("body_length")),
            failure=failure_named(http.get("failure")),
            server=_str_or_none(http.get("server")),
        )
        if http
        else None,
    )


_STATUSES = frozenset(s.value for s in ControlStatus)


def _name(failure: Failure | None) -> str | None:
    return str(failure) if failure is not None else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fetch_controls(urls: Sequence[str], *, url: str, token: str | None,
                   timeout: float | tuple[float, float],
                   proxy: str | None = None, user_agent: str | None = None) -> dict[str, Control]:
    """Ask the collector to measure `urls` from outside. Never raises for network conditions:
    a URL whose control could not be had maps to a Control with `error` set."""
    import requests

    from access_probe import USER_AGENT

    endpoint = url.rstrip("/") + "/api/v1/control"
    headers = {"User-Agent": user_agent or USER_AGENT}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    results: dict[str, Control] = {}
    with requests.Session() as session:
        session.trust_env = False  # the proxy is decided by netenv, passed in explicitly
        proxies = {"http": proxy, "https": proxy} if proxy else {}
        for start in range(0, len(urls), BATCH):
            batch = list(urls[start : start + BATCH])
            try:
                response = session.post(endpoint, json={"urls": batch}, headers=headers,
                                        timeout=timeout, proxies=proxies)
                response.raise_for_status()
                answers = response.json().get("results", [])
            except (requests.RequestException, ValueError, AttributeError) as exc:
                reason = failure_reason(exc)
                log.info("control request failed: %s", reason)
                results.update({u: Control(url=u, error=reason) for u in batch})
                continue
            for answer in answers:
                if isinstance(answer, dict) and answer.get("url") in batch:
                    results[answer["url"]] = control_from_json(answer)
            for u in batch:
                results.setdefault(u, Control(url=u, error="missing from control answer"))
    return results


def failure_reason(exc: Exception) -> str:
    """Why the control could not be asked, in words a person can act on (never the
    exception's text, which names addresses)."""
    import requests

    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(exc, requests.HTTPError) and isinstance(status, int):
        if status == 401:
            return "the collector refused the token (HTTP 401): check collector.token"
        if status == 403:
            return "the collector refused this token or organisation (HTTP 403): " \
                   "check collector.token and org"
        if status == 404:
            return "there is no control endpoint at control.url (HTTP 404)"
        if status == 429:
            return "the collector is rate-limiting this agent (HTTP 429)"
        return f"the collector answered HTTP {status}"
    if isinstance(exc, requests.Timeout):
        return "the control request timed out"
    if isinstance(exc, requests.ConnectionError):
        return "the control service could not be reached: check control.url and the proxy"
    if isinstance(exc, ValueError | AttributeError):
        return "the control's answer could not be read"
    return f"the control request failed ({type(exc).__name__})"
