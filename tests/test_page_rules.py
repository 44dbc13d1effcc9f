"""General page rules, whoever made the page: a proxy's own upstream-failure page, a
warn-and-continue page from an unnamed filter, the category a page states. Samples are real
products' pages (tests/fixtures/blockpages/); "unnamed" runs judge them with the vendor
fingerprints taken away, as a re-branded filter would be seen."""

from __future__ import annotations

import pytest

from access_probe.engine import blockpages
from access_probe.engine.check import page_facts
from access_probe.model import Control, ControlHTTP, ControlStatus, HTTPObservation, Route
from access_probe.schema import Method, Status
from access_probe.verdict import decide
from tests.test_blockpages import http_obs
from tests.test_verdict import CTL_DOWN_TCP, CTL_OK, dns, meas, tcp, tls

URL = "https://www.youtube.com/"
UPSTREAM_FAILURES = ["squid5-err-read-error.http", "e2guardian5-neterr.http"]
WARN_PAGES = ["paloalto-continue.http", "zscaler-caution.http", "umbrella-warn.http",
              "fortinet-warning.http", "mcafee-coaching.http", "e2guardian5-bypass.http"]
ORDINARY = ["ordinary-login-page.http", "ordinary-news-article.http", "nginx-502.http",
            "e2guardian5-template-user-ip.http", "smoothwall-block.http"]


def judged(obs: HTTPObservation, control: Control | None, *, unnamed: bool = False,
           route: Route = Route.DIRECT):
    m = meas(route=route, tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[obs])
    if unnamed:  # a re-branded filter: no fingerprint knows it
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(blockpages, "match_page", lambda _obs: ())
            pages = page_facts(m)
    else:
        pages = page_facts(m)
    return decide(m, control=control, pages=pages, known_site=True)


@pytest.mark.parametrize("name", UPSTREAM_FAILURES)
def test_upstream_failure_pages_are_recognised(name: str) -> None:
    assert blockpages.upstream_failure(http_obs(name))


@pytest.mark.parametrize("name", [*WARN_PAGES, "ordinary-login-page.http",
                                  "ordinary-news-article.http", "smoothwall-block.http"])
def test_pages_that_are_no_upstream_failure(name: str) -> None:
    assert not blockpages.upstream_failure(http_obs(name))


def test_squid_error_named_only_in_its_header() -> None:
    obs = HTTPObservation(url=URL, t0=0, t=0.1, status=503, title="ERROR",
                          headers={"x-squid-error": "ERR_DNS_FAIL 0"}, body=b"<html></html>")
    assert blockpages.upstream_failure(obs)


@pytest.mark.parametrize("name", UPSTREAM_FAILURES)
@pytest.mark.parametrize("route", [Route.DIRECT, Route.PROXY])
def test_upstream_failure_page_follows_the_control(name: str, route: Route) -> None:
    obs = http_obs(name)
    assert judged(obs, CTL_DOWN_TCP, route=route).status is Status.UNREACHABLE
    down_http = Control(url=URL, status=ControlStatus.UNREACHABLE, dns_addresses=("198.51.100.10",),
                        http=ControlHTTP(status=503, title="Service Unavailable"))
    assert judged(obs, down_http, route=route).status is Status.UNREACHABLE
    up = judged(obs, CTL_OK, route=route)
    assert up.status is Status.BLOCKED and up.blocking is not None
    assert up.blocking.method is Method.HTTP_STATUS
    assert judged(obs, None, route=route).status is Status.INCONCLUSIVE


@pytest.mark.parametrize("name", UPSTREAM_FAILURES)
def test_upstream_failure_page_is_never_accessible(name: str) -> None:
    for control in (None, CTL_OK, CTL_DOWN_TCP):
        assert judged(http_obs(name), control).status is not Status.ACCESSIBLE


@pytest.mark.parametrize("name", WARN_PAGES)
def test_warn_pages_offer_a_way_on(name: str) -> None:
    assert blockpages.offers_way_on(http_obs(name), URL)


