"""From facts to a verdict: one pure decision function, documented in docs/verdicts.md.

`decide()` reads a local `Measurement`, the control vantage point's `Control` (when there is
one), what the block-page matcher found in each response, and two facts about context (is
this a catalogue site; is this machine online). It walks the layers in order and stops at the
first one where the local path diverged from the open Internet. It never looks at the network.

The rule that runs through the table: a local failure is only called `blocked` when something
shows it is local — the control succeeded where we failed, or the failure is one that an open
network does not produce for a well-known site (a reset, a bogon answer, a block page). A
failure the control sees too is `unreachable`; a bare timeout with no control is
`inconclusive`. A down site is never called blocked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from access_probe.engine.addresses import is_bogon
from access_probe.engine.blockpages import Match, PageKind
from access_probe.model import (
    Control,
    ControlHTTP,
    Failure,
    HTTPObservation,
    Measurement,
    Route,
    Trust,
)
from access_probe.schema import Blocking, Evidence, Interception, Layer, Method, Status


@dataclass(frozen=True, slots=True, kw_only=True)
class PageFacts:
    """What the matcher said about one response."""

    matches: tuple[Match, ...] = ()  # best first, as blockpages.match_page orders them
    suspicious: bool = False  # matched nothing, but reads like a block page
    upstream_failure: bool = False  # a proxy's own "could not reach the site" page
    way_on: bool = False  # offers Continue/Proceed/... on to the requested URL
    category: str | None = None  # the category the page itself states, cleaned


@dataclass(frozen=True, slots=True, kw_only=True)
class Pages:
    proxy: PageFacts = field(default_factory=PageFacts)  # the proxy's answer to CONNECT
    hops: tuple[PageFacts, ...] = ()  # one per HTTP observation, same order
    dns_answer: tuple[Match, ...] = ()  # known block-page/sinkhole addresses in the answer


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    status: Status
    blocking: Blocking | None = None
    interception: Interception | None = None
    evidence: Evidence = field(default_factory=Evidence)


# Failure names grouped by what they say about the path.
RESETS = {Failure.CONNECTION_RESET, Failure.EOF}
TIMEOUTS = {Failure.GENERIC_TIMEOUT, Failure.DNS_TIMEOUT}
UNREACHABLES = {Failure.HOST_UNREACHABLE, Failure.NETWORK_UNREACHABLE, Failure.ADMIN_PROHIBITED}
CERT_FAILURES = {
    Failure.SSL_UNKNOWN_AUTHORITY,
    Failure.SSL_INVALID_HOSTNAME,
    Failure.SSL_INVALID_CERTIFICATE,
}
DNS_METHODS = {
    Failure.DNS_NXDOMAIN: Method.DNS_NXDOMAIN,
    Failure.DNS_REFUSED: Method.DNS_REFUSED,
    Failure.DNS_SERVFAIL: Method.DNS_SERVFAIL,
    Failure.DNS_NO_ANSWER: Method.DNS_NO_ANSWER,
    Failure.DNS_TIMEOUT: Method.DNS_TIMEOUT,
    Failure.GENERIC_TIMEOUT: Method.DNS_TIMEOUT,
    Failure.DNS_BOGON: Method.DNS_SINKHOLE,
}
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Statuses a filter answers with in place of the page; 451 is always a legal block.
FILTER_STATUSES = {403, 451, 511}
# A page this much shorter than the control's, with another title, is not the site.
SHORT_BODY_RATIO = 0.3


def decide(m: Measurement, *, control: Control | None, pages: Pages, known_site: bool,
           online: bool = True) -> Verdict:
    """The contract's verdict for one measurement. Pure: same inputs, same answer."""
    ctl = control if control is not None and control.usable else None
    evidence = _evidence(m, pages)
    interception = _interception(m)
    if not online:
        return _verdict(Status.OFFLINE, evidence, "This machine had no working network.")
    if m.refused:
        return _verdict(Status.INCONCLUSIVE, evidence, "The measurement was not allowed.")
    for step in (_proxy_step, _dns_step, _tcp_step, _tls_step, _http_step):
        verdict = step(m, ctl, pages, known_site, evidence)
        if verdict is not None:
            return _with_interception(verdict, interception)
    return _with_interception(_verdict(Status.INCONCLUSIVE, evidence,
                                       "The measurement stopped before any answer."),
                              interception)


