"""DNS: the machine's resolver (getaddrinfo) and a direct query to one nameserver.

A direct query keeps NXDOMAIN/REFUSED/SERVFAIL as data (the rcode) instead of turning them
into exceptions, which is what tells DNS tampering apart from a broken resolver.
"""

from __future__ import annotations

import select
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

# Retransmission: first after this many seconds, doubling, until the step timeout.
_RETRANSMIT_FIRST = 0.4
_AAAA_GRACE = 1.0  # seconds an AAAA answer may lag a good A answer before it is given up
_MIN_TIMEOUT = 0.05

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
    """Ask `nameserver` for A and AAAA over UDP at once (TCP when truncated); rcode kept as
    data. Unanswered queries are sent again on a short, growing interval inside the step
    timeout, as stub resolvers do: one lost datagram costs a retransmission, not the step."""
    t0 = ctx.clock.now()
    try:
        answers = _exchange(hostname, nameserver, port, ctx, t0 + ctx.step_timeout())
    except (OSError, dns.exception.DNSException, ValueError) as exc:
        return DNSObservation(engine=Engine.UDP, resolver=nameserver, hostname=hostname,
                              t0=t0, t=ctx.clock.now(),
                              failure=classify(exc, Operation.DNS_QUERY))
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


def _exchange(hostname: str, nameserver: str, port: int, ctx: ProbeContext,
              until: float) -> list[dns.message.Message]:
    """The A answer, then the AAAA answer when it came. Raises TimeoutError when A never
    came; a missing AAAA answer after a good A answer is not the name's failure."""
    queries = [dns.message.make_query(hostname, rdtype, use_edns=0)
               for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]
    wires = [q.to_wire() for q in queries]
    answers: list[dns.message.Message | None] = [None, None]
    family = socket.AF_INET6 if ":" in nameserver else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((nameserver, port))
        interval = _RETRANSMIT_FIRST
        next_send = ctx.clock.now()
        a_time = until
        while True:
            now = ctx.clock.now()
            end = until
            if answers[0] is not None:
                if answers[0].rcode() != dns.rcode.NOERROR:
                    break  # the name's fate is decided; AAAA would only repeat it
                end = min(until, a_time + _AAAA_GRACE)
            if now >= end or None not in answers:
                break
            if now >= next_send:
                for i, wire in enumerate(wires):
                    if answers[i] is None:
                        sock.send(wire)
                next_send = now + interval
                interval *= 2
            ready, _, _ = select.select([sock], [], [], max(0.0, min(next_send, end) - now))
            if not ready:
                continue
            data = sock.recv(65535)  # ConnectionRefusedError: nothing listens there
            for i, query in enumerate(queries):
                response = _parse(data, query)
                if response is None or answers[i] is not None:
                    continue
                if response.flags & dns.flags.TC:
                    remaining = max(until - ctx.clock.now(), _MIN_TIMEOUT)
                    response = dns.query.tcp(query, nameserver, timeout=remaining, port=port)
                answers[i] = response
                if i == 0:
                    a_time = ctx.clock.now()
    if answers[0] is None:
        raise TimeoutError("no answer to the A query")
    return [a for a in answers if a is not None]


def _parse(data: bytes, query: dns.message.Message) -> dns.message.Message | None:
    """The reply to `query`, or None for a datagram that is not one (another query's
    reply, a late duplicate, garbage)."""
    try:
        response = dns.message.from_wire(data)
    except dns.exception.DNSException:
        return None
    return response if query.is_response(response) else None


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
