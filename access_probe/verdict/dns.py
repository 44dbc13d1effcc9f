"""DNS: did the lookup the connection used give the site's real addresses?"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from access_probe.model import Control, Failure, Measurement, Route
from access_probe.schema import Layer, Method, Status
from access_probe.verdict.common import blocked, norm, vendor, verdict
from access_probe.verdict.failures import CERT_FAILURES, TIMEOUTS, dns_method
from access_probe.verdict.records import Facts, PageFacts, Verdict

__all__ = ["judge"]


def judge(f: Facts) -> Verdict | None:
    m, ctl, ev, pages = f.m, f.ctl, f.evidence, f.pages
    if m.route is Route.PROXY or not m.dns:
        return None
    used = m.dns[0]  # the lookup whose answer the connection used
    same_outside = ctl is not None and bool(used.addresses) and set(used.addresses) <= set(
        ctl.dns_addresses)  # the control got this answer too: the site really publishes it
    if used.failure is None and pages.dns_answer and not same_outside:
        name, category = vendor(PageFacts(matches=pages.dns_answer))
        if name is None:
            name, category = vendor(pages.hop(0))
        return blocked(ev, Layer.DNS, Method.DNS_SINKHOLE, name, category,
                       "The network's DNS answered with a known blocking address.")
    sinkholed = _sinkholed(m, ctl)
    if used.failure is None and not sinkholed:
        return None
    # A direct query's rcode is more precise than getaddrinfo's error for the same lookup.
    precise = [d.failure for d in m.dns if d.failure is not None and d.rcode is not None]
    failure = (precise[0] if used.failure and precise else used.failure) or Failure.DNS_BOGON
    if failure is Failure.DNS_BOGON or sinkholed:
        if same_outside:
            return None
        if ctl is not None or f.known or _null_route(used.addresses):
            name, category = vendor(pages.hop(0))
            return blocked(ev, Layer.DNS, Method.DNS_SINKHOLE, name, category,
                           "The network's DNS gave a false address for the site.")
        return verdict(ev, Status.INCONCLUSIVE, "The site's name resolved to a private address.")
    method = dns_method(failure)
    if ctl is not None:
        if ctl.dns_failure is None and ctl.dns_addresses:
            return blocked(ev, Layer.DNS, method, None, None,
                           "The network's DNS would not give the site's address, "
                           "which resolves normally from outside.")
        return verdict(ev, Status.UNREACHABLE,
                       "The site's name does not resolve from outside either.")
    if _content_arrived(m):
        # The other lookup's answer carried the connection all the way to a response: a DNS
        # hiccup is no reason to call a fetched page "can't tell"; the later layers judge it.
        return None
    if f.known and failure not in TIMEOUTS:
        return blocked(ev, Layer.DNS, method, None, None,
                       "The network's DNS would not give the address of a well-known site.")
    return verdict(ev, Status.INCONCLUSIVE, "The site's name did not resolve here.")


def _content_arrived(m: Measurement) -> bool:
    """Did a response come back from the site's own addresses (not a proxy's)?"""
    return m.route is not Route.PROXY and any(h.status is not None for h in m.http)


def _sinkholed(m: Measurement, ctl: Control | None) -> bool:
    """The answer points somewhere the control never sees and the TLS there is not the site's:
    a DNS filter steering the name at its own block-page server."""
    used = m.dns[0] if m.dns else None
    if used is None or not used.addresses:
        return False
    if used.failure is Failure.DNS_BOGON:  # the DNS probe's call (it knows a lab's networks)
        return True
    if used.failure is not None:
        return False
    if ctl is None or not ctl.dns_addresses or set(used.addresses) & set(ctl.dns_addresses):
        return False
    tls_bad = bool(m.tls) and all(t.failure in CERT_FAILURES for t in m.tls)
    chttp = ctl.http
    http_other = m.scheme == "http" and bool(m.http) and chttp is not None and any(
        h.title and chttp.title and norm(h.title) != norm(chttp.title) for h in m.http)
    return tls_bad or http_other


def _null_route(addresses: Sequence[str]) -> bool:
    """0.0.0.0 / :: / 127.x: answers no real site publishes."""
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            continue
        if ip.is_unspecified or ip.is_loopback:
            return True
    return False
