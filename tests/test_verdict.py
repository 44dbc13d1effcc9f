"""The verdict decision table (docs/verdicts.md), one test per row.

verdict.decide() is pure, so each row is a hand-built Measurement + Control + page facts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from access_probe.engine.blockpages import Confidence, Match, PageKind
from access_probe.model import (
    Control,
    ControlHTTP,
    ControlStatus,
    DNSObservation,
    Engine,
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
from access_probe.schema import Layer, Method, Status
from access_probe.verdict import PageFacts, Pages, decide

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PUBLIC = "198.51.100.10"


def dns(failure: Failure | None = None, addresses: tuple[str, ...] = (PUBLIC,),
        rcode: str | None = None, engine: Engine = Engine.SYSTEM) -> DNSObservation:
    return DNSObservation(engine=engine, resolver="system", hostname="www.example.com", t0=0,
                          t=0.01, failure=failure, addresses=() if failure else addresses,
                          rcode=rcode)


def tcp(failure: Failure | None = None, via_proxy: bool = False) -> TCPObservation:
    return TCPObservation(address=PUBLIC, port=443, t0=0.01, t=0.02, failure=failure,
                          via_proxy=via_proxy)


def tls(failure: Failure | None = None, trusted_by: Trust | None = Trust.PUBLIC,
        issuer: str = "Lab Public CA") -> TLSObservation:
    return TLSObservation(sni="www.example.com", t0=0.02, t=0.05, failure=failure,
                          trusted_by=None if failure else trusted_by, issuer=issuer)


def hop(status: int | None = 200, title: str = "Example", length: int = 50000,
        failure: Failure | None = None, server: str = "nginx") -> HTTPObservation:
    return HTTPObservation(url="https://www.example.com/", t0=0.05, t=0.1, failure=failure,
                           status=None if failure else status, title=title,
                           body_length=length, headers={"server": server})


def meas(*, route: Route = Route.DIRECT, scheme: str = "https", dns_obs=(None,), tcp_obs=(),
         tls_obs=(), http_obs=(), proxy: ProxyObservation | None = None) -> Measurement:
    d = tuple(dns() if x is None else x for x in dns_obs)
    return Measurement(url=f"{scheme}://www.example.com/", hostname="www.example.com",
                       port=443 if scheme == "https" else 80, scheme=scheme, started_at=T0,
                       route=route, dns=d, tcp=tuple(tcp_obs), tls=tuple(tls_obs),
                       http=tuple(http_obs), proxy_connect=proxy)


OK = {"tcp_obs": [tcp()], "tls_obs": [tls()], "http_obs": [hop()]}
CTL_OK = Control(url="https://www.example.com/", status=ControlStatus.ACCESSIBLE,
                 dns_addresses=(PUBLIC,), http=ControlHTTP(status=200, title="Example",
                                                           body_length=50000, server="nginx"))
CTL_DOWN_TCP = Control(url="https://www.example.com/", status=ControlStatus.UNREACHABLE,
                       dns_addresses=(PUBLIC,), tcp_failure=Failure.GENERIC_TIMEOUT)
CTL_NX = Control(url="https://www.example.com/", status=ControlStatus.UNREACHABLE,
                 dns_failure=Failure.DNS_NXDOMAIN)


def page(kind: str, vendor: str | None = "squid", category: str | None = None) -> PageFacts:
    return PageFacts(matches=(Match(id=f"{vendor}-{kind}", vendor=vendor, kind=PageKind(kind),
                                    category=category, confidence=Confidence.HIGH),))


def verdict(m: Measurement, control: Control | None = None, pages: Pages | None = None,
            known: bool = True, online: bool = True):  # noqa: ANN201
    pages = pages or Pages(hops=tuple(PageFacts() for _ in m.http))
    return decide(m, control=control, pages=pages, known_site=known, online=online)


def expect(v, status: Status, layer: Layer | None = None, method: Method | None = None,
           vendor: str | None = None, category: str | None = None) -> None:
    assert v.status is status, v
    if layer is None:
        assert v.blocking is None
    else:
        assert v.blocking is not None, v
        assert (v.blocking.layer, v.blocking.method) == (layer, method)
        assert v.blocking.vendor == vendor
        assert v.blocking.category == category
    assert v.evidence.reason  # every verdict explains itself


# --- rows -----------------------------------------------------------------------------------

def test_open_path_is_accessible() -> None:
    expect(verdict(meas(**OK)), Status.ACCESSIBLE)
    expect(verdict(meas(**OK), CTL_OK), Status.ACCESSIBLE)


def test_offline_overrides_everything() -> None:
    expect(verdict(meas(dns_obs=[dns(Failure.DNS_TIMEOUT)]), online=False), Status.OFFLINE)


@pytest.mark.parametrize(("failure", "method"), [
    (Failure.DNS_NXDOMAIN, Method.DNS_NXDOMAIN),
    (Failure.DNS_REFUSED, Method.DNS_REFUSED),
    (Failure.DNS_SERVFAIL, Method.DNS_SERVFAIL),
    (Failure.DNS_TIMEOUT, Method.DNS_TIMEOUT),
])
def test_dns_failure_with_control_ok_is_blocked(failure: Failure, method: Method) -> None:
    expect(verdict(meas(dns_obs=[dns(failure)]), CTL_OK), Status.BLOCKED, Layer.DNS, method)


def test_dns_failure_seen_by_control_is_unreachable() -> None:
    expect(verdict(meas(dns_obs=[dns(Failure.DNS_NXDOMAIN)]), CTL_NX), Status.UNREACHABLE)


def test_dns_nxdomain_for_known_site_without_control_is_blocked() -> None:
    expect(verdict(meas(dns_obs=[dns(Failure.DNS_NXDOMAIN)])), Status.BLOCKED, Layer.DNS,
           Method.DNS_NXDOMAIN)


def test_dns_nxdomain_for_unknown_site_without_control_is_inconclusive() -> None:
    expect(verdict(meas(dns_obs=[dns(Failure.DNS_NXDOMAIN)]), known=False), Status.INCONCLUSIVE)


def test_dns_timeout_without_control_is_inconclusive() -> None:
    expect(verdict(meas(dns_obs=[dns(Failure.DNS_TIMEOUT)])), Status.INCONCLUSIVE)


def test_direct_query_rcode_beats_getaddrinfo() -> None:
    m = meas(dns_obs=[dns(Failure.DNS_NXDOMAIN),
                      dns(Failure.DNS_REFUSED, rcode="REFUSED", engine=Engine.UDP)])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.DNS, Method.DNS_REFUSED)


@pytest.mark.parametrize("address", ["0.0.0.0", "127.0.0.1", "10.0.0.1", "::"])
def test_bogon_answer_is_sinkhole(address: str) -> None:
    m = meas(dns_obs=[DNSObservation(engine=Engine.SYSTEM, resolver="system",
                                     hostname="www.example.com", t0=0, t=0.01,
                                     failure=Failure.DNS_BOGON, addresses=(address,))])
    expect(verdict(m), Status.BLOCKED, Layer.DNS, Method.DNS_SINKHOLE)
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.DNS, Method.DNS_SINKHOLE)


def test_private_answer_the_control_sees_too_is_not_a_sinkhole() -> None:
    m = meas(dns_obs=[DNSObservation(engine=Engine.SYSTEM, resolver="system", hostname="x",
                                     t0=0, t=0.01, failure=Failure.DNS_BOGON,
                                     addresses=("10.1.2.3",))])
    same = Control(url=m.url, status=ControlStatus.UNREACHABLE, dns_addresses=("10.1.2.3",),
                   tcp_failure=Failure.GENERIC_TIMEOUT)
    assert verdict(m, same).status is not Status.BLOCKED


def test_private_answer_for_unknown_site_without_control_is_inconclusive() -> None:
    m = meas(dns_obs=[DNSObservation(engine=Engine.SYSTEM, resolver="system", hostname="x",
                                     t0=0, t=0.01, failure=Failure.DNS_BOGON,
                                     addresses=("10.1.2.3",))])
    expect(verdict(m, known=False), Status.INCONCLUSIVE)
    null = meas(dns_obs=[DNSObservation(engine=Engine.SYSTEM, resolver="system", hostname="x",
                                        t0=0, t=0.01, failure=Failure.DNS_BOGON,
                                        addresses=("0.0.0.0",))])
    expect(verdict(null, known=False), Status.BLOCKED, Layer.DNS, Method.DNS_SINKHOLE)


def test_answer_pointing_at_block_server_is_sinkhole_with_vendor() -> None:
    """DNS steers the name to a filter's server: another address, a certificate that is not
    the site's, the filter's page. The first divergence is DNS."""
    m = meas(dns_obs=[dns(addresses=("203.0.113.66",))],
             tcp_obs=[tcp()], tls_obs=[tls(Failure.SSL_INVALID_HOSTNAME)])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.DNS, Method.DNS_SINKHOLE)
    plain = meas(scheme="http", dns_obs=[dns(addresses=("203.0.113.66",))], tcp_obs=[tcp()],
                 http_obs=[hop(title="Blocked")])
    pages = Pages(hops=(page("block", vendor="e2guardian", category="Social"),))
    expect(verdict(plain, CTL_OK, pages), Status.BLOCKED, Layer.DNS, Method.DNS_SINKHOLE,
           vendor="e2guardian", category="Social")


def test_known_blocking_address_is_a_sinkhole_without_control() -> None:
    """A filter that parks blocked names on its own public block-page server (Umbrella,
    ISP filters): the fingerprinted answer alone shows it."""
    m = meas(dns_obs=[dns(addresses=("146.112.61.104",))], **OK)
    umbrella = Match(id="umbrella-block-ip", vendor="cisco-umbrella", kind=PageKind.BLOCK,
                     category=None, confidence=Confidence.HIGH)
    pages = Pages(hops=(PageFacts(),), dns_answer=(umbrella,))
    expect(verdict(m, None, pages), Status.BLOCKED, Layer.DNS, Method.DNS_SINKHOLE,
           vendor="cisco-umbrella")
    same_outside = Control(url=m.url, status=ControlStatus.ACCESSIBLE,
                           dns_addresses=("146.112.61.104",),
                           http=ControlHTTP(status=200, title="Example"))
    expect(verdict(m, same_outside, pages), Status.ACCESSIBLE)


def test_cdn_answer_differing_from_control_is_not_a_block() -> None:
    m = meas(dns_obs=[dns(addresses=("203.0.113.5",))], **OK)
    expect(verdict(m, CTL_OK), Status.ACCESSIBLE)


@pytest.mark.parametrize(("failure", "method"), [
    (Failure.CONNECTION_RESET, Method.TCP_RESET),
    (Failure.CONNECTION_REFUSED, Method.TCP_RESET),
    (Failure.GENERIC_TIMEOUT, Method.TCP_TIMEOUT),
    (Failure.HOST_UNREACHABLE, Method.TCP_UNREACHABLE),
    (Failure.ADMIN_PROHIBITED, Method.TCP_UNREACHABLE),
])
def test_tcp_failure_with_control_ok_is_blocked(failure: Failure, method: Method) -> None:
    m = meas(tcp_obs=[tcp(failure), tcp(failure)])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.TCP, method)


def test_tcp_failure_seen_by_control_is_unreachable() -> None:
    m = meas(tcp_obs=[tcp(Failure.GENERIC_TIMEOUT)])
    expect(verdict(m, CTL_DOWN_TCP), Status.UNREACHABLE)


def test_tcp_without_control() -> None:
    reset = meas(tcp_obs=[tcp(Failure.CONNECTION_RESET)])
    expect(verdict(reset), Status.BLOCKED, Layer.TCP, Method.TCP_RESET)
    expect(verdict(reset, known=False), Status.INCONCLUSIVE)
    timeout = meas(tcp_obs=[tcp(Failure.GENERIC_TIMEOUT)])
    expect(verdict(timeout), Status.INCONCLUSIVE)  # a bare timeout proves nothing
    admin = meas(tcp_obs=[tcp(Failure.ADMIN_PROHIBITED)])
    expect(verdict(admin, known=False), Status.BLOCKED, Layer.TCP, Method.TCP_UNREACHABLE)


def test_one_address_connecting_is_enough() -> None:
    m = meas(tcp_obs=[tcp(Failure.GENERIC_TIMEOUT), tcp()], tls_obs=[tls()], http_obs=[hop()])
    expect(verdict(m, CTL_OK), Status.ACCESSIBLE)


def test_tls_reset_is_blocked() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls(Failure.CONNECTION_RESET)])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.TLS, Method.TLS_RESET)
    expect(verdict(m), Status.BLOCKED, Layer.TLS, Method.TLS_RESET)
    eof = meas(tcp_obs=[tcp()], tls_obs=[tls(Failure.EOF)])
    expect(verdict(eof, CTL_OK), Status.BLOCKED, Layer.TLS, Method.TLS_RESET)


def test_tls_timeout() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls(Failure.GENERIC_TIMEOUT)])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.TLS, Method.TLS_TIMEOUT)
    expect(verdict(m), Status.INCONCLUSIVE)


def test_untrusted_certificate() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls(Failure.SSL_UNKNOWN_AUTHORITY)])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.TLS, Method.TLS_FAILURE)
    broken_everywhere = Control(url=m.url, status=ControlStatus.UNREACHABLE,
                                dns_addresses=(PUBLIC,), tls_failure=Failure.SSL_UNKNOWN_AUTHORITY)
    expect(verdict(m, broken_everywhere), Status.UNREACHABLE)


def test_interception_trusted_locally_is_accessible_and_reported() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls(trusted_by=Trust.LOCAL, issuer="Council Inspection CA")],
             http_obs=[hop()])
    v = verdict(m, CTL_OK)
    expect(v, Status.ACCESSIBLE)
    assert v.interception is not None and v.interception.issuer == "Council Inspection CA"
    public = verdict(meas(**OK), CTL_OK)
    assert public.interception is None


def test_interception_is_reported_alongside_a_block() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls(trusted_by=Trust.LOCAL, issuer="Council CA")],
             http_obs=[hop(status=403, title="Access Denied")])
    v = verdict(m, CTL_OK, Pages(hops=(page("block", vendor="fortinet", category="Social"),)))
    expect(v, Status.BLOCKED, Layer.HTTP, Method.HTTP_BLOCKPAGE, "fortinet", "Social")
    assert v.interception is not None


def test_http_reset_and_timeout() -> None:
    reset = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(failure=Failure.CONNECTION_RESET)])
    expect(verdict(reset, CTL_OK), Status.BLOCKED, Layer.HTTP, Method.HTTP_RESET)
    stall = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(failure=Failure.GENERIC_TIMEOUT)])
    expect(verdict(stall, CTL_OK), Status.BLOCKED, Layer.HTTP, Method.HTTP_TIMEOUT)
    expect(verdict(stall), Status.INCONCLUSIVE)


@pytest.mark.parametrize(("kind", "status", "method"), [
    ("block", Status.BLOCKED, Method.HTTP_BLOCKPAGE),
    ("warn", Status.RESTRICTED, Method.WARN_PAGE),
    ("auth", Status.RESTRICTED, Method.AUTH_PAGE),
    ("captive", Status.RESTRICTED, Method.CAPTIVE_PORTAL),
])
def test_fingerprinted_pages(kind: str, status: Status, method: Method) -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=200, title="Filter")])
    v = verdict(m, None, Pages(hops=(page(kind, vendor="e2guardian", category="Social Media"),)))
    expect(v, status, Layer.HTTP, method, "e2guardian", "Social Media")


def test_block_page_at_a_redirect_target() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()],
             http_obs=[hop(status=302, title=""), hop(status=200, title="Web Page Blocked")])
    pages = Pages(hops=(PageFacts(), page("block", vendor="palo-alto")))
    expect(verdict(m, CTL_OK, pages), Status.BLOCKED, Layer.HTTP, Method.HTTP_BLOCKPAGE,
           "palo-alto")


def test_benign_challenge_page_is_not_a_block() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=403, title="Just a moment...")])
    v = verdict(m, CTL_OK, Pages(hops=(page("benign", vendor="cloudflare"),)))
    expect(v, Status.ACCESSIBLE)
    # a generic "not a block page" signature does not hide a status the control disagrees with
    v = verdict(m, CTL_OK, Pages(hops=(page("benign", vendor=None),)))
    expect(v, Status.BLOCKED, Layer.HTTP, Method.HTTP_STATUS)


def test_proxy_refuses_connect() -> None:
    proxy = ProxyObservation(target="www.example.com:443", t0=0, t=0.01,
                             failure=Failure.PROXY_CONNECT_FAILED, status=403)
    m = meas(route=Route.PROXY, dns_obs=(), tcp_obs=[tcp(via_proxy=True)], proxy=proxy)
    v = verdict(m, CTL_OK, Pages(proxy=page("block", vendor="squid")))
    expect(v, Status.BLOCKED, Layer.HTTP, Method.PROXY_DENIED, "squid")
    # no fingerprint and no control: still the proxy's refusal
    expect(verdict(m, None, Pages()), Status.BLOCKED, Layer.HTTP, Method.PROXY_DENIED)


def test_proxy_auth_required() -> None:
    proxy = ProxyObservation(target="www.example.com:443", t0=0, t=0.01,
                             failure=Failure.PROXY_CONNECT_FAILED, status=407)
    m = meas(route=Route.PROXY, dns_obs=(), tcp_obs=[tcp(via_proxy=True)], proxy=proxy)
    expect(verdict(m, CTL_OK, Pages(proxy=page("auth", vendor="squid"))), Status.RESTRICTED,
           Layer.HTTP, Method.PROXY_AUTH, "squid")
    plain = meas(route=Route.PROXY, scheme="http", dns_obs=(), tcp_obs=[tcp(via_proxy=True)],
                 http_obs=[hop(status=407, title="Cache Access Denied")])
    expect(verdict(plain, CTL_OK), Status.RESTRICTED, Layer.HTTP, Method.PROXY_AUTH)


def test_proxy_gateway_error_follows_the_control() -> None:
    """Squid's 503 (its DNS or upstream failed): down everywhere, or a barrier on the way."""
    proxy = ProxyObservation(target="www.example.com:443", t0=0, t=0.01,
                             failure=Failure.PROXY_CONNECT_FAILED, status=503)
    m = meas(route=Route.PROXY, dns_obs=(), tcp_obs=[tcp(via_proxy=True)], proxy=proxy)
    expect(verdict(m, CTL_DOWN_TCP, Pages()), Status.UNREACHABLE)
    expect(verdict(m, CTL_OK, Pages()), Status.BLOCKED, Layer.HTTP, Method.PROXY_DENIED)
    expect(verdict(m, None, Pages()), Status.INCONCLUSIVE)
    plain = meas(route=Route.PROXY, scheme="http", dns_obs=(), tcp_obs=[tcp(via_proxy=True)],
                 http_obs=[hop(status=503, title="ERROR")])
    expect(verdict(plain, CTL_OK), Status.BLOCKED, Layer.HTTP, Method.HTTP_STATUS)
    expect(verdict(plain, None), Status.INCONCLUSIVE)
    direct = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=503, title="ERROR")])
    expect(verdict(direct, CTL_OK), Status.INCONCLUSIVE)  # the site's own flaky backend


