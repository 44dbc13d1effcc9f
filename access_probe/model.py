"""The facts a measurement records: logic-free data types only.

What belongs here: frozen records that the probes fill in (one per protocol step), the
measurement of one URL that gathers them, and the control vantage point's summary of the same
URL. Nothing here judges; the `verdict` package turns these facts into the contract's verdict.

Conventions (borrowed from OONI's measurexlite):
- `t0` and `t` are seconds relative to the measurement's own zero time; a step that never
  happened is absent (not present with zero timings).
- `failure` is None on success, otherwise one of `Failure`'s names, set by `classify.py` only.
- Network conditions are data here, never exceptions.
- Fields marked `LOCAL_ONLY` (raw bodies, addresses, the proxy's URL) stay on this machine:
  they feed the block-page matcher and the local report, and `anonymise` never copies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

LOCAL_ONLY = {"local_only": True}


class Failure(StrEnum):
    """The closed set of failure names (OONI's vocabulary, plus a few of our own)."""

    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    GENERIC_TIMEOUT = "generic_timeout_error"
    EOF = "eof_error"
    HOST_UNREACHABLE = "host_unreachable"
    NETWORK_UNREACHABLE = "network_unreachable"
    ADMIN_PROHIBITED = "admin_prohibited"  # ICMP administratively prohibited (a firewall said no)
    DNS_NXDOMAIN = "dns_nxdomain_error"
    DNS_SERVFAIL = "dns_servfail_error"
    DNS_REFUSED = "dns_refused_error"
    DNS_NO_ANSWER = "dns_no_answer"
    DNS_BOGON = "dns_bogon_error"
    DNS_TIMEOUT = "dns_timeout_error"
    DNS_NO_SERVER = "dns_no_server"  # no nameserver configured or reachable at all
    SSL_INVALID_HOSTNAME = "ssl_invalid_hostname"
    SSL_UNKNOWN_AUTHORITY = "ssl_unknown_authority"
    SSL_INVALID_CERTIFICATE = "ssl_invalid_certificate"  # expired, not yet valid, bad usage
    SSL_FAILED_HANDSHAKE = "ssl_failed_handshake"
    PROXY_CONNECT_FAILED = "proxy_connect_failed"  # the proxy answered the CONNECT with non-2xx
    HTTP_PROTOCOL_ERROR = "http_protocol_error"  # the peer spoke something that is not HTTP
    TOO_MANY_REDIRECTS = "too_many_redirects"
    UNKNOWN = "unknown_failure"


class Engine(StrEnum):
    """How a DNS observation was made."""

    SYSTEM = "system"  # the machine's own resolver (getaddrinfo)
    UDP = "udp"  # a direct query with dnspython to a nameserver


class NotFollowed(StrEnum):
    """Why the measurement did not follow a redirect it was given."""

    PRIVATE_ADDRESS = "to-private-address"  # a public site sending to a private address literal
    NOT_HTTP = "not-http"  # the Location is not an http(s) URL with a host
    LOOP = "loop"  # the Location was already fetched in this chain
    TOO_MANY = "too-many"  # the chain reached Limits.max_redirects
    OUT_OF_TIME = "out-of-time"  # the measurement's budget ran out
    REFUSED = "refused"  # the address guard declined the next host (collector side)


class Route(StrEnum):
    """How traffic to a URL left this machine."""

    DIRECT = "direct"
    PROXY = "proxy"


class Trust(StrEnum):
    """Which trust store accepted a certificate."""

    PUBLIC = "public"  # the public web roots (certifi or tls.public_roots)
    LOCAL = "local"  # only this machine's own store: an inspection proxy


@dataclass(frozen=True, slots=True, kw_only=True)
class DNSObservation:
    engine: Engine
    resolver: str  # "system" or the nameserver's address
    hostname: str
    t0: float
    t: float
    failure: Failure | None = None
    rcode: str | None = None  # "NOERROR", "NXDOMAIN", ... for UDP queries
    addresses: tuple[str, ...] = ()
    cnames: tuple[str, ...] = ()
    hop: int = 0  # the request of the redirect chain this step was for (0: the URL itself)


@dataclass(frozen=True, slots=True, kw_only=True)
class TCPObservation:
    address: str = field(metadata=LOCAL_ONLY)
    port: int
    t0: float
    t: float
    failure: Failure | None = None
    via_proxy: bool = False  # the connection was to the proxy, not to the site
    hop: int = 0  # the request of the redirect chain this step was for (0: the URL itself)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyObservation:
    """An HTTP CONNECT through an explicit proxy, and what the proxy itself said."""

    target: str  # "host:port" we asked for
    t0: float
    t: float
    failure: Failure | None = None
    status: int | None = None
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    body_length: int | None = None
    body_sha256: str | None = None
    body: bytes = field(default=b"", metadata=LOCAL_ONLY, repr=False)
    hop: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TLSObservation:
    sni: str
    t0: float
    t: float
    failure: Failure | None = None  # failure against both stores; None when either trusted it
    failure_public: Failure | None = None  # what the public roots said, when they said no
    trusted_by: Trust | None = None
    issuer: str | None = None  # issuer CN, else O
    subject: str | None = None
    version: str | None = None
    cert_sha256: str | None = None
    address: str | None = field(default=None, metadata=LOCAL_ONLY)
    hop: int = 0  # the request of the redirect chain this step was for (0: the URL itself)


@dataclass(frozen=True, slots=True, kw_only=True)
class HTTPObservation:
    """One request/response hop; redirects are followed by hand, one observation each."""

    url: str
    t0: float
    t: float
    failure: Failure | None = None
    status: int | None = None
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # the few that matter, lower-cased
    location: str | None = None  # absolute redirect target, when status is 3xx
    title: str | None = None
    body_length: int | None = None  # bytes read (capped)
    body_sha256: str | None = None
    body: bytes = field(default=b"", metadata=LOCAL_ONLY, repr=False)
    hop: int = 0  # its place in the redirect chain (0: the URL itself)
    not_followed: NotFollowed | None = None  # a redirect (status 3xx + location) not taken


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """Every step taken to fetch one URL from one vantage point."""

    url: str
    hostname: str
    port: int
    scheme: str
    started_at: datetime
    route: Route = Route.DIRECT
    proxy: str | None = field(default=None, metadata=LOCAL_ONLY)
    dns: tuple[DNSObservation, ...] = ()
    tcp: tuple[TCPObservation, ...] = ()
    proxy_connect: ProxyObservation | None = None
    tls: tuple[TLSObservation, ...] = ()
    http: tuple[HTTPObservation, ...] = ()
    duration: float = 0.0  # seconds, from the zero time to the last step's end
    refused: str | None = None  # the address guard declined to connect (collector's SSRF guard)
    pac: str | None = None  # what PAC said for this URL ("DIRECT", "PROXY host:port"), if PAC ran


class ControlStatus(StrEnum):
    """The control vantage point's own reading of a URL (contract section 4)."""

    ACCESSIBLE = "accessible"  # an answer under 500 came back
    UNREACHABLE = "unreachable"  # the site failed at some layer from outside too
    INCONCLUSIVE = "inconclusive"  # the control could not tell


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlHTTP:
    status: int | None = None
    title: str | None = None
    body_length: int | None = None
    failure: Failure | None = None
    server: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Control:
    """What the control vantage point (the collector, outside) saw for one URL.

    `status` is the control's own reading. `refused` is set instead when the collector
    declined to measure the URL, and `error` when the control could not be asked at all; in
    both cases the agent has no control. Failures are the same closed set as the agent's
    (`Failure`); a name this agent does not know arrives as `Failure.UNKNOWN`.
    """

    url: str
    status: ControlStatus | None = None
    refused: str | None = None
    error: str | None = None
    dns_failure: Failure | None = None
    dns_rcode: str | None = None
    dns_addresses: tuple[str, ...] = ()
    tcp_failure: Failure | None = None
    tls_failure: Failure | None = None
    tls_issuer: str | None = None
    http: ControlHTTP | None = None

    @property
    def usable(self) -> bool:
        return self.status is not None and self.refused is None and self.error is None
