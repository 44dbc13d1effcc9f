"""DNS: the machine's resolver (getaddrinfo) and a direct query to one nameserver.

A direct query keeps NXDOMAIN/REFUSED/SERVFAIL as data (the rcode) instead of turning them
into exceptions, which is what tells DNS tampering apart from a broken resolver.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from dataclasses import replace

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from access_probe.engine.addresses import in_networks, is_bogon
from access_probe.engine.classify import Operation, classify
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import DNSObservation, Engine, Failure

__all__ = ["query_udp", "resolve_system", "with_bogon_check"]

_RCODE_FAILURES = {
    dns.rcode.NXDOMAIN: Failure.DNS_NXDOMAIN,
    dns.rcode.REFUSED: Failure.DNS_REFUSED,
    dns.rcode.SERVFAIL: Failure.DNS_SERVFAIL,
}


def resolve_system(hostname: str, ctx: ProbeContext) -> DNSObservation:
    """Resolve with getaddrinfo, bounded by the step timeout (getaddrinfo has none)."""
    t0 = ctx.clock.now()
    outcome: list[list[str] | BaseException] = []

    def work() -> None:
        try:
            infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
            outcome.append(_unique(str(info[4][0]) for info in infos))
        except (OSError, ValueError) as exc:  # ValueError: a name IDNA cannot encode
            outcome.append(exc)

    # A daemon thread, because a stuck libc resolver cannot be cancelled; it ends on its own.
    worker = threading.Thread(target=work, name="getaddrinfo", daemon=True)
    worker.start()
    worker.join(ctx.step_timeout())
    result = outcome[0] if outcome else TimeoutError("getaddrinfo timed out")
    t = ctx.clock.now()
    if isinstance(result, BaseException):
        failure = classify(result, Operation.RESOLVE)
        return DNSObservation(engine=Engine.SYSTEM, resolver="system", hostname=hostname,
                              t0=t0, t=t, failure=failure)
    return with_bogon_check(DNSObservation(engine=Engine.SYSTEM, resolver="system",
                                           hostname=hostname, t0=t0, t=t,
                                           addresses=tuple(result)), ctx.lab_networks)


def query_udp(hostname: str, nameserver: str, ctx: ProbeContext, *,
              port: int = 53) -> DNSObservation:
    """Ask `nameserver` for A and AAAA over UDP (TCP when truncated); rcode kept as data."""
    t0 = ctx.clock.now()
    budget_end = t0 + ctx.step_timeout()  # A and AAAA share one step's time
    answers: list[dns.message.Message] = []
    try:
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            remaining = budget_end - ctx.clock.now()
            if answers and remaining <= 0:
                break
            answers.append(_ask(hostname, rdtype, nameserver, port, max(remaining, 0.05)))
            if answers[0].rcode() != dns.rcode.NOERROR:
                break  # the name's fate is decided; AAAA would only repeat it
    except (OSError, dns.exception.DNSException, ValueError) as exc:
        if not answers:
            return DNSObservation(engine=Engine.UDP, resolver=nameserver, hostname=hostname,
                                  t0=t0, t=ctx.clock.now(),
                                  failure=classify(exc, Operation.DNS_QUERY))
        # A missing AAAA answer after a good A answer is not the name's failure.
    obs = _observation(hostname, nameserver, t0, ctx.clock.now(), answers)
    return with_bogon_check(obs, ctx.lab_networks)


def with_bogon_check(obs: DNSObservation, allowed: Iterable[str] = ()) -> DNSObservation:
    """Mark an answer made only of bogons (sinkholes) as DNS_BOGON, unless `allowed` (a lab's
    own networks, e.g. loopback in tests) contains them."""
    if obs.failure is not None or not obs.addresses:
        return obs
    allowed = tuple(allowed)
    if all(is_bogon(a) and not in_networks(a, allowed) for a in obs.addresses):
        return replace(obs, failure=Failure.DNS_BOGON)
    return obs


def _ask(hostname: str, rdtype: dns.rdatatype.RdataType, nameserver: str, port: int,
         timeout: float) -> dns.message.Message:
    query = dns.message.make_query(hostname, rdtype, use_edns=0)
    response, _used_tcp = dns.query.udp_with_fallback(
        query, nameserver, timeout=timeout, port=port)
    return response


def _observation(hostname: str, nameserver: str, t0: float, t: float,
                 answers: list[dns.message.Message]) -> DNSObservation:
    first = answers[0]
    rcode = first.rcode()
    addresses: list[str] = []
    cnames: list[str] = []
    for message in answers:
        for rrset in message.answer:
            if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                addresses.extend(rd.to_text() for rd in rrset)
            elif rrset.rdtype == dns.rdatatype.CNAME:
                cnames.extend(rd.to_text().rstrip(".") for rd in rrset)
    failure = _RCODE_FAILURES.get(rcode)
    if failure is None and rcode != dns.rcode.NOERROR:
        failure = Failure.UNKNOWN
    if failure is None and not addresses:
        failure = Failure.DNS_NO_ANSWER
    return DNSObservation(engine=Engine.UDP, resolver=nameserver, hostname=hostname, t0=t0,
                          t=t, failure=failure, rcode=dns.rcode.to_text(rcode),
                          addresses=tuple(_unique(addresses)), cnames=tuple(_unique(cnames)))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