def test_proxy_itself_unreachable_is_inconclusive() -> None:
    m = meas(route=Route.PROXY, dns_obs=(), tcp_obs=[tcp(Failure.CONNECTION_REFUSED, True)])
    expect(verdict(m, CTL_OK), Status.INCONCLUSIVE)


def test_proxied_site_that_works() -> None:
    proxy = ProxyObservation(target="www.example.com:443", t0=0, t=0.01, status=200)
    m = meas(route=Route.PROXY, dns_obs=(), tcp_obs=[tcp(via_proxy=True)], proxy=proxy,
             tls_obs=[tls()], http_obs=[hop()])
    expect(verdict(m, CTL_OK), Status.ACCESSIBLE)


def test_filter_status_without_fingerprint() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=403, title="Forbidden")])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.HTTP, Method.HTTP_STATUS)
    same_everywhere = Control(url=m.url, status=ControlStatus.ACCESSIBLE, dns_addresses=(PUBLIC,),
                              http=ControlHTTP(status=403, title="Forbidden"))
    expect(verdict(m, same_everywhere), Status.ACCESSIBLE)
    expect(verdict(meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=451)])),
           Status.BLOCKED, Layer.HTTP, Method.HTTP_STATUS)


def test_suspicious_unmatched_page() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=403, title="Denied")])
    pages = Pages(hops=(PageFacts(suspicious=True),))
    expect(verdict(m, None, pages), Status.BLOCKED, Layer.HTTP, Method.HTTP_BLOCKPAGE)


