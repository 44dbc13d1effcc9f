"""The contract's documents (`shared/spec/interface.md`, section 2), shared by agent and collector.

Vocabulary enums (Status, Layer, Method, ControlUse) and the check document.

Extensions of `access-probe/check/1` (compatible: readers ignore what they do not know):
the document's top-level `warnings` (a list of plain sentences about missing evidence, such
as a control that was not configured or failed) and each result's `evidence.control`
(`used`, `not-configured` or `failed`). docs/agent.md ("Missing evidence") describes both.

These records are what crosses the JSON edge: `to_json()` gives the contract's shape,
`Result.from_json()` reads it back (the agent's spool reads its own files with it; the
collector validates submissions with its own stricter input models but uses these enums as
the single list of allowed values).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from access_probe.model import Failure, Route

CHECK_SCHEMA = "access-probe/check/1"


class Status(StrEnum):
    ACCESSIBLE = "accessible"
    BLOCKED = "blocked"
    RESTRICTED = "restricted"
    UNREACHABLE = "unreachable"
    OFFLINE = "offline"
    INCONCLUSIVE = "inconclusive"


class Layer(StrEnum):
    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    HTTP = "http"


class Method(StrEnum):
    DNS_NXDOMAIN = "dns-nxdomain"
    DNS_SINKHOLE = "dns-sinkhole"
    DNS_REFUSED = "dns-refused"
    DNS_SERVFAIL = "dns-servfail"
    DNS_TIMEOUT = "dns-timeout"
    DNS_NO_ANSWER = "dns-no-answer"
    TCP_RESET = "tcp-reset"
    TCP_TIMEOUT = "tcp-timeout"
    TCP_UNREACHABLE = "tcp-unreachable"
    TCP_REFUSED = "tcp-refused"
    TLS_RESET = "tls-reset"
    TLS_TIMEOUT = "tls-timeout"
    TLS_FAILURE = "tls-failure"
    HTTP_BLOCKPAGE = "http-blockpage"
    HTTP_STATUS = "http-status"
    HTTP_RESET = "http-reset"
    HTTP_TIMEOUT = "http-timeout"
    PROXY_DENIED = "proxy-denied"
    PROXY_AUTH = "proxy-auth"
    WARN_PAGE = "warn-page"
    CAPTIVE_PORTAL = "captive-portal"
    AUTH_PAGE = "auth-page"


class ControlUse(StrEnum):
    """Whether a verdict had a control measurement (evidence `control`)."""

    USED = "used"  # the control answered for this URL and the verdict compared with it
    NOT_CONFIGURED = "not-configured"  # no control.url: judged on local evidence alone
    FAILED = "failed"  # configured, but no usable answer (refused token, unreachable, ...)


_CONTROL_USES = frozenset(c.value for c in ControlUse)
_FAILURES = frozenset(f.value for f in Failure)


def failure_named(value: object) -> Failure | None:
    """A failure name read back from a document: a known name as itself, any other non-empty
    value as `Failure.UNKNOWN` (something failed), nothing as None."""
    if not value:
        return None
    return Failure(value) if isinstance(value, str) and value in _FAILURES else Failure.UNKNOWN


def _name(failure: Failure | None) -> str | None:
    return str(failure) if failure is not None else None


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Blocking:
    layer: Layer
    method: Method
    vendor: str | None = None
    category: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": str(self.layer),
            "method": str(self.method),
            "vendor": self.vendor,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Interception:
    issuer: str

    def to_json(self) -> dict[str, Any]:
        return {"issuer": self.issuer}


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """Redacted facts behind a verdict: failure names, status codes, fingerprint ids.

    Never addresses, names or page text: this travels to the collector.
    """

    route: Route = Route.DIRECT
    pac: str | None = None  # what PAC decided, when PAC ran: DIRECT | PROXY (no addresses)
    dns: Failure | None = None  # the lookup's failure, None when it answered public addresses
    tcp: Failure | None = None  # None when a connection opened
    tls: Failure | None = None  # None when a handshake completed
    http: Failure | None = None  # the last request's failure
    http_status: int | None = None
    proxy_status: int | None = None
    fingerprints: tuple[str, ...] = ()
    reason: str = ""  # one plain-English sentence, built from the facts above only
    # Was the verdict compared with a control measurement from outside? (extension of
    # check/1, see docs/agent.md): None when not recorded (older documents).
    control: ControlUse | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "route": str(self.route),
            "pac": self.pac,
            "dns": _name(self.dns),
            "tcp": _name(self.tcp),
            "tls": _name(self.tls),
            "http": _name(self.http),
            "http_status": self.http_status,
            "proxy_status": self.proxy_status,
            "fingerprints": list(self.fingerprints),
            "reason": self.reason,
            "control": str(self.control) if self.control else None,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    target: str
    url: str
    service: str | None
    status: Status
    blocking: Blocking | None = None
    interception: Interception | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    control: dict[str, Any] | None = None  # {"status": ...} as the control reported it
    category: str | None = None  # the catalogue's category of the service (social, video, ...)
    evidence: Evidence | None = None
    measured_at: datetime | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "target": self.target,
            "url": self.url,
            "service": self.service,
            "status": str(self.status),
            "blocking": self.blocking.to_json() if self.blocking else None,
            "interception": self.interception.to_json() if self.interception else None,
            "timings_ms": dict(self.timings_ms),
            "control": self.control,
            "category": self.category,
            "evidence": self.evidence.to_json() if self.evidence else None,
        }
        if self.measured_at is not None:
            doc["measured_at"] = iso(self.measured_at)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Result:
        """Read back a result this project wrote (spool, history). Raises KeyError/ValueError."""
        blocking = doc.get("blocking")
        interception = doc.get("interception")
        evidence = doc.get("evidence")
        measured_at = doc.get("measured_at")
        return cls(
            id=str(doc["id"]),
            target=str(doc["target"]),
            url=str(doc["url"]),
            service=doc.get("service"),
            status=Status(doc["status"]),
            blocking=Blocking(
                layer=Layer(blocking["layer"]),
                method=Method(blocking["method"]),
                vendor=blocking.get("vendor"),
                category=blocking.get("category"),
            )
            if blocking
            else None,
            interception=Interception(issuer=str(interception["issuer"])) if interception else None,
            timings_ms={str(k): float(v) for k, v in (doc.get("timings_ms") or {}).items()},
            control=doc.get("control"),
            category=doc.get("category"),
            evidence=Evidence(
                route=Route.PROXY if evidence.get("route") == "proxy" else Route.DIRECT,
                pac=evidence.get("pac"),
                dns=failure_named(evidence.get("dns")),
                tcp=failure_named(evidence.get("tcp")),
                tls=failure_named(evidence.get("tls")),
                http=failure_named(evidence.get("http")),
                http_status=evidence.get("http_status"),
                proxy_status=evidence.get("proxy_status"),
                fingerprints=tuple(evidence.get("fingerprints") or ()),
                reason=evidence.get("reason", ""),
                control=ControlUse(evidence["control"]) if evidence.get("control") in
                _CONTROL_USES else None,
            )
            if evidence
            else None,
            measured_at=parse_iso(measured_at) if measured_at else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    org: str | None = None
    network: str | None = None
    asn: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "network": self.network, "asn": self.asn}


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckDocument:
    started_at: datetime
    finished_at: datetime
    context: Context
    results: tuple[Result, ...]
    agent: str | None = None  # "access-probe/0.1.0"
    # Missing evidence the reader must know about (extension of check/1, docs/agent.md):
    # the control was not configured or failed, with the reason. Always present, maybe empty.
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "schema": CHECK_SCHEMA,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "context": self.context.to_json(),
            "results": [r.to_json() for r in self.results],
            "warnings": list(self.warnings),
        }
        if self.agent:
            doc["agent"] = self.agent
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CheckDocument:
        if doc.get("schema") != CHECK_SCHEMA:
            raise ValueError(f"schema must be {CHECK_SCHEMA!r}")
        ctx = doc.get("context") or {}
        return cls(
            started_at=parse_iso(doc["started_at"]),
            finished_at=parse_iso(doc["finished_at"]),
            context=Context(org=ctx.get("org"), network=ctx.get("network"), asn=ctx.get("asn")),
            results=tuple(Result.from_json(r) for r in doc.get("results") or ()),
            agent=doc.get("agent"),
            warnings=tuple(str(w) for w in doc.get("warnings") or () if isinstance(w, str)),
        )