@pytest.mark.parametrize("name", ORDINARY)
def test_pages_without_a_way_on(name: str) -> None:
    assert not blockpages.offers_way_on(http_obs(name), URL)


# Umbrella's warn page without a control: a 200 with no category and no block wording, so
# nothing shows it is not the site; with a control it is judged by the comparison.
@pytest.mark.parametrize(("name", "control"), [
    *((name, CTL_OK) for name in WARN_PAGES),
    *((name, None) for name in WARN_PAGES if name != "umbrella-warn.http")])
def test_unnamed_warn_page_is_restricted(name: str, control: Control | None) -> None:
    v = judged(http_obs(name), control, unnamed=True)
    assert v.status is Status.RESTRICTED, v
    assert v.blocking is not None and v.blocking.method is Method.WARN_PAGE


def test_a_sites_own_continue_button_is_not_a_warn_page() -> None:
    own = HTTPObservation(url=URL, t0=0, t=0.1, status=200, title="Example", body_length=50000,
                          headers={"server": "nginx"},
                          body=b'<title>Example</title><a href="https://www.youtube.com/next">'
                               b'Continue</a>')
    assert blockpages.offers_way_on(own, URL)
    m = meas(tcp_obs=[tcp()], tls_obs=[tls()], http_obs=[own])
    for control in (CTL_OK, None):
        assert decide(m, control=control, pages=page_facts(m),
                      known_site=True).status is Status.ACCESSIBLE


@pytest.mark.parametrize(("name", "category"), [
    ("paloalto-continue.http", "streaming-media"),
    ("zscaler-caution.http", "Social Networking"),
    ("fortinet-warning.http", "Social Networking"),
    ("mcafee-coaching.http", "Streaming Media"),
    ("e2guardian5-bypass.http", "Social Networking"),
    ("smoothwall-block.http", "Social Networking"),
])
def test_stated_category_whoever_made_the_page(name: str, category: str) -> None:
    assert blockpages.stated_category(http_obs(name)) == category
    v = judged(http_obs(name), CTL_OK, unnamed=True)
    assert v.blocking is not None and v.blocking.category == category, v


@pytest.mark.parametrize(("text", "category"), [
    ("<p>This site is categorised as Social Networking and is blocked.</p>", "Social Networking"),
    ("<p>The page was classified as <b>Gambling</b>.</p>", "Gambling"),
    ("<td>Categories:</td><td>Games, Chat</td>", "Games"),
    ("<p>Category: Webmail User: jsmith IP: 10.1.2.3</p>", "Webmail"),
    ("<p>Category: 10.1.2.3</p>", None),
    ("<p>No category here.</p>", None),
])
def test_stated_category_forms(text: str, category: str | None) -> None:
    obs = HTTPObservation(url=URL, t0=0, t=0.1, status=403, body=text.encode())
    assert blockpages.stated_category(obs) == category


def test_category_from_a_redirect_parameter_without_the_user() -> None:
    obs = HTTPObservation(url=URL, t0=0, t=0.1, status=302,
                          location="http://filter.example/deny?user=jsmith&cat=Social%20Media")
    assert blockpages.stated_category(obs) == "Social Media"


def test_a_fetched_page_is_not_inconclusive_for_one_failed_lookup() -> None:
    from access_probe.model import Engine, Failure

    m = meas(dns_obs=[dns(Failure.DNS_TIMEOUT),
                      dns(engine=Engine.UDP)], tcp_obs=[tcp()], tls_obs=[tls()],
             http_obs=[HTTPObservation(url=URL, t0=0.05, t=0.1, status=200, title="Example",
                                       body_length=50000, headers={"server": "nginx"})])
    for known in (True, False):
        v = decide(m, control=None, pages=page_facts(m), known_site=known)
        assert v.status is Status.ACCESSIBLE, v
