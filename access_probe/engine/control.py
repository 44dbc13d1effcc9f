"""The control vantage point, both sides of `POST /api/v1/control` (contract section 4).

`summarise()` is what the collector answers for one URL it measured from outside with the same
engine (`measure.measure`); `fetch_controls()` is the agent's client, turning those answers back
into `model.Control` records for `verdict.decide()`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from access_probe.model import Control, ControlHTTP, Measurement

log = logging.getLogger(__name__)

BATCH = 100  # URLs per control request: the collector accepts up to 100 (one request per catalogue)


def control_status(m: Measurement) -> str:
    """The control's own reading: accessible (an answer under 500 came back), unreachable
    (the site failed at some layer), inconclusive (the control could not tell)."""
    if m.refused:
        return "inconclusive"
    last = m.http[-1] if m.http else None
    if last is not None and last.failure is None and last.status is not None:
        return "accessible" if last.status < 500 else "unreachable"
    failed = (any(d.failure for d in m.dns[:1]) or any(t.failure for t in m.tcp)
              or any(t.failure for t in m.tls) or any(h.failure for h in m.http))
    return "unreachable" if failed else "inconclusive"


def summarise(m: Measurement) -> dict[str, Any]:
    """The contract's per-URL control answer. Site addresses are public facts about the site,
    not about anyone's network, so they may travel."""
    if m.refused:
        return {"url": m.url, "refused": m.refused}
    dns = m.dns[0] if m.dns else None
    tcp_ok = any(t.failure is None for t in m.tcp)
    tls_ok = next((t for t in m.tls if t.failure is None), None)
    last = m.http[-1] if m.http else None
    return {
        "url": m.url,
        "status": control_status(m),
        "dns": {
            "failure": str(dns.failure) if dns and dns.failure else None,
            "rcode": dns.rcode if dns else None,
            "addresses": list(dns.addresses) if dns else [],
        },
        "tcp": {"failure": None if tcp_ok or not m.tcp else str(m.tcp[-1].failure)},
        "tls": {
            "failure": None if tls_ok or not m.tls else str(m.tls[-1].failure),
            "issuer": tls_ok.issuer if tls_ok else None,
        }
        if m.scheme == "https"
        else None,
        "http": {
            "status": last.status if last else None,
            "title": last.title if last else None,
            "body_length": last.body_length if last else None,
            "failure": str(last.failure) if last and last.failure else None,
            "server": last.headers.get("server") if last else None,
        },
    }


def control_from_json(doc: dict[str, Any]) -> Control:
    """One entry of the collector's answer; tolerant of missing parts (older collectors)."""
    url = str(doc.get("url", ""))
    if doc.get("refused"):
        return Control(url=url, refused=str(doc["refused"]))

    def part(name: str) -> dict[str, Any]:
        value = doc.get(name)
        return value if isinstance(value, dict) else {}

    http = part("http")
    status = doc.get("status")
    return Control(
        url=url,
        status=str(status) if status in {"accessible", "unreachable", "inconclusive"} else None,
        error=None if status else "no status in control answer",
        dns_failure=part("dns").get("failure"),
        dns_addresses=tuple(str(a) for a in part("dns").get("addresses") or ()),
        tcp_failure=part("tcp").get("failure"),
        tls_failure=part("tls").get("failure"),
        http=ControlHTTP(
            status=_int_or_none(http.get("status")),
            title=http.get("title"),
            body_length=_int_or_none(http.get("body_length")),
            failure=http.get("failure"),
            server=http.get("server"),
        )
        if http
        else None,
    )


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