# --- one function per layer: None means "no divergence here, look further" ---------------


def _proxy_step(m: Measurement, ctl: Control | None, pages: Pages, known: bool,
                ev: Evidence) -> Verdict | None:
    if m.route is not Route.PROXY:
        return None
    proxy_tcp = [t for t in m.tcp if t.via_proxy]
    if proxy_tcp and all(t.failure for t in proxy_tcp):
        return _verdict(Status.INCONCLUSIVE, ev, "The web proxy could not be reached.")
    pc = m.proxy_connect
    if pc is None or pc.status is None or 200 <= pc.status < 300:
        if pc is not None and pc.failure in RESETS | TIMEOUTS and ctl_ok(ctl, "http"):
            method = Method.HTTP_RESET if pc.failure in RESETS else Method.HTTP_TIMEOUT
            return _blocked(ev, Layer.HTTP, method, None, None,
                            "The proxy dropped the connection to the site.")
        return None
    vendor, category = _vendor(pages.proxy)
    if pc.status == 407:
        return _restricted(ev, Method.PROXY_AUTH, vendor, category,
                           "The web proxy asks you to sign in before it lets the site through.")
    kind = _kind(pages.proxy)
    if kind == PageKind.WARN:
        return _restricted(ev, Method.WARN_PAGE, vendor, category,
                           "The web filter shows a warning page before the site.")
    if (pc.status >= 500 or pages.proxy.upstream_failure) and kind != PageKind.BLOCK:
        # The proxy failed to reach the site itself (its DNS, its upstream firewall): only
        # the control can say whether that is the site being down or a barrier on the way.
        if ctl is not None and ctl.status == "unreachable":
            return _verdict(Status.UNREACHABLE, ev, "The site is down from outside too.")
        if ctl_ok(ctl, "http"):
            return _blocked(ev, Layer.HTTP, Method.PROXY_DENIED, vendor, None,
                            f"The web proxy could not fetch the site (HTTP {pc.status}); "
                            "from outside it works.")
        return _verdict(Status.INCONCLUSIVE, ev,
                        f"The web proxy could not fetch the site (HTTP {pc.status}).")
    return _blocked(ev, Layer.HTTP, Method.PROXY_DENIED, vendor, category,
                    f"The web proxy refused to connect to the site (HTTP {pc.status}).")


