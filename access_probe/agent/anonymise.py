"""The only path from a check document to the spool: an allow-list, never a deny-list.

`anonymise(doc)` builds the contract's document (schema "access-probe/check/1") by copying
named fields one by one; a field added to `schema.Result` later is dropped until someone adds
it here on purpose. Free-text fields that came from the network (a filter's category, a
certificate issuer, the verdict's reason) are re-checked and dropped when they look like they
carry an address, an e-mail address, a MAC, a user or machine name.
"""

from __future__ import annotations

import functools
import getpass
import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from access_probe.schema import (
    CHECK_SCHEMA,
    CheckDocument,
    Context,
    ControlUse,
    Result,
    Status,
    iso,
)

__all__ = ["anonymise", "anonymise_result", "clean_text", "clean_url"]

_MAX_TEXT = 160
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
_IPV4_RE = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6_RE = re.compile(r"(?i)(?<![0-9a-f:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![0-9a-f:])")
_MAC_RE = re.compile(r"(?i)\b(?:[0-9a-f]{2}[:-]){5}[0-9a-f]{2}\b")
_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
# Block pages greet the person ("User: jsmith", "logged in as", "Benutzer"): any text that
# talks about a user is treated as carrying one.
_USERISH_RE = re.compile(r"(?i)\b(user(name)?|users|login|logged|account|benutzer|hostname)\b")
_TIMING_KEYS = ("dns", "tcp", "tls", "http", "total")
_EVIDENCE_FAILURE_KEYS = ("dns", "tcp", "tls", "http")
_PAC_DECISIONS = ("DIRECT", "PROXY", "HTTPS", "SOCKS", "SOCKS5")


@functools.cache
def _local_identities() -> re.Pattern[str] | None:
    """Names that identify this machine or its user, as whole words; none may leave."""
    names: set[str] = set()
    for getter in (getpass.getuser, socket.gethostname):  # getfqdn would ask DNS
        try:
            value = getter()
        except (OSError, KeyError):  # getuser raises KeyError/OSError without a passwd entry
            continue
        names.update({value.lower(), value.split(".")[0].lower()})
    names -= {"", "localhost", "root"}
    if not names:
        return None
    words = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?i)(?<![a-z0-9])(?:{words})(?![a-z0-9])")


def clean_text(text: object, *, max_len: int = _MAX_TEXT) -> str | None:
    """The text if it is short plain prose with nothing identifying in it, else None."""
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    if not text or len(text) > max_len or not text.isprintable():
        return None
    for pattern in (_IPV4_RE, _IPV6_RE, _MAC_RE, _EMAIL_RE, _USERISH_RE):
        if pattern.search(text):
            return None
    identities = _local_identities()
    if identities is not None and identities.search(text):
        return None
    return text


def clean_id(value: object) -> str | None:
    """A catalogue or fingerprint identifier, or None when it is anything else."""
    if isinstance(value, str) and _ID_RE.match(value) and clean_text(value) is not None:
        return value
    return None


def clean_url(url: str) -> str:
    """scheme://host[:port]/path: no userinfo, query or fragment, no private address literal."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not host:
        return ""
    try:
        if not ipaddress.ip_address(host).is_global:
            host = "address.invalid"
    except ValueError:
        pass
    netloc = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}[parts.scheme]
    if port is not None and port != default:
        netloc += f":{port}"
    path = parts.path or "/"
    return urlunsplit((parts.scheme, netloc.lower(), path, "", ""))


def _blocking(result: Result) -> dict[str, Any] | None:
    if result.blocking is None:
        return None
    return {
        "layer": str(result.blocking.layer),
        "method": str(result.blocking.method),
        "vendor": clean_id(result.blocking.vendor),
        "category": clean_text(result.blocking.category, max_len=80),
    }


def _interception(result: Result) -> dict[str, Any] | None:
    if result.interception is None:
        return None
    issuer = clean_text(result.interception.issuer, max_len=120)
    return {"issuer": issuer or "unnamed"}


def _evidence(result: Result) -> dict[str, Any] | None:
    ev = result.evidence
    if ev is None:
        return None
    doc: dict[str, Any] = {"route": "proxy" if ev.route == "proxy" else "direct"}
    doc["pac"] = ev.pac if ev.pac in _PAC_DECISIONS else None  # never the proxy's address
    for key in _EVIDENCE_FAILURE_KEYS:
        value = getattr(ev, key)
        doc[key] = clean_id(str(value) if value is not None else None)
    doc["http_status"] = ev.http_status if isinstance(ev.http_status, int) else None
    doc["proxy_status"] = ev.proxy_status if isinstance(ev.proxy_status, int) else None
    doc["fingerprints"] = [f for f in (clean_id(x) for x in ev.fingerprints) if f]
    doc["reason"] = clean_text(ev.reason, max_len=300) or ""
    if ev.control is not None:  # absent rather than null when a result never recorded it
        doc["control"] = str(ControlUse(ev.control))
    return doc


def _control(result: Result) -> dict[str, Any] | None:
    if not result.control:
        return None
    status = result.control.get("status")
    return {"status": status if status in {s.value for s in Status} else None}


def _timings(result: Result) -> dict[str, float]:
    return {
        k: round(float(v), 1)
        for k, v in result.timings_ms.items()
        if k in _TIMING_KEYS and isinstance(v, int | float)
    }


def anonymise_result(result: Result) -> dict[str, Any]:
    """One result as the collector may see it."""
    target = result.target
    target = clean_url(target) if "://" in target else (clean_id(target) or "adhoc")
    doc: dict[str, Any] = {
        "id": result.id,
        "target": target,
        "url": clean_url(result.url),
        "service": clean_id(result.service),
        "category": clean_id(result.category),
        "status": str(Status(result.status)),
        "blocking": _blocking(result),
        "interception": _interception(result),
        "timings_ms": _timings(result),
        "control": _control(result),
        "evidence": _evidence(result),
    }
    if result.measured_at is not None:
        doc["measured_at"] = iso(result.measured_at)
    return doc


def anonymise_context(context: Context) -> dict[str, Any]:
    return {
        "org": clean_id(context.org),
        "network": clean_text(context.network, max_len=64),
        "asn": context.asn if isinstance(context.asn, int) else None,
    }


def anonymise(doc: CheckDocument) -> dict[str, Any]:
    """The contract's check document with only allow-listed, re-checked fields."""
    out: dict[str, Any] = {
        "schema": CHECK_SCHEMA,
        "started_at": iso(doc.started_at),
        "finished_at": iso(doc.finished_at),
        "context": anonymise_context(doc.context),
        "results": [anonymise_result(r) for r in doc.results],
    }
    agent = clean_id(doc.agent)
    if agent:
        out["agent"] = agent
    return out
