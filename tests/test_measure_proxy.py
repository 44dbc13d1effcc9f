"""measure() through an explicit proxy on loopback: tunnel, refusal, auth, plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from access_probe.engine.measure import Limits, measure, timings_ms
from access_probe.model import Failure, Route, Trust
from tests.servers import CertAuthorities, Decision, Page, ProxyServer, WebServer, lab_env

FAST = Limits(timeout=1.0, max_body=4096, max_redirects=3)


def _proxy(decision: Decision, credentials: str | None = None) -> ProxyServer:
    return ProxyServer(policy=lambda host: decision if host == "site.test" else Decision.ALLOW,
                       hosts={"site.test": "127.0.0.1", "other.test": "127.0.0.1"},
                       credentials=credentials)


@pytest.fixture
def site(cas: CertAuthorities) -> Iterator[WebServer]:
    with WebServer({"/": Page.html("Real site")}, cert=cas.public_cert()) as web:
        yield web


def test_https_through_allowing_proxy(site: WebServer, cas: CertAuthorities) -> None:
    with _proxy(Decision.ALLOW) as proxy:
        m = measure(site.url("/"), env=lab_env(cas=cas, proxy=proxy.url), limits=FAST)
    assert m.route is Route.PROXY and m.proxy == proxy.url
    assert m.dns == ()  # the proxy resolves the site, not us
    assert [(t.via_proxy, t.failure) for t in m.tcp] == [(True, None)]
    assert m.proxy_connect is not None and m.proxy_connect.status == 200
    assert m.tls[0].trusted_by is Trust.PUBLIC and m.tls[0].address is None
    assert [(h.status, h.title) for h in m.http] == [(200, "Real site")]
    assert [entry.method for entry in proxy.log] == ["CONNECT"]  # the GET rides the probed tunnel
    assert "tcp" in timings_ms(m)


def test_proxy_refuses_connect(site: WebServer, cas: CertAuthorities) -> None:
    with _proxy(Decision.DENY) as proxy:
        m = measure(site.url("/"), env=lab_env(cas=cas, proxy=proxy.url), limits=FAST)
    assert m.proxy_connect is not None
    assert m.proxy_connect.failure is Failure.PROXY_CONNECT_FAILED
    assert m.proxy_connect.status == 403
    assert m.proxy_connect.headers["x-squid-error"].startswith("ERR_ACCESS_DENIED")
    assert m.tls == () and m.http == () and site.requests == []


def test_proxy_wants_authentication(site: WebServer, cas: CertAuthorities) -> None:
    with _proxy(Decision.AUTH) as proxy:
        m = measure(site.url("/"), env=lab_env(cas=cas, proxy=proxy.url), limits=FAST)
    assert m.proxy_connect is not None and m.proxy_connect.status == 407
    assert "proxy-authenticate" in m.proxy_connect.headers


def test_proxy_credentials_in_url_are_used(site: WebServer, cas: CertAuthorities) -> None:
    with _proxy(Decision.AUTH, credentials="alice:pw") as proxy:
        url = f"http://alice:pw@127.0.0.1:{proxy.port}"
        m = measure(site.url("/"), env=lab_env(cas=cas, proxy=url), limits=FAST)
    assert m.proxy_connect is not None and m.proxy_connect.status == 200
    assert m.http[-1].status == 200
    assert m.proxy == f"http://127.0.0.1:{proxy.port}"  # the password is not recorded


def test_plain_http_block_page_from_proxy() -> None:
    with WebServer({"/": Page.html("Real site")}) as web, _proxy(Decision.DENY) as proxy:
        m = measure(web.url("/"), env=lab_env(proxy=proxy.url), limits=FAST)
    assert m.proxy_connect is None
    assert m.http[0].status == 403
    assert m.http[0].headers["x-squid-error"].startswith("ERR_ACCESS_DENIED")
    assert m.http[0].title == "ERROR: The requested URL could not be retrieved"
    assert web.requests == []


def test_plain_http_forwarded() -> None:
    with WebServer({"/": Page.html("Real site")}) as web, _proxy(Decision.ALLOW) as proxy:
        m = measure(web.url("/"), env=lab_env(proxy=proxy.url), limits=FAST)
    assert m.http[0].status == 200 and m.http[0].title == "Real site"
    assert m.http[0].headers["via"] == "1.1 testproxy"
    assert proxy.log[0].method == "GET" and proxy.log[0].target == web.url("/")


def test_redirect_to_refused_host_records_that_connect(cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Other")}, cert=cas.public_cert("other.test")) as other, \
            WebServer({"/": Page.redirect(other.url("/", host="other.test"))},
                      cert=cas.public_cert("site.test")) as first, \
            ProxyServer(policy=lambda h: Decision.DENY if h == "other.test" else Decision.ALLOW,
                        hosts={"site.test": "127.0.0.1", "other.test": "127.0.0.1"}) as proxy:
        m = measure(first.url("/"), env=lab_env(cas=cas, proxy=proxy.url), limits=FAST)
    assert [h.status for h in m.http] == [302]
    assert m.proxy_connect is not None and m.proxy_connect.status == 403
    assert m.proxy_connect.target == f"other.test:{other.port}"


def test_unreachable_proxy() -> None:
    m = measure("https://site.test/", env=lab_env(proxy="http://127.0.0.1:9"), limits=FAST)
    assert [(t.via_proxy, t.failure) for t in m.tcp] == [(True, Failure.CONNECTION_REFUSED)]
    assert m.proxy_connect is None and m.http == ()


def test_inspecting_proxy_trusted_locally(cas: CertAuthorities) -> None:
    with ProxyServer(intercept=cas.inspection_cert(),
                     intercept_page=Page.html("Real site")) as proxy:
        env = lab_env(cas=cas, proxy=proxy.url, local_trusts_inspection=True)
        m = measure("https://site.test/", env=env, limits=FAST)
    assert m.proxy_connect is not None and m.proxy_connect.status == 200
    tls = m.tls[0]
    assert (tls.trusted_by, tls.failure, tls.failure_public) == (
        Trust.LOCAL, None, Failure.SSL_UNKNOWN_AUTHORITY)
    assert tls.issuer == "Council Inspection CA"
    assert m.http[-1].status == 200 and m.http[-1].title == "Real site"


def test_https_block_page_after_inspection(cas: CertAuthorities) -> None:
    page = Page.html("Access Denied - Web Filter", status=403,
                     headers=(("X-Filter-Category", "Social Networking"),))
    with ProxyServer(intercept=cas.inspection_cert(), intercept_page=page) as proxy:
        env = lab_env(cas=cas, proxy=proxy.url, local_trusts_inspection=True)
        m = measure("https://site.test/", env=env, limits=FAST)
    assert m.tls[0].trusted_by is Trust.LOCAL
    assert m.http[-1].status == 403
    assert m.http[-1].headers["x-filter-category"] == "Social Networking"


def test_inspecting_proxy_not_trusted_here(cas: CertAuthorities) -> None:
    with ProxyServer(intercept=cas.inspection_cert()) as proxy:
        m = measure("https://site.test/", env=lab_env(cas=cas, proxy=proxy.url), limits=FAST)
    assert m.tls[0].failure is Failure.SSL_UNKNOWN_AUTHORITY
    assert m.tls[0].issuer == "Council Inspection CA" and m.http == ()