def _dns_step(m: Measurement, ctl: Control | None, pages: Pages, known: bool,
              ev: Evidence) -> Verdict | None:
    if m.route is Route.PROXY or not m.dns:
        return None
    used = m.dns[0]  # the lookup whose answer the connection used
    same_outside = ctl is not None and bool(used.addresses) and set(used.addresses) <= set(
        ctl.dns_addresses)  # the control got this answer too: the site really publishes it
    if used.failure is None and pages.dns_answer and not same_outside:
        vendor, category = _vendor(PageFacts(matches=pages.dns_answer))
        if vendor is None:
            vendor, category = _vendor(_first_pages(pages))
        return _blocked(ev, Layer.DNS, Method.DNS_SINKHOLE, vendor, category,
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
        if ctl is not None or known or _null_route(used.addresses):
            vendor, category = _vendor(_first_pages(pages))
            return _blocked(ev, Layer.DNS, Method.DNS_SINKHOLE, vendor, category,
                            "The network's DNS gave a false address for the site.")
        return _verdict(Status.INCONCLUSIVE, ev, "The site's name resolved to a private address.")
    method = DNS_METHODS.get(failure, Method.DNS_SERVFAIL)
    if ctl is not None:
        if ctl.dns_failure is None and ctl.dns_addresses:
            return _blocked(ev, Layer.DNS, method, None, None,
                            "The network's DNS would not give the site's address, "
                            "which resolves normally from outside.")
        return _verdict(Status.UNREACHABLE, ev,
                        "The site's name does not resolve from outside either.")
    if _content_arrived(m):
        # The other lookup's answer carried the connection all the way to a response: a DNS
        # hiccup is no reason to call a fetched page "can't tell"; the later layers judge it.
        return None
    if known and failure not in TIMEOUTS:
        return _blocked(ev, Layer.DNS, method, None, None,
                        "The network's DNS would not give the address of a well-known site.")
    return _verdict(Status.INCONCLUSIVE, ev, "The site's name did not resolve here.")


def _content_arrived(m: Measurement) -> bool:
    """Did a response come back from the site's own addresses (not a proxy's)?"""
    return m.route is not Route.PROXY and any(h.status is not None for h in m.http)


def _tcp_step(m: Measurement, ctl: Control | None, pages: Pages, known: bool,
              ev: Evidence) -> Verdict | None:
    site_tcp = [t for t in m.tcp if not t.via_proxy]
    if m.route is Route.PROXY or not site_tcp or any(t.failure is None for t in site_tcp):
        return None
    failure = site_tcp[-1].failure
    if failure in RESETS or failure is Failure.CONNECTION_REFUSED:
        method, why = Method.TCP_RESET, "The connection was reset."
    elif failure in UNREACHABLES:
        method, why = Method.TCP_UNREACHABLE, "A router said the site is unreachable."
    else:
        method, why = Method.TCP_TIMEOUT, "The connection was silently dropped."
    # An explicit "administratively prohibited" is a firewall's own word; a reset or an
    # unreachable for a well-known site is one too; a bare timeout proves nothing alone.
    proven = failure is Failure.ADMIN_PROHIBITED or (known and method is not Method.TCP_TIMEOUT)
    return _compare(ev, ctl, "tcp", Layer.TCP, method, why, proven)


def _tls_step(m: Measurement, ctl: Control | None, pages: Pages, known: bool,
              ev: Evidence) -> Verdict | None:
    if m.scheme != "https" or not m.tls or any(t.failure is None for t in m.tls):
        return None
    failure = m.tls[-1].failure
    if failure in RESETS:
        method, why = Method.TLS_RESET, "The secure connection was reset when it named the site."
        return _compare(ev, ctl, "tls", Layer.TLS, method, why, known)
    if failure in TIMEOUTS:
        return _compare(ev, ctl, "tls", Layer.TLS, Method.TLS_TIMEOUT,
                        "The secure connection stalled.", False)
    why = "The site's certificate was not genuine here."
    return _compare(ev, ctl, "tls", Layer.TLS, Method.TLS_FAILURE, why,
                    known and failure in CERT_FAILURES)


def _http_step(m: Measurement, ctl: Control | None, pages: Pages, known: bool,
               ev: Evidence) -> Verdict | None:
    if not m.http:
        return None
    for index, hop in enumerate(m.http):
        facts = pages.hops[index] if index < len(pages.hops) else PageFacts()
        verdict = _page_verdict(hop, facts, ev)
        if verdict is not None:
            return verdict
    last = m.http[-1]
    if last.failure is not None:
        if last.failure is Failure.TOO_MANY_REDIRECTS:
            return _verdict(Status.INCONCLUSIVE, ev, "The site redirected too many times.")
        method = Method.HTTP_TIMEOUT if last.failure in TIMEOUTS else Method.HTTP_RESET
        why = "The connection was cut while fetching the page."
        return _compare(ev, ctl, "http", Layer.HTTP, method, why,
                        known and last.failure in RESETS)
    if last.status in REDIRECTS and last.location:
        return _broken_chain(m, last, pages, ctl, known, ev)
    return _status_verdict(last, pages, ctl, known, ev)


def _into_private(m: Measurement, location: str) -> bool:
    """A redirect from a public name to a private address literal: no public site sends
    visitors to 10.x or 192.168.x; the network's own filter or portal does."""
    host = urlsplit(location).hostname or ""
    return is_bogon(host) and not is_bogon(m.hostname)


def _broken_chain(m: Measurement, last: HTTPObservation, pages: Pages, ctl: Control | None,
                  known: bool, ev: Evidence) -> Verdict:
    """The chain stopped at a redirect: the next host failed (twitter.com -> a blocked
    x.com). Judge the steps taken after the redirect as a measurement of their own."""
    tail = replace(m, dns=tuple(d for d in m.dns if d.t0 >= last.t),
                   tcp=tuple(t for t in m.tcp if t.t0 >= last.t),
                   tls=tuple(t for t in m.tls if t.t0 >= last.t), http=(), proxy_connect=None)
    for step in (_dns_step, _tcp_step, _tls_step):
        verdict = step(tail, ctl, Pages(), known, ev)
        if verdict is not None:
            return verdict
    if last.location and _into_private(m, last.location):
        vendor, category = _vendor(pages.hops[-1] if pages.hops else PageFacts())
        return _blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, vendor, category,
                        "The site was redirected to a page inside this network "
                        "(a filter's block page).")
    return _verdict(Status.INCONCLUSIVE, ev,
                    "The site redirected elsewhere, and the measurement ran out of time there.")


