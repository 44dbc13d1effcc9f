"""measure() end to end on loopback: one scenario per way a site can fail or be blocked."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest

from access_probe.engine.measure import Limits, measure, timings_ms
from access_probe.engine.netenv import NetEnv
from access_probe.engine.probe import dns
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Engine, Failure, NotFollowed, Route, Trust
from tests.servers import (
    NO_REPLY,
    NXDOMAIN,
    REFUSED,
    SERVFAIL,
    Answer,
    BlackholeServer,
    CertAuthorities,
    DNSServer,
    Page,
    ResetServer,
    WebServer,
    lab_env,
)

FAST = Limits(timeout=0.5, max_body=4096, max_redirects=3)


@pytest.fixture
def nameserver() -> Iterator[DNSServer]:
    with DNSServer({"site.test": Answer.a("127.0.0.1")}) as server:
        yield server


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_https_through_public_pki(nameserver: DNSServer, cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Real site")}, cert=cas.public_cert()) as web:
        m = measure(web.url("/"), env=lab_env(nameserver, cas), limits=FAST)
    assert (m.hostname, m.port, m.scheme, m.route) == ("site.test", web.port, "https",
                                                       Route.DIRECT)
    assert [(d.engine, d.failure, d.addresses) for d in m.dns] == [
        (Engine.UDP, None, ("127.0.0.1",))]
    assert [t.failure for t in m.tcp] == [None]
    assert m.tls[0].trusted_by is Trust.PUBLIC and m.tls[0].failure is None
    assert [(h.status, h.title) for h in m.http] == [(200, "Real site")]
    assert m.refused is None and m.duration >= m.http[-1].t
    assert set(timings_ms(m)) == {"dns", "tcp", "tls", "http", "total"}


@pytest.mark.parametrize(("answer", "failure"), [
    (NXDOMAIN, Failure.DNS_NXDOMAIN),
    (REFUSED, Failure.DNS_REFUSED),
    (SERVFAIL, Failure.DNS_SERVFAIL),
    (Answer.sinkhole(), Failure.DNS_BOGON),
    (NO_REPLY, Failure.DNS_TIMEOUT),
])
def test_dns_tampering_stops_at_dns(answer: Answer, failure: Failure) -> None:
    with DNSServer({"site.test": answer}) as server:
        m = measure("https://site.test/", env=lab_env(server), limits=FAST)
    assert [d.failure for d in m.dns] == [failure]
    assert m.tcp == () and m.tls == () and m.http == ()
    assert set(timings_ms(m)) == {"dns", "total"}
    assert m.duration < 3 * FAST.timeout


def test_refused(nameserver: DNSServer) -> None:
    m = measure(f"http://site.test:{_closed_port()}/", env=lab_env(nameserver), limits=FAST)
    assert [t.failure for t in m.tcp] == [Failure.CONNECTION_REFUSED] and m.http == ()


def test_silent_drop(nameserver: DNSServer) -> None:
    with BlackholeServer() as hole:
        m = measure(f"https://site.test:{hole.port}/", env=lab_env(nameserver), limits=FAST)
    assert [t.failure for t in m.tcp] == [Failure.GENERIC_TIMEOUT]
    assert m.tls == () and m.duration < 2.0


def test_second_address_tried_after_first_fails(cas: CertAuthorities) -> None:
    with WebServer(cert=cas.public_cert()) as web, DNSServer(
            {"site.test": Answer.a("127.0.0.2", "127.0.0.1")}) as server:
        m = measure(web.url("/"), env=lab_env(server, cas), limits=FAST)
    assert [(t.address, t.failure) for t in m.tcp] == [
        ("127.0.0.2", Failure.CONNECTION_REFUSED), ("127.0.0.1", None)]
    assert m.http[-1].status == 200


@pytest.mark.parametrize(("after_bytes", "expected"), [
    (0, {Failure.CONNECTION_RESET, Failure.EOF}),
    (1, {Failure.CONNECTION_RESET}),
])
def test_reset_during_tls(nameserver: DNSServer, after_bytes: int,
                          expected: set[Failure]) -> None:
    with ResetServer(after_bytes=after_bytes) as server:
        m = measure(f"https://site.test:{server.port}/", env=lab_env(nameserver), limits=FAST)
    if m.tcp[0].failure is not None:
        # An RST racing the end of connect() is reported by connect() itself.
        assert after_bytes == 0 and m.tcp[0].failure is Failure.CONNECTION_RESET
    else:
        assert m.tls[0].failure in expected
    assert m.http == ()


def test_http_reset(nameserver: DNSServer) -> None:
    """The request arrives, then the connection is reset (a keyword filter's move)."""
    with ResetServer(after_bytes=1) as server:
        m = measure(f"http://site.test:{server.port}/", env=lab_env(nameserver), limits=FAST)
    assert m.tcp[0].failure is None
    assert m.http[0].failure in (Failure.CONNECTION_RESET, Failure.EOF)
    assert server.received.startswith(b"GET")


def test_inspection_proxy_trusted_locally(nameserver: DNSServer, cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Real site")}, cert=cas.inspection_cert()) as web:
        env = lab_env(nameserver, cas, local_trusts_inspection=True)
        m = measure(web.url("/"), env=env, limits=FAST)
    tls = m.tls[0]
    assert tls.trusted_by is Trust.LOCAL and tls.failure is None
    assert tls.failure_public is Failure.SSL_UNKNOWN_AUTHORITY
    assert tls.issuer == "Council Inspection CA"
    assert m.http[-1].status == 200 and m.http[-1].title == "Real site"


def test_untrusted_certificate(nameserver: DNSServer, cas: CertAuthorities) -> None:
    with WebServer(cert=cas.rogue_cert()) as web:
        m = measure(web.url("/"), env=lab_env(nameserver, cas), limits=FAST)
    assert m.tls[0].failure is Failure.SSL_UNKNOWN_AUTHORITY and m.tls[0].trusted_by is None
    assert m.tls[0].issuer == "Nobody Trusts Me" and m.http == ()


def test_redirects_recorded_hop_by_hop(cas: CertAuthorities) -> None:
    with WebServer(cert=cas.public_cert("other.test")) as target, DNSServer(
            {"site.test": Answer.a("127.0.0.1"), "other.test": Answer.a("127.0.0.1")}
    ) as server, WebServer({"/a": Page.redirect("/b"),
                            "/b": Page.redirect(target.url("/", host="other.test"), 301)}
                           ) as first:
        m = measure(first.url("/a"), env=lab_env(server, cas), limits=FAST)
    assert [(h.url, h.status) for h in m.http] == [
        (first.url("/a"), 302), (first.url("/b"), 301),
        (target.url("/", host="other.test"), 200)]
    assert [d.hostname for d in m.dns] == ["site.test", "other.test"]
    assert len(m.tcp) == 2 and [t.sni for t in m.tls] == ["other.test"]
    assert target.requests == [("/", f"other.test:{target.port}")]


def test_redirect_loop_is_bounded(nameserver: DNSServer) -> None:
    with WebServer({"/loop": Page.redirect("/loop")}) as web:
        m = measure(web.url("/loop"), env=lab_env(nameserver), limits=FAST)
    assert len(m.http) == FAST.max_redirects + 1
    assert m.http[-1].failure is Failure.TOO_MANY_REDIRECTS
    assert len(m.dns) == 1  # same origin: measured once


def test_body_cap(nameserver: DNSServer) -> None:
    with WebServer({"/": Page.large(100_000)}) as web:
        m = measure(web.url("/"), env=lab_env(nameserver), limits=FAST)
    assert m.http[0].body_length == FAST.max_body


def test_guard_refuses_before_connecting(nameserver: DNSServer) -> None:
    with WebServer() as web:
        m = measure(web.url("/"), env=lab_env(nameserver), limits=FAST,
                    guard=lambda addr: f"{addr} is not globally routable")
    assert m.refused == "127.0.0.1 is not globally routable"
    assert m.tcp == () and m.http == () and web.requests == []


def test_guard_refuses_after_redirect(cas: CertAuthorities) -> None:
    with DNSServer({"site.test": Answer.a("127.0.0.1"), "inside.test": Answer.a("127.0.0.2")}
                   ) as server, WebServer(
            {"/": Page.redirect("http://inside.test/admin")}) as web:
        m = measure(web.url("/"), env=lab_env(server), limits=FAST,
                    guard=lambda addr: "private" if addr == "127.0.0.2" else None)
    assert m.refused == "private"
    assert [h.status for h in m.http] == [302]
    assert [t.address for t in m.tcp] == ["127.0.0.1"]


def test_ip_literal_skips_dns() -> None:
    with WebServer() as web:
        m = measure(f"http://127.0.0.1:{web.port}/", env=NetEnv(), limits=FAST)
    assert m.dns == () and m.http[0].status == 200


@pytest.mark.parametrize("url", ["ftp://site.test/", "https:///nohost", "not a url",
                                 "http://site.test:99999/"])
def test_bad_url_is_an_input_error(url: str) -> None:
    with pytest.raises(ValueError):
        measure(url, env=NetEnv(), limits=FAST)


def test_whole_measurement_is_bounded() -> None:
    """Three silently dropping addresses at 0.4 s each would take 1.2 s; the budget of
    (2 + max_redirects) * timeout = 0.8 s stops the measurement after two."""
    limits = Limits(timeout=0.4, max_redirects=0, max_addresses=3)
    addresses = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(BlackholeServer(address=addresses[0]))
        for address in addresses[1:]:
            stack.enter_context(BlackholeServer(address=address, port=first.port))
        server = stack.enter_context(DNSServer({"site.test": Answer.a(*addresses)}))
        m = measure(f"https://site.test:{first.port}/", env=lab_env(server), limits=limits)
    assert [t.failure for t in m.tcp] == [Failure.GENERIC_TIMEOUT] * 2
    assert m.duration < limits.budget + 0.3


@pytest.mark.parametrize("host", ["exa mple.test", "a" * 70 + ".test", "xn--zz.test"])
def test_odd_names_are_failures_not_exceptions(host: str) -> None:
    with DNSServer() as server:
        m = measure(f"https://{host}/", env=lab_env(server), limits=FAST)
    assert [d.failure is not None for d in m.dns] == [True]
    assert m.tcp == ()


def test_system_resolver_rejects_unencodable_name_locally() -> None:
    # Python's IDNA codec refuses a 70-character label before any query is sent.
    obs = dns.resolve_system("a" * 70 + ".test", ProbeContext(timeout=0.5))
    assert obs.failure is not None and obs.t - obs.t0 < 0.4


def test_redirect_facts_name_the_hop_and_why_a_redirect_was_not_taken(
        nameserver: DNSServer) -> None:
    """Every step carries the hop it was made for; a redirect not taken says why."""
    with WebServer({"/loop": Page.redirect("/loop"), "/a": Page.redirect("/b"),
                    "/b": Page.redirect("/c"), "/c": Page.redirect("/a"),
                    "/mail": Page.redirect("mailto:someone@example.com"),
                    "/inside": Page.redirect("http://10.20.30.40/blocked")}) as web:
        env = lab_env(nameserver)
        loop = measure(web.url("/loop"), env=env, limits=FAST)
        cycle = measure(web.url("/a"), env=env, limits=FAST)
        mail = measure(web.url("/mail"), env=env, limits=FAST)
        inside = measure(web.url("/inside"), env=env, limits=FAST)
        chain = measure(web.url("/b"), env=env, limits=replace(FAST, max_redirects=1))
    assert [h.hop for h in loop.http] == list(range(FAST.max_redirects + 1))
    assert loop.http[-1].not_followed is NotFollowed.LOOP
    assert cycle.http[-1].not_followed is NotFollowed.LOOP
    assert all(h.not_followed is None for h in loop.http[:-1])
    assert mail.http[-1].not_followed is NotFollowed.NOT_HTTP
    assert mail.http[-1].failure is None
    assert inside.http[-1].not_followed is NotFollowed.PRIVATE_ADDRESS
    assert chain.http[-1].not_followed is NotFollowed.TOO_MANY  # /b -> /c -> /a: no repeat
    assert chain.http[-1].failure is Failure.TOO_MANY_REDIRECTS
    assert [(d.hop, t.hop) for d, t in zip(loop.dns, loop.tcp, strict=True)] == [(0, 0)]


def test_steps_for_the_next_host_carry_its_hop(cas: CertAuthorities) -> None:
    """The DNS, TCP and TLS of a redirect's new host are stamped with that hop (the verdict
    judges a chain that broke there by these, not by times)."""
    with WebServer(cert=cas.public_cert("other.test")) as target, DNSServer(
            {"site.test": Answer.a("127.0.0.1"), "other.test": Answer.a("127.0.0.1")}
    ) as server, WebServer({"/a": Page.redirect(target.url("/", host="other.test"))}
                           ) as first:
        m = measure(first.url("/a"), env=lab_env(server, cas), limits=FAST)
    assert [(d.hostname, d.hop) for d in m.dns] == [("site.test", 0), ("other.test", 1)]
    assert [t.hop for t in m.tcp] == [0, 1] and [t.hop for t in m.tls] == [1]
    assert [h.hop for h in m.http] == [0, 1]