def test_page_differing_from_control_is_an_unknown_block_page() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()],
             http_obs=[hop(status=200, title="Site blocked", length=900, server="filterd")])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.HTTP, Method.HTTP_BLOCKPAGE)
    # another title alone (A/B test, language) is not enough
    retitled = meas(tcp_obs=[tcp()], tls_obs=[tls()],
                    http_obs=[hop(status=200, title="Example - Home", length=48000)])
    expect(verdict(retitled, CTL_OK), Status.ACCESSIBLE)


def test_server_error_follows_the_control() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[hop(status=503, title="Down")])
    down = Control(url=m.url, status=ControlStatus.UNREACHABLE, dns_addresses=(PUBLIC,),
                   http=ControlHTTP(status=503))
    expect(verdict(m, down), Status.UNREACHABLE)
    expect(verdict(m, CTL_OK), Status.INCONCLUSIVE)


def test_login_redirect_is_accessible() -> None:
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()],
             http_obs=[hop(status=302, title=""), hop(status=200, title="Sign in")])
    expect(verdict(m, None, Pages(hops=(PageFacts(), PageFacts()))), Status.ACCESSIBLE)


def test_unusable_control_counts_as_none() -> None:
    m = meas(tcp_obs=[tcp(Failure.GENERIC_TIMEOUT)])
    refused = Control(url=m.url, refused="not globally routable")
    failed = Control(url=m.url, error="ConnectTimeout")
    expect(verdict(m, refused), Status.INCONCLUSIVE)
    expect(verdict(m, failed), Status.INCONCLUSIVE)


