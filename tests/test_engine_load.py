"""The engine on a busy or lossy network, against real servers that misbehave on purpose:
one connection per endpoint, DNS retransmitted, retried, shared and bounded."""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import replace

from access_probe.engine.lookups import IN_FLIGHT, Lookups
from access_probe.engine.measure import Limits, measure
from access_probe.engine.probe import dns
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Engine, Failure
from tests.servers import Answer, CertAuthorities, DNSServer, Page, WebServer, lab_env

LIMITS = Limits(timeout=4.0, max_body=4096, max_redirects=3)
LOOPBACK = ("127.0.0.0/8",)


def test_https_endpoint_uses_one_tcp_connection(cas: CertAuthorities) -> None:
    with DNSServer({"site.test": Answer.a("127.0.0.1")}) as ns, \
            WebServer({"/": Page.html("Real site")}, cert=cas.public_cert()) as web:
        m = measure(web.url("/"), env=lab_env(ns, cas), limits=LIMITS)
    assert [(h.status, h.title) for h in m.http] == [(200, "Real site")]
    assert len(m.tcp) == 1 and len(m.tls) == 1
    assert web.connections == 1 and web.handshake_failures == 0
    # the facts stay as rich as with two connections: every phase timed on one clock
    assert m.dns[0].t <= m.tcp[0].t0 < m.tcp[0].t <= m.tls[0].t0 < m.tls[0].t <= m.http[0].t0


def test_same_origin_redirect_stays_on_the_connection(cas: CertAuthorities) -> None:
    routes = {"/": Page.redirect("/home"), "/home": Page.html("Home")}
    with DNSServer({"site.test": Answer.a("127.0.0.1")}) as ns, \
            WebServer(routes, cert=cas.public_cert()) as web:
        m = measure(web.url("/"), env=lab_env(ns, cas), limits=LIMITS)
    assert [h.status for h in m.http] == [302, 200]
    assert web.requests == [("/", f"site.test:{web.port}"), ("/home", f"site.test:{web.port}")]
    assert web.connections == 1


def test_plain_http_endpoint_uses_one_tcp_connection() -> None:
    with DNSServer({"site.test": Answer.a("127.0.0.1")}) as ns, \
            WebServer({"/": Page.html("Plain")}) as web:
        m = measure(web.url("/"), env=lab_env(ns), limits=LIMITS)
    assert [(h.status, h.title) for h in m.http] == [(200, "Plain")]
    assert web.connections == 1


def test_first_query_lost_is_retransmitted_within_the_step() -> None:
    with DNSServer({"site.test": Answer(addresses=("127.0.0.1",), drop_first=1)}) as ns:
        obs = dns.query_udp("site.test", ns.address, ProbeContext(timeout=4.0,
                            lab_networks=LOOPBACK), port=ns.port)
    assert obs.failure is None and obs.addresses == ("127.0.0.1",)
    assert obs.t - obs.t0 < 2.0  # a retransmission, not the 4 s step timeout
    assert ns.queries.count(("site.test", "A", "udp")) == 2


def test_servfail_the_first_time_is_asked_again_once() -> None:
    with DNSServer({"site.test": Answer(addresses=("127.0.0.1",), servfail_first=1),
                    "broken.test": Answer(addresses=("127.0.0.1",), servfail_first=9)}) as ns:
        env = lab_env(ns)
        with Lookups(env, timeout=4.0) as lookups:
            good = lookups.lookup("site.test").observations(ProbeContext().clock)
            bad = lookups.lookup("broken.test").observations(ProbeContext().clock)
    assert [(o.engine, o.failure, o.addresses) for o in good] == [
        (Engine.UDP, None, ("127.0.0.1",))]
    assert ns.queries.count(("site.test", "A", "udp")) == 2
    # a server that keeps failing is asked exactly twice, then its answer is evidence
    assert [o.failure for o in bad] == [Failure.DNS_SERVFAIL]
    assert ns.queries.count(("broken.test", "A", "udp")) == 2


def test_one_lookup_per_name_per_check_and_bounded_in_flight() -> None:
    """60 endpoints on 20 hosts through a slow forwarder that SERVFAILs beyond 40 queries
    outstanding (as dnsmasq does past its limit): each name is asked once, never more than
    two queries per lookup in flight, and nothing fails."""
    hosts = [f"h{i}.test" for i in range(20)]
    zone = {h: Answer.a("127.0.0.1") for h in hosts}
    with DNSServer(zone, delay=0.2, servfail_above=40) as ns, WebServer() as web:
        env = lab_env(ns)
        urls = [f"http://{h}:{web.port}/{n}" for h in hosts for n in range(3)]
        with Lookups(env, timeout=4.0, in_flight=8) as lookups, \
                cf.ThreadPoolExecutor(max_workers=60) as pool:
                done = list(pool.map(
                    lambda u: measure(u, env=env, limits=LIMITS, lookups=lookups), urls))
    assert all(m.dns and m.dns[0].failure is None for m in done)
    assert sorted(ns.queries) == sorted((h, t, "udp") for h in hosts for t in ("A", "AAAA"))
    assert 2 <= ns.max_outstanding <= 2 * 8 and ns.overload_servfails == 0
    assert IN_FLIGHT * 2 <= 40  # the default keeps below such a forwarder's limit too


def test_connect_does_not_wait_for_the_slower_lookup() -> None:
    """The system resolver answers at once (localhost, from the hosts file); the direct
    query's forwarder takes 1.5 s. The connection starts on the first answer, and the slow
    one is still recorded when it comes."""
    with DNSServer({"localhost": Answer.a("127.0.0.1")}, delay=1.5) as ns, WebServer() as web:
        env = replace(lab_env(ns), resolver="system")
        m = measure(f"http://localhost:{web.port}/", env=env, limits=LIMITS)
    assert m.http[0].status == 200
    assert m.tcp[0].t0 < 1.0
    by_engine = {d.engine: d for d in m.dns}
    assert set(by_engine) == {Engine.SYSTEM, Engine.UDP}
    assert by_engine[Engine.UDP].failure is None and by_engine[Engine.UDP].t >= 1.5


def test_released_fingerprints_are_rebuilt_for_the_next_check() -> None:
    from access_probe.engine import blockpages
    from access_probe.engine.check import release_memory

    blockpages.load()
    count = len(blockpages.fingerprints())
    release_memory()
    assert blockpages.fingerprints.cache_info().currsize == 0
    assert len(blockpages.fingerprints()) == count > 0
