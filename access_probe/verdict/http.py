"""HTTP: the responses themselves. A fingerprinted page (block, warn, captive, sign-in) on
any hop decides; else a failed fetch is compared with the control, a chain that stopped at a
redirect is judged where it stopped, and the final page is judged by its status and by how
it compares with what the control fetched."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from access_probe.engine.addresses import is_bogon
from access_probe.engine.blockpages import PageKind
from access_probe.model import (
    ControlHTTP,
    Failure,
    HTTPObservation,
    Measurement,
    NotFollowed,
    Route,
)
from access_probe.schema import Layer, Method, Status
from access_probe.verdict import dns, tcp, tls
from access_probe.verdict.common import (
    SHORT_BODY_RATIO,
    blocked,
    compare,
    differs,
    kind,
    norm,
    restricted,
    vendor,
    verdict,
)
from access_probe.verdict.failures import RESETS, TIMEOUTS
from access_probe.verdict.records import Facts, PageFacts, Pages, Verdict

__all__ = ["judge"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Statuses a filter answers with in place of the page; 451 is always a legal block.
FILTER_STATUSES = {403, 451, 511}


def judge(f: Facts) -> Verdict | None:
    m, ev = f.m, f.evidence
    if not m.http:
        return None
    for index, hop in enumerate(m.http):
        found = _page_verdict(hop, f.pages.hop(index), f)
        if found is not None:
            return found
    last = m.http[-1]
    if last.failure is not None:
        if last.not_followed is NotFollowed.LOOP:
            return verdict(ev, Status.INCONCLUSIVE, "The site redirects in a loop.")
        if last.failure is Failure.TOO_MANY_REDIRECTS:
            return verdict(ev, Status.INCONCLUSIVE, "The site redirected too many times.")
        method = Method.HTTP_TIMEOUT if last.failure in TIMEOUTS else Method.HTTP_RESET
        return compare(f, Layer.HTTP, method, "The connection was cut while fetching the page.",
                       f.known and last.failure in RESETS)
    if last.status in REDIRECTS and last.location:
        return _broken_chain(f, last)
    return _status_verdict(f, last)


def _page_verdict(hop: HTTPObservation, facts: PageFacts, f: Facts) -> Verdict | None:
    ev = f.evidence
    name, category = vendor(facts)
    if hop.status == 407:
        return restricted(ev, Method.PROXY_AUTH, name, category,
                          "The web proxy asks you to sign in before it lets the site through.")
    page = kind(facts)
    if page == PageKind.BLOCK:
        return blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, name, category,
                       "A web filter served its block page instead of the site.")
    if page == PageKind.WARN:
        return restricted(ev, Method.WARN_PAGE, name, category,
                          "A web filter shows a warning page; you can choose to continue.")
    if page == PageKind.CAPTIVE:
        return restricted(ev, Method.CAPTIVE_PORTAL, name, category,
                          "The network wants you to sign in to its portal first.")
    if page == PageKind.AUTH:
        return restricted(ev, Method.AUTH_PAGE, name, category,
                          "A web filter asks you to sign in before it lets the site through.")
    return None


def _into_private(m: Measurement, location: str) -> bool:
    """A redirect from a public name to a private address literal: no public site sends
    visitors to 10.x or 192.168.x; the network's own filter or portal does."""
    host = urlsplit(location).hostname or ""
    return is_bogon(host) and not is_bogon(m.hostname)


def _broken_chain(f: Facts, last: HTTPObservation) -> Verdict:
    """The chain stopped at a redirect: the next host failed (twitter.com -> a blocked
    x.com), or the measurement did not go there (`last.not_followed` says why). The steps
    made for the next hop, which never answered, are judged as a measurement of their own."""
    m, ev = f.m, f.evidence
    nxt = last.hop + 1
    tail = replace(m, dns=tuple(d for d in m.dns if d.hop == nxt),
                   tcp=tuple(t for t in m.tcp if t.hop == nxt),
                   tls=tuple(t for t in m.tls if t.hop == nxt), http=(), proxy_connect=None)
    there = replace(f, m=tail, pages=Pages())
    for rule in (dns.judge, tcp.judge, tls.judge):
        found = rule(there)
        if found is not None:
            return found
    if last.not_followed is NotFollowed.PRIVATE_ADDRESS or (
            last.location and _into_private(m, last.location)):
        name, category = vendor(f.pages.hop(-1))
        return blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, name, category,
                       "The site was redirected to a page inside this network "
                       "(a filter's block page).")
    if last.not_followed is NotFollowed.NOT_HTTP:
        return verdict(ev, Status.INCONCLUSIVE,
                       "The site redirected to something that is not a web address.")
    return verdict(ev, Status.INCONCLUSIVE,
                   "The site redirected elsewhere, and the measurement ran out of time there.")