def _page_verdict(hop: HTTPObservation, facts: PageFacts, ev: Evidence) -> Verdict | None:
    vendor, category = _vendor(facts)
    if hop.status == 407:
        return _restricted(ev, Method.PROXY_AUTH, vendor, category,
                           "The web proxy asks you to sign in before it lets the site through.")
    kind = _kind(facts)
    if kind == PageKind.BLOCK:
        return _blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, vendor, category,
                        "A web filter served its block page instead of the site.")
    if kind == PageKind.WARN:
        return _restricted(ev, Method.WARN_PAGE, vendor, category,
                           "A web filter shows a warning page; you can choose to continue.")
    if kind == PageKind.CAPTIVE:
        return _restricted(ev, Method.CAPTIVE_PORTAL, vendor, category,
                           "The network wants you to sign in to its portal first.")
    if kind == PageKind.AUTH:
        return _restricted(ev, Method.AUTH_PAGE, vendor, category,
                           "A web filter asks you to sign in before it lets the site through.")
    return None


def _status_verdict(last: HTTPObservation, pages: Pages, ctl: Control | None, known: bool,
                    ev: Evidence) -> Verdict:
    """The final response arrived and matched no fingerprint: judge it by its status and by
    how it compares with what the control fetched."""
    status = last.status or 0
    proxied = ev.route == str(Route.PROXY)
    facts = pages.hops[-1] if pages.hops else PageFacts()
    chttp = ctl.http if ctl is not None else None
    ctl_status = chttp.status if chttp is not None else None
    ctl_fine = ctl_status is not None and ctl_status < 400
    if facts.upstream_failure:
        # A proxy's own "could not reach the site" page is never the site's content.
        if ctl is not None and not ctl_fine:
            return _verdict(Status.UNREACHABLE, ev,
                            "The web proxy could not reach the site, and neither could the "
                            "control from outside: it is down.")
        if ctl_fine:
            return _blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                            f"The web proxy could not fetch the site (HTTP {status}); from "
                            "outside the site works.")
        return _verdict(Status.INCONCLUSIVE, ev,
                        f"The web proxy could not fetch the site (HTTP {status}).")
    if facts.way_on and _not_the_site(last, facts, chttp, ctl_fine):
        vendor, category = _vendor(facts)
        return _restricted(ev, Method.WARN_PAGE, vendor, category,
                           "A web filter shows a warning page; you can choose to continue.")
    if _kind(facts) == PageKind.BENIGN and facts.matches[0].vendor:
        # A named CDN or protection service (Cloudflare, Akamai...) answered for the site.
        return _verdict(Status.ACCESSIBLE, ev,
                        "The site answered; its page is known not to be a filter's.")
    if status == 451:
        return _blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                        "The site is withheld here for legal reasons (HTTP 451).")
    if facts.suspicious and (status >= 400 or ctl_fine or (ctl is None and known)):
        return _blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, None, facts.category,
                        "A page that reads like a block page was served instead of the site.")
    if status >= 500:
        if ctl is not None and not ctl_fine:
            return _verdict(Status.UNREACHABLE, ev, "The site is failing from outside too.")
        if ctl_fine and proxied:
            # Through a proxy the error is the proxy's own; the site works from outside.
            return _blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                            f"The web proxy answered HTTP {status}; from outside the site "
                            "works.")
        return _verdict(Status.INCONCLUSIVE, ev, f"The site answered HTTP {status} here.")
    if status in FILTER_STATUSES and ctl_fine:
        return _blocked(ev, Layer.HTTP, Method.HTTP_STATUS, None, None,
                        f"The network answered HTTP {status}; from outside the site works.")
    if status in FILTER_STATUSES and ctl_status != status:
        return _verdict(Status.INCONCLUSIVE, ev, f"The site answered HTTP {status} here.")
    if chttp is not None and ctl_fine and status < 400 and _differs(
            last, chttp.title, chttp.body_length, chttp.server):
        return _blocked(ev, Layer.HTTP, Method.HTTP_BLOCKPAGE, None, None,
                        "Another page was served in place of the site.")
    return _verdict(Status.ACCESSIBLE, ev, "The site's own content arrived.")