def test_evidence_carries_no_addresses() -> None:
    m = meas(tcp_obs=[tcp(Failure.CONNECTION_RESET)])
    text = repr(verdict(m, CTL_OK).evidence.to_json())
    assert PUBLIC not in text
    assert "connection_reset" in text


def test_redirect_to_a_blocked_host_is_judged_there() -> None:
    """twitter.com answers 301 to x.com, whose name the network will not resolve: the site
    is blocked at DNS, not accessible because the first hop answered."""
    redirect = HTTPObservation(url="https://www.example.com/", t0=0.05, t=0.1, status=301,
                               location="https://x.example.net/", title="",
                               headers={"location": "https://x.example.net/"})
    after = DNSObservation(engine=Engine.SYSTEM, resolver="system", hostname="x.example.net",
                           t0=0.11, t=0.12, failure=Failure.DNS_NXDOMAIN, hop=1)
    m = meas(dns_obs=[dns(), after], tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[redirect])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.DNS, Method.DNS_NXDOMAIN)
    reset_there = TCPObservation(address=PUBLIC, port=443, t0=0.12, t=0.13,
                                 failure=Failure.CONNECTION_RESET, hop=1)
    m2 = meas(dns_obs=[dns()], tcp_obs=[tcp(), reset_there], tls_obs=[tls()],
              http_obs=[redirect])
    expect(verdict(m2, CTL_OK), Status.BLOCKED, Layer.TCP, Method.TCP_RESET)
    stopped = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[redirect])
    expect(verdict(stopped, CTL_OK), Status.INCONCLUSIVE)