def _status_verdict(f: Facts, last: HTTPObservation) -> Verdict:
    """The final response arrived and matched no fingerprint: judge it by its status and by
    how it compares with what the control fetched."""
    ctl, ev, known = f.ctl, f.evidence, f.known
    status = last.status or 0
    proxied = ev.route is Route.PROXY
    facts = f.pages.hop(-1)
    chttp = ctl.http if ctl is not None else None
    ctl_status = chttp.status if chttp is not None else None
    ctl_fine = ctl_status is not None and ctl_status < 400
    if facts.upstream_failure:
        # A proxy's own "could not reach the site" page is never the site's content.
        if ctl is not None and not ctl_fine:
            return verdict(ev, Status.UNREACHABLE,
                           "The web proxy could not reach the site, and neither could the "
                           "control from outside: it is down.")
        if ctl_fine:
            return blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                           f"The web proxy could not fetch the site (HTTP {status}); from "
                           "outside the site works.")
        return verdict(ev, Status.INCONCLUSIVE,
                       f"The web proxy could not fetch the site (HTTP {status}).")
    if facts.way_on and _not_the_site(last, facts, chttp, ctl_fine):
        name, category = vendor(facts)
        return restricted(ev, Method.WARN_PAGE, name, category,
                          "A web filter shows a warning page; you can choose to continue.")
    if kind(facts) == PageKind.BENIGN and facts.matches[0].vendor:
        # A named CDN or protection service (Cloudflare, Akamai...) answered for the site.
        return verdict(ev, Status.ACCESSIBLE,
                       "The site answered; its page is known not to be a filter's.")
    if status == 451:
        return blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                       "The site is withheld here for legal reasons (HTTP 451).")
    if facts.suspicious and (status >= 400 or ctl_fine or (ctl is None and known)):
        return blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, None, facts.category,
                       "A page that reads like a block page was served instead of the site.")
    if status >= 500:
        if ctl is not None and not ctl_fine:
            return verdict(ev, Status.UNREACHABLE, "The site is failing from outside too.")
        if ctl_fine and proxied:
            # Through a proxy the error is the proxy's own; the site works from outside.
            return blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                           f"The web proxy answered HTTP {status}; from outside the site "
                           "works.")
        return verdict(ev, Status.INCONCLUSIVE, f"The site answered HTTP {status} here.")
    if status in FILTER_STATUSES and ctl_fine:
        return blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                       f"The network answered HTTP {status}; from outside the site works.")
    if status in FILTER_STATUSES and ctl_status != status:
        return verdict(ev, Status.INCONCLUSIVE, f"The site answered HTTP {status} here.")
    if chttp is not None and ctl_fine and status < 400 and differs(
            last, chttp.title, chttp.body_length, chttp.server):
        return blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, None, None,
                       "Another page was served in place of the site.")
    return verdict(ev, Status.ACCESSIBLE, "The site's own content arrived.")


def _not_the_site(hop: HTTPObservation, facts: PageFacts, chttp: ControlHTTP | None,
                  ctl_fine: bool) -> bool:
    """A page that is not the site's: it differs from what the control fetched, or, with
    nothing to compare, it is no ordinary answer (an error status, a block page's wording, a
    category it states). A real site's "I understand" cookie banner passes neither test."""
    if facts.suspicious or facts.category is not None:
        return True
    if chttp is not None and ctl_fine:
        return (hop.status != chttp.status or differs(
            hop, chttp.title, chttp.body_length, chttp.server) or bool(
            hop.title and chttp.title and norm(hop.title) != norm(chttp.title))
            or (hop.body_length or 0) < SHORT_BODY_RATIO * (chttp.body_length or 0))
    return (hop.status or 0) >= 400
