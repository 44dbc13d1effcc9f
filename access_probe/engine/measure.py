"""Measure one URL step by step (DNS, TCP, [proxy CONNECT], TLS, HTTP), recording every step.

Never raises for network conditions: they are recorded as `failure` names. Only a URL that
cannot be measured at all (not http/https, no host) raises ValueError: an input error.

Direct route:  DNS (system and/or a direct query, `lookups`) -> TCP to up to `max_addresses`
               addresses -> TLS (https) -> HTTP GET on that same connection.
Proxy route:   TCP to the proxy -> CONNECT by hand (https) -> TLS through the tunnel -> HTTP
               on that connection; the target's DNS is the proxy's business.
One connection per origin: the GET goes on the socket the TCP/TLS steps proved (as OONI's
Web Connectivity and blackbox_exporter do); a later hop to the same origin reuses it while
the server keeps it open, else reopens one along the same path.
Redirects are followed by hand, each hop recorded; a new host gets its own DNS/TCP/TLS.
`guard(address)` is asked before every connection; a reason stops the measurement
(`Measurement.refused`) before anything is sent.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar
from urllib.parse import urlsplit

from access_probe.engine.addresses import in_networks, is_bogon, parse_address
from access_probe.engine.lookups import Lookup, Lookups
from access_probe.engine.netenv import NetEnv
from access_probe.engine.probe import http, proxy, tcp, tls
from access_probe.engine.probe.base import Clock, ProbeContext
from access_probe.model import (
    Failure,
    HTTPObservation,
    Measurement,
    NotFollowed,
    ProxyObservation,
    Route,
    TCPObservation,
    TLSObservation,
    Trust,
)
from access_probe.schema import utc_now

__all__ = ["Guard", "Limits", "Steps", "measure", "measure_steps", "timings_ms"]

# address -> reason to refuse, or None to allow. Asked with the IP address for direct
# connections, and with the proxy's host as configured for connections to a proxy.
Guard = Callable[[str], str | None]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    timeout: float = 8.0  # each step
    max_body: int = 262144
    max_redirects: int = 8
    max_addresses: int = 2  # addresses tried per host before giving up on TCP

    @property
    def budget(self) -> float:
        """The whole measurement's bound: a few steps' worth per hop."""
        return (2 + self.max_redirects) * self.timeout


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> _Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {url!r}")
        if not parts.hostname:
            raise ValueError(f"URL without a host: {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)  # .port raises on a bad port
        return cls(scheme, parts.hostname.lower().rstrip("."), port)


@dataclass(frozen=True, slots=True)
class _Path:
    """How HTTP reaches an origin once the lower steps succeeded: the proved connection."""

    conn: http.Connection
    address: str | None  # the address connected to (direct), None through a proxy
    proxy: str | None  # plain HTTP through this proxy: requests in absolute form


_Obs = TypeVar("_Obs", TCPObservation, ProxyObservation, TLSObservation, HTTPObservation)


class _Stop(Exception):
    """Internal: a step failed or the guard refused; the record says why."""


@dataclass(slots=True)
class _Recorder:
    """The facts gathered so far (mutable while measuring, frozen into a Measurement)."""

    env: NetEnv
    limits: Limits
    ctx: ProbeContext
    guard: Guard | None
    tcp: list[TCPObservation] = field(default_factory=list)
    proxy_connect: ProxyObservation | None = None
    tls: list[TLSObservation] = field(default_factory=list)
    http: list[HTTPObservation] = field(default_factory=list)
    refused: str | None = None
    paths: dict[_Origin, _Path] = field(default_factory=dict)
    lookups: Lookups | None = None
    # (lookup, the hop that needed it first), in the order they were needed
    looked_up: list[tuple[Lookup, int]] = field(default_factory=list)
    hop: int = 0  # the request of the redirect chain being made (0: the URL itself)

    def at_hop(self, obs: _Obs) -> _Obs:
        """`obs` stamped with the hop it was made for."""
        return replace(obs, hop=self.hop) if self.hop else obs

    def check(self, address: str) -> None:
        reason = self.guard(address) if self.guard is not None else None
        if reason is not None:
            self.refused = reason
            raise _Stop


def measure(url: str, *, env: NetEnv, limits: Limits | None = None,
            guard: Guard | None = None, lookups: Lookups | None = None) -> Measurement:
    """Fetch `url` once from here, recording every step. Raises ValueError for a bad URL.

    `lookups` is the check's shared DNS (one lookup per name per check); without it this
    measurement makes its own."""
    if lookups is not None:
        return measure_steps(url, env=env, limits=limits, guard=guard,
                             lookups=lookups).finish()
    limits = limits or Limits()
    with Lookups(env, timeout=limits.timeout) as own:
        return measure_steps(url, env=env, limits=limits, guard=guard, lookups=own).finish()


@dataclass(frozen=True, slots=True)
class Steps:
    """A measurement whose connection steps are over, while the slower of a name's two
    lookups may still run: `finish()` records it when it ends (within its step). A check
    finishes its measurements together, so a straggling lookup costs a run its own time
    once instead of holding a worker."""

    measurement: Measurement  # DNS not yet recorded
    lookups: tuple[tuple[Lookup, int], ...]  # each with the hop that needed it first
    clock: Clock

    def finish(self) -> Measurement:
        dns = tuple(replace(obs, hop=hop) if hop else obs for lookup, hop in self.lookups
                    for obs in lookup.observations(self.clock))
        end = max([self.measurement.duration, *(obs.t for obs in dns)])
        return replace(self.measurement, dns=dns, duration=end)


def measure_steps(url: str, *, env: NetEnv, lookups: Lookups, limits: Limits | None = None,
                  guard: Guard | None = None) -> Steps:
    """`measure` up to the last connection step; DNS is recorded by `Steps.finish()`."""
    limits = limits or Limits()
    origin = _Origin.of(url)
    started = utc_now()
    clock = Clock()
    ctx = ProbeContext(clock=clock, timeout=limits.timeout, max_body=limits.max_body,
                       user_agent=env.user_agent, deadline=limits.budget,
                       lab_networks=env.lab_networks)
    rec = _Recorder(env=env, limits=limits, ctx=ctx, guard=guard, lookups=lookups)
    choice = env.proxy_for(url)
    try:
        _follow(rec, url, origin)
    except _Stop:
        pass
    finally:
        for path in rec.paths.values():
            path.conn.close()
    measurement = Measurement(
        url=url, hostname=origin.host, port=origin.port, scheme=origin.scheme,
        started_at=started, route=Route.PROXY if choice.proxy else Route.DIRECT,
        proxy=_without_credentials(choice.proxy), dns=(), tcp=tuple(rec.tcp),
        proxy_connect=rec.proxy_connect, tls=tuple(rec.tls), http=tuple(rec.http),
        duration=clock.now(), refused=rec.refused, pac=choice.pac)
    return Steps(measurement, tuple(rec.looked_up), clock)


def timings_ms(m: Measurement) -> dict[str, float]:
    """Per-phase durations in milliseconds (contract's `timings_ms`); absent phases absent.

    Each phase is the time covered by its steps over all hops (overlapping steps, such as
    the system and direct DNS lookups that run side by side, count once). `http` covers each
    request from sending it to the end of the (capped) body on the connection the earlier
    steps proved (plus a reconnection when a server closed it before a later hop); a proxy
    CONNECT counts as `tcp`. DNS shared with an earlier endpoint of the check counts only
    the time this measurement waited for it.
    """
    out: dict[str, float] = {}
    for name, steps in (("dns", m.dns), ("tcp", m.tcp), ("tls", m.tls), ("http", m.http)):
        if steps:
            out[name] = round(_covered([(s.t0, s.t) for s in steps]) * 1000, 1)
    if m.proxy_connect is not None:
        proxy_ms = (m.proxy_connect.t - m.proxy_connect.t0) * 1000
        out["tcp"] = round(out.get("tcp", 0.0) + proxy_ms, 1)
    out["total"] = round(m.duration * 1000, 1)
    return out


def _covered(spans: list[tuple[float, float]]) -> float:
    """Length of the union of time spans."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def _without_credentials(proxy_url: str | None) -> str | None:
    """The proxy URL as recorded: a user name and password never leave the route itself."""
    if proxy_url is None:
        return None
    parts = urlsplit(proxy_url)
    if parts.username is None and parts.password is None:
        return proxy_url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()


def _follow(rec: _Recorder, url: str, origin: _Origin) -> None:
    """Fetch `url` and follow its redirects by hand, each hop recorded; a redirect not taken
    says why on its observation (`not_followed`)."""
    first = origin
    seen, looped = {url}, False
    for hop in range(rec.limits.max_redirects + 1):
        rec.hop = hop
        try:
            path = _path(rec, url, origin)
            if path.address is not None:
                rec.check(path.address)
        except _Stop:
            if rec.refused is not None and rec.http:
                _not_followed(rec, NotFollowed.REFUSED)
            raise
        obs = rec.at_hop(http.request(path.conn, url, rec.ctx, proxy=path.proxy))
        rec.http.append(obs)
        if obs.failure is not None or obs.status not in _REDIRECTS or obs.location is None:
            return
        try:
            origin = _Origin.of(obs.location)
        except ValueError:
            return _not_followed(rec, NotFollowed.NOT_HTTP)  # recorded, not followed
        if rec.guard is None and _into_private(rec, first, origin, obs.location):
            # recorded (the Location is evidence), not followed; with a guard (the
            # collector), the guard refuses it and the answer says so
            return _not_followed(rec, NotFollowed.PRIVATE_ADDRESS)
        looped = looped or obs.location in seen
        url = obs.location
        seen.add(url)
        if rec.ctx.expired():
            return _not_followed(rec, NotFollowed.OUT_OF_TIME)
    # Followed to the bound either way (a server may change its answer on a later visit);
    # a chain that came back to a URL it had fetched is called a loop.
    _not_followed(rec, NotFollowed.LOOP if looped else NotFollowed.TOO_MANY,
                  Failure.TOO_MANY_REDIRECTS)


def _not_followed(rec: _Recorder, why: NotFollowed, failure: Failure | None = None) -> None:
    """The last hop's redirect was not taken, and why; a loop or too many hops is also the
    request's failure (as a browser's ERR_TOO_MANY_REDIRECTS covers both)."""
    last = rec.http[-1]
    rec.http[-1] = replace(last, not_followed=why, failure=failure or last.failure)


def _into_private(rec: _Recorder, first: _Origin, origin: _Origin, url: str) -> bool:
    """A redirect from a public site straight to a private address (a filter's internal
    block page, a portal): the agent is a guest on the network and does not connect to
    internal addresses it was not told to. Names that resolve privately stop at DNS anyway."""
    if rec.env.proxy_for(url).proxy is not None:
        return False
    return _private_literal(rec, origin.host) and not _private_literal(rec, first.host)


def _private_literal(rec: _Recorder, host: str) -> bool:
    return parse_address(host) is not None and not _usable(host, rec)


def _path(rec: _Recorder, url: str, origin: _Origin) -> _Path:
    """The way to `origin`, measured the first time it is needed (DNS/TCP/TLS)."""
    known = rec.paths.get(origin)
    if known is not None:
        return known
    proxy_url = rec.env.proxy_for(url).proxy
    path = _via_proxy(rec, origin, proxy_url) if proxy_url else _direct(rec, origin)
    rec.paths[origin] = path
    return path


# --- direct route -------------------------------------------------------------------------

def _direct(rec: _Recorder, origin: _Origin) -> _Path:
    addresses = _resolve(rec, origin.host)
    for address in addresses[: rec.limits.max_addresses]:
        rec.check(address)
        obs, sock = tcp.connect(address, origin.port, rec.ctx)
        rec.tcp.append(rec.at_hop(obs))
        if sock is not None:
            return _direct_path(rec, origin, address, sock)
        if rec.ctx.expired():
            break
    raise _Stop


def _resolve(rec: _Recorder, host: str) -> list[str]:
    """Addresses to try: those of the first lookup (system resolver or direct query) that
    gave usable ones; the other is recorded when it ends (see lookups.py)."""
    if parse_address(host) is not None:
        return [host]
    assert rec.lookups is not None
    lookup = rec.lookups.lookup(host)
    if all(lookup is not known for known, _hop in rec.looked_up):
        rec.looked_up.append((lookup, rec.hop))
    found = lookup.first_usable(lambda address: _usable(address, rec))
    if not found:
        raise _Stop
    return found


def _usable(address: str, rec: _Recorder) -> bool:
    return not is_bogon(address) or in_networks(address, rec.ctx.lab_networks)


def _direct_path(rec: _Recorder, origin: _Origin, address: str,
                 sock: socket.socket) -> _Path:
    ctx = rec.ctx

    def connect() -> socket.socket:
        return socket.create_connection((address, origin.port), timeout=ctx.step_timeout())

    if origin.scheme != "https":
        return _Path(http.Connection(sock, connect), address, None)

    def reconnect() -> socket.socket | None:
        if ctx.expired():
            return None
        _obs, again = tcp.connect(address, origin.port, ctx)
        return again

    tls_sock, context = _handshake(rec, origin, sock, reconnect, address)
    return _Path(http.Connection(tls_sock, lambda: _wrap(connect(), context, origin.host)),
                 address, None)


def _wrap(sock: socket.socket, context: ssl.SSLContext, sni: str) -> ssl.SSLSocket:
    """TLS for a reopened connection, with the trust store the TLS step found to say yes."""
    try:
        return context.wrap_socket(sock, server_hostname=sni)
    except BaseException:
        sock.close()
        raise


def _handshake(rec: _Recorder, origin: _Origin, sock: socket.socket,
               reconnect: tls.Reconnect,
               address: str | None) -> tuple[ssl.SSLSocket, ssl.SSLContext]:
    """The TLS step; the open TLS socket and the context of the store that accepted it."""
    public = rec.env.public_context()
    obs, tls_sock = tls.handshake(sock, origin.host, rec.ctx, public=public,
                                  local=rec.env.local_context, reconnect=reconnect,
                                  address=address)
    rec.tls.append(rec.at_hop(obs))
    if tls_sock is None:
        raise _Stop
    return tls_sock, rec.env.local_context() if obs.trusted_by is Trust.LOCAL else public


# --- proxy route --------------------------------------------------------------------------

def _via_proxy(rec: _Recorder, origin: _Origin, proxy_url: str) -> _Path:
    host, port = proxy.proxy_address(proxy_url)
    ctx = rec.ctx
    sock = _connect_proxy(rec, host, port)

    def connect() -> socket.socket:
        return socket.create_connection((host, port), timeout=ctx.step_timeout())

    if origin.scheme != "https":
        return _Path(http.Connection(sock, connect), None, proxy_url)
    tunnel = _tunnel(rec, sock, origin, proxy_url, record=True)
    if tunnel is None:
        raise _Stop

    def reconnect() -> socket.socket | None:
        if ctx.expired():
            return None
        _obs, again = tcp.connect(host, port, ctx, via_proxy=True)
        return _tunnel(rec, again, origin, proxy_url, record=False) if again else None

    def retunnel() -> socket.socket:
        again = _tunnel(rec, connect(), origin, proxy_url, record=False)
        if again is None:
            raise ConnectionRefusedError("the proxy refused a new tunnel")
        return again

    tls_sock, context = _handshake(rec, origin, tunnel, reconnect, None)
    return _Path(http.Connection(tls_sock, lambda: _wrap(retunnel(), context, origin.host)),
                 None, None)


def _connect_proxy(rec: _Recorder, host: str, port: int) -> socket.socket:
    rec.check(host)
    obs, sock = tcp.connect(host, port, rec.ctx, via_proxy=True)
    rec.tcp.append(rec.at_hop(obs))
    if sock is None:
        raise _Stop
    return sock


def _tunnel(rec: _Recorder, sock: socket.socket, origin: _Origin, proxy_url: str, *,
            record: bool) -> socket.socket | None:
    obs, tunnel = proxy.connect_tunnel(sock, origin.host, origin.port, rec.ctx,
                                       proxy_url=proxy_url)
    # One field for the whole measurement: keep the first CONNECT, unless a later one (after
    # a redirect to another host) was refused, which is the fact that matters.
    if record and (rec.proxy_connect is None or obs.failure is not None):
        rec.proxy_connect = rec.at_hop(obs)
    return tunnel