# --- helpers -------------------------------------------------------------------------------


def _compare(ev: Evidence, ctl: Control | None, layer_name: str, layer: Layer, method: Method,
             why: str, blocked_without_control: bool) -> Verdict:
    """A failure at `layer`: blocked if the control got past that layer, unreachable if the
    control failed too, else decided by what the failure itself proves."""
    if ctl is not None:
        if ctl_ok(ctl, layer_name):
            return _blocked(ev, layer, method, None, None, why + " From outside the site works.")
        return _verdict(Status.UNREACHABLE, ev, "The site fails from outside too: it is down.")
    if blocked_without_control:
        return _blocked(ev, layer, method, None, None, why)
    return _verdict(Status.INCONCLUSIVE, ev, why + " Without a control measurement, the cause "
                    "could be the site or the network.")


def ctl_ok(ctl: Control | None, layer_name: str) -> bool:
    """Did the control get past this layer?"""
    if ctl is None:
        return False
    if ctl.status == "accessible":
        return True
    order = ["dns", "tcp", "tls", "http"]
    failures = {"dns": ctl.dns_failure, "tcp": ctl.tcp_failure, "tls": ctl.tls_failure,
                "http": ctl.http.failure if ctl.http else None}
    reached = order[: order.index(layer_name) + 1]
    if any(failures[name] for name in reached):
        return False
    return layer_name != "http" or (ctl.http is not None and ctl.http.status is not None)


def _not_the_site(hop: HTTPObservation, facts: PageFacts, chttp: ControlHTTP | None,
                  ctl_fine: bool) -> bool:
    """A page that is not the site's: it differs from what the control fetched, or, with
    nothing to compare, it is no ordinary answer (an error status, a block page's wording, a
    category it states). A real site's "I understand" cookie banner passes neither test."""
    if facts.suspicious or facts.category is not None:
        return True
    if chttp is not None and ctl_fine:
        return (hop.status != chttp.status or _differs(
            hop, chttp.title, chttp.body_length, chttp.server) or bool(
            hop.title and chttp.title and _norm(hop.title) != _norm(chttp.title))
            or (hop.body_length or 0) < SHORT_BODY_RATIO * (chttp.body_length or 0))
    return (hop.status or 0) >= 400 or facts.suspicious or facts.category is not None