def test_redirect_into_the_network_is_a_block_page() -> None:
    """A public site never sends visitors to 10.x: the network's filter does, and the agent
    does not follow it there (an internal address it was not told to probe)."""
    redirect = HTTPObservation(url="http://www.example.com/", t0=0.05, t=0.1, status=302,
                               location="http://10.20.30.40/blocked.html?cat=social",
                               headers={"location": "http://10.20.30.40/blocked.html"})
    m = meas(scheme="http", tcp_obs=[tcp()], http_obs=[redirect])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.HTTP, Method.HTTP_BLOCKPAGE)
    expect(verdict(m, None), Status.BLOCKED, Layer.HTTP, Method.HTTP_BLOCKPAGE)
    public = replace(redirect, location="http://203.0.113.9/moved")
    expect(verdict(meas(scheme="http", tcp_obs=[tcp()], http_obs=[public]), CTL_OK),
           Status.INCONCLUSIVE)


def test_a_broken_chain_is_judged_by_the_hop_of_each_step() -> None:
    """The next host's lookup was shared with an endpoint measured earlier in the check, so
    its times start at this measurement's zero, before the redirect: its hop still places it
    after the redirect (matching on times lost it and said "can't tell")."""
    redirect = HTTPObservation(url="https://www.example.com/", t0=0.05, t=0.1, status=301,
                               location="https://x.example.net/", title="")
    shared = DNSObservation(engine=Engine.SYSTEM, resolver="system", hostname="x.example.net",
                            t0=0.0, t=0.02, failure=Failure.DNS_NXDOMAIN, hop=1)
    m = meas(dns_obs=[dns(), shared], tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[redirect])
    expect(verdict(m, CTL_OK), Status.BLOCKED, Layer.DNS, Method.DNS_NXDOMAIN)
    # A step of the redirect's own hop, however late, is not the next host's.
    late = replace(tcp(Failure.CONNECTION_RESET), t0=0.2, t=0.3)
    stopped = meas(tcp_obs=[tcp(), late], tls_obs=[tls()], http_obs=[redirect])
    assert verdict(stopped, CTL_OK).blocking is None


def test_why_a_redirect_was_not_followed_words_the_verdict() -> None:
    mail = HTTPObservation(url="https://www.example.com/", t0=0.05, t=0.1, status=302,
                           location="mailto:someone@example.com",
                           not_followed=NotFollowed.NOT_HTTP)
    v = verdict(meas(**{**OK, "http_obs": [mail]}), CTL_OK)
    expect(v, Status.INCONCLUSIVE)
    assert "not a web address" in v.evidence.reason
    loop = replace(mail, location="https://www.example.com/", not_followed=NotFollowed.LOOP,
                   failure=Failure.TOO_MANY_REDIRECTS)
    v = verdict(meas(**{**OK, "http_obs": [loop]}), CTL_OK)
    expect(v, Status.INCONCLUSIVE)
    assert "loop" in v.evidence.reason and v.evidence.http is Failure.TOO_MANY_REDIRECTS
