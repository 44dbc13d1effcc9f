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

There is no registry dict of probes: each takes what the step before it produced (a name, an
address, an open socket, a proved connection), so `measure.py` calls them in order by name.
blackbox_exporter's `Probers` map picks one prober per configured module; this engine always
runs every layer, so a map keyed by operation would only hide the probes' types.
"""

from __future__ import annotations

from access_probe.engine.probe import dns, http, proxy, tcp, tls
from access_probe.engine.probe.base import Clock, ProbeContext

__all__ = ["Clock", "ProbeContext", "dns", "http", "proxy", "tcp", "tls"]