def _differs(hop: HTTPObservation, title: str | None, body_length: int | None,
             server: str | None) -> bool:
    """A page that is not the site's: another title, plus a much shorter body or another
    server. Titles alone change (A/B tests, languages); two signs together rarely lie."""
    if not title or not hop.title or _norm(hop.title) == _norm(title):
        return False
    shorter = bool(body_length) and (hop.body_length or 0) < SHORT_BODY_RATIO * (body_length or 0)
    local_server = hop.headers.get("server")
    other_server = bool(server and local_server) and _norm(server or "").split("/")[0] != _norm(
        local_server or "").split("/")[0]
    return shorter or other_server


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


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
    http_other = m.scheme == "http" and bool(m.http) and ctl.http is not None and any(
        h.title and ctl.http.title and _norm(h.title) != _norm(ctl.http.title) for h in m.http)
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


def _first_pages(pages: Pages) -> PageFacts:
    return pages.hops[0] if pages.hops else PageFacts()


def _kind(facts: PageFacts) -> PageKind | None:
    return facts.matches[0].kind if facts.matches else None


def _vendor(facts: PageFacts) -> tuple[str | None, str | None]:
    """The product named by the best match that names one, and a category only from that
    same product's matches (a low-confidence match of another vendor must not lend one)."""
    vendor = next((m.vendor for m in facts.matches if m.vendor), None)
    category = next((m.category for m in facts.matches
                     if m.category and m.vendor in (vendor, None)), None)
    return vendor, category or facts.category


def _interception(m: Measurement) -> Interception | None:
    for tls in m.tls:
        if tls.failure is None and tls.trusted_by is Trust.LOCAL:
            return Interception(issuer=tls.issuer or "unknown")
    return None


def _evidence(m: Measurement, pages: Pages) -> Evidence:
    def first_failure(items: Sequence[object]) -> str | None:
        for item in items:
            failure = getattr(item, "failure", None)
            if failure is not None:
                return str(failure)
        return None

    fingerprints = [x.id for x in pages.proxy.matches]
    for facts in pages.hops:
        fingerprints.extend(x.id for x in facts.matches)
    last = m.http[-1] if m.http else None
    return Evidence(
        route=str(m.route),
        pac=m.pac.split()[0].upper() if m.pac else None,
        dns=first_failure(m.dns[:1]),
        tcp=None if any(t.failure is None for t in m.tcp) else first_failure(m.tcp),
        tls=None if any(t.failure is None for t in m.tls) else first_failure(m.tls),
        http=str(last.failure) if last is not None and last.failure else None,
        http_status=last.status if last is not None else None,
        proxy_status=m.proxy_connect.status if m.proxy_connect else None,
        fingerprints=tuple(dict.fromkeys(fingerprints)),
    )


def _verdict(status: Status, ev: Evidence, reason: str) -> Verdict:
    return Verdict(status=status, evidence=_reason(ev, reason))


def _blocked(ev: Evidence, layer: Layer, method: Method, vendor: str | None,
             category: str | None, reason: str) -> Verdict:
    blocking = Blocking(layer=layer, method=method, vendor=vendor, category=category)
    return Verdict(status=Status.BLOCKED, blocking=blocking, evidence=_reason(ev, reason))


def _restricted(ev: Evidence, method: Method, vendor: str | None, category: str | None,
                reason: str) -> Verdict:
    blocking = Blocking(layer=Layer.HTTP, method=method, vendor=vendor, category=category)
    return Verdict(status=Status.RESTRICTED, blocking=blocking, evidence=_reason(ev, reason))


def _reason(ev: Evidence, reason: str) -> Evidence:
    return replace(ev, reason=reason)


def _with_interception(verdict: Verdict, interception: Interception | None) -> Verdict:
    if interception is None:
        return verdict
    return replace(verdict, interception=interception)
