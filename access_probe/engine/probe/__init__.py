"""One module per protocol step; each probe returns an observation from `model.py` (and the
open socket where the next step needs it) and never raises for network conditions.

    dns.resolve_system(hostname, ctx)              -> DNSObservation
    dns.query_udp(hostname, nameserver, ctx)       -> DNSObservation
    tcp.connect(address, port, ctx)                -> (TCPObservation, socket | None)
    proxy.connect_tunnel(sock, host, port, ctx, proxy_url=)
                                                   -> (ProxyObservation, socket | None)
    tls.handshake(sock, sni, ctx, public=, local=, reconnect=)
                                                   -> (TLSObservation, SSLSocket | None)
    http.request(connection, url, ctx, proxy=)     -> HTTPObservation  (on the proved socket)

Every probe takes the `ProbeContext` last among its positional arguments: one zero time for
all timings and the bounds of a step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from access_probe.engine.classify import Operation
from access_probe.engine.probe import dns, http, proxy, tcp, tls
from access_probe.engine.probe.base import Clock, ProbeContext

__all__ = ["PROBES", "Clock", "ProbeContext", "dns", "http", "proxy", "tcp", "tls"]

# The registry, keyed by the operation each probe performs (the failure's layer).
PROBES: dict[Operation, Callable[..., Any]] = {
    Operation.RESOLVE: dns.resolve_system,
    Operation.DNS_QUERY: dns.query_udp,
    Operation.CONNECT: tcp.connect,
    Operation.PROXY_CONNECT: proxy.connect_tunnel,
    Operation.TLS_HANDSHAKE: tls.handshake,
    Operation.HTTP_REQUEST: http.request,
}
