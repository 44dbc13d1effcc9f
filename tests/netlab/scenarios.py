"""What the product must say in each council network: the lab's table of expectations.

A `Run` is one `access-probe check --json` inside a client namespace (one council, one
machine, one configuration). An `Expect` is one row: for that run and URL, the contract's
status, blocking layer/method, and the vendor/category/interception issuer where the
evidence shows them (`ANY` where the page does not name a product).
See docs/lab.md for why each row says what it says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import world
from .councils import WARN_USER

ANY = "<any>"
U = world.url
FB, YT, X, IG = "www.facebook.com", "www.youtube.com", "x.com", "www.instagram.com"
GOV, KHUB, TT = "www.gov.uk", "khub.net", "www.tiktok.com"
DOWN, NOWHERE = world.DOWN_NAME, world.NONEXISTENT_NAME


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    id: str
    council: str
    client: int = 0
    proxy: str = "none"  # none | system | "gateway:<port>" (the council's proxy)
    store: str = "public"  # the machine's own trust store: "public" or "council"
    resolver: str = "system"  # dns.resolver: "system" or "gateway" (the council's resolver IP)
    env: dict[str, str] = field(default_factory=dict)  # "{gateway}": the council's gateway
    timeout: float = 3.0
    urls: tuple[str, ...] = ()
    control: bool = True  # False: no control.url, the verdict rests on the catalogue alone


@dataclass(frozen=True, slots=True, kw_only=True)
class Expect:
    run: str
    url: str
    status: str
    layer: str | None = None
    method: str | None = None
    vendor: str | None = ANY
    category: str | None = ANY
    interception: str | None = None  # the issuer, or None: no interception reported
    control: str | None = ANY  # the control's status, where it matters

    @property
    def id(self) -> str:
        return f"{self.run}:{self.url.split('://')[0]}:{self.url.split('/')[2]}"


RUNS: tuple[Run, ...] = (
    Run(id="open", council="open",
        urls=(U(GOV), U(FB), U(YT), U(X), U(KHUB), U(IG), U(YT, "http"), U(DOWN), U(NOWHERE))),
    Run(id="dnsf", council="dnsf",
        urls=(U(GOV), U(FB), U(YT), U(X), U(X, "http"), U(IG), U(KHUB), U(NOWHERE))),
    Run(id="dnsf-ip", council="dnsf", resolver="gateway", urls=(U(GOV), U(FB), U(YT), U(IG))),
    Run(id="fw", council="fw",
        urls=(U(GOV), U(FB), U(YT), U(X), U(IG), U(KHUB), U(TT), U(DOWN))),
    Run(id="squid", council="squid", proxy="gateway:3128",
        urls=(U(GOV), U(FB), U(YT, "http"), U(YT), U(X), U(KHUB), U(DOWN), U(NOWHERE),
              U(DOWN, "http"), U(NOWHERE, "http"))),
    Run(id="squid-auth", council="squid", client=1, proxy="gateway:3128",
        urls=(U(GOV), U(GOV, "http"))),
    Run(id="squid-env", council="squid", proxy="system",
        env={"HTTPS_PROXY": "http://{gateway}:3128", "HTTP_PROXY": "http://{gateway}:3128"},
        urls=(U(GOV), U(FB))),
    Run(id="e2g", council="e2g", proxy="gateway:8080",
        urls=(U(GOV), U(FB, "http"), U(FB), U(KHUB), U(DOWN), U(DOWN, "http"))),
    Run(id="e2g-warn", council="e2g", client=1, proxy="gateway:8080",
        urls=(U(GOV), U(YT, "http"))),
    Run(id="tlsi", council="tlsi", store="council", urls=(U(GOV), U(FB), U(KHUB))),
    Run(id="tlsi-untrusted", council="tlsi", store="public", urls=(U(GOV),)),
    Run(id="bump", council="bump", proxy="gateway:3128", store="council",
        urls=(U(GOV), U(FB), U(KHUB), U(DOWN))),
    Run(id="sg", council="sg", proxy="gateway:3128",
        urls=(U(GOV), U(GOV, "http"), U(FB, "http"), U(FB), U(IG), U(KHUB))),
    Run(id="dnsm", council="dnsm",
        urls=(U(GOV), U(FB), U(YT), U(IG), U(IG, "http"), U(KHUB), U(NOWHERE))),
    Run(id="rpz", council="rpz", urls=(U(GOV), U(FB), U(YT), U(X), U(KHUB))),
    # The whole packaged catalogue (no URLs given), on the open network.
    Run(id="open-catalogue", council="open"),
    # Without a control vantage point: the catalogue's knowledge and the baselines decide.
    Run(id="open-alone", council="open", control=False,
        urls=(U(GOV), U(FB), U(KHUB), U(DOWN), U(NOWHERE))),
    Run(id="dnsf-alone", council="dnsf", control=False,
        urls=(U(GOV), U(FB), U(YT), U(IG), U(NOWHERE))),
    Run(id="fw-alone", council="fw", control=False,
        urls=(U(GOV), U(FB), U(YT), U(X), U(IG), U(DOWN))),
    Run(id="slow", council="slow", timeout=8.0,
        urls=(U(GOV), U(FB), U(YT), U(X), U(KHUB), U(IG), U(YT, "http"), U(DOWN))),
)

ACC = "accessible"
COUNCIL_CA = world.COUNCIL_CA_CN


def _accessible(run: str, *urls: str, interception: str | None = None) -> list[Expect]:
    return [Expect(run=run, url=u, status=ACC, interception=interception) for u in urls]


EXPECTATIONS: tuple[Expect, ...] = (
    # An open network: everything that exists is reachable; the dead are unreachable.
    *_accessible("open", U(GOV), U(FB), U(YT), U(X), U(KHUB), U(IG), U(YT, "http")),
    Expect(run="open", url=U(DOWN), status="unreachable", control="unreachable"),
    Expect(run="open", url=U(NOWHERE), status="unreachable", control="unreachable"),
    # DNS filtering by the council's unbound.
    *_accessible("dnsf", U(GOV), U(KHUB)),
    Expect(run="dnsf", url=U(FB), status="blocked", layer="dns", method="dns-nxdomain"),
    Expect(run="dnsf", url=U(YT), status="blocked", layer="dns", method="dns-sinkhole"),
    # The answer points at the council's block-page server: DNS is where the path first
    # diverged, whatever that server then shows (docs/lab.md).
    Expect(run="dnsf", url=U(X), status="blocked", layer="dns", method="dns-sinkhole"),
    Expect(run="dnsf", url=U(X, "http"), status="blocked", layer="dns", method="dns-sinkhole"),
    Expect(run="dnsf", url=U(IG), status="blocked", layer="dns", method="dns-refused"),
    # A filtering resolver's NXDOMAIN for a name that exists nowhere is not a block.
    Expect(run="dnsf", url=U(NOWHERE), status="unreachable", control="unreachable"),
    # The same, with the resolver named in the config rather than taken from the system.
    *_accessible("dnsf-ip", U(GOV)),
    Expect(run="dnsf-ip", url=U(FB), status="blocked", layer="dns", method="dns-nxdomain"),
    Expect(run="dnsf-ip", url=U(YT), status="blocked", layer="dns", method="dns-sinkhole"),
    Expect(run="dnsf-ip", url=U(IG), status="blocked", layer="dns", method="dns-refused"),
    # Firewall rules on the council's gateway.
    *_accessible("fw", U(GOV), U(KHUB)),
    Expect(run="fw", url=U(FB), status="blocked", layer="tcp", method="tcp-reset"),
    Expect(run="fw", url=U(YT), status="blocked", layer="tcp", method="tcp-timeout"),
    Expect(run="fw", url=U(X), status="blocked", layer="tcp", method="tcp-unreachable"),
    Expect(run="fw", url=U(IG), status="blocked", layer="tls", method="tls-reset"),
    Expect(run="fw", url=U(TT), status="blocked", layer="tcp", method="tcp-unreachable",
           control="accessible"),
    # A refused connection behind a firewall that also resets: the control decides.
    Expect(run="fw", url=U(DOWN), status="unreachable", control="unreachable"),
    # Squid as the explicit proxy.
    *_accessible("squid", U(GOV), U(X), U(KHUB)),
    Expect(run="squid", url=U(FB), status="blocked", layer="http", method="proxy-denied",
           vendor="squid"),
    Expect(run="squid", url=U(YT, "http"), status="blocked", layer="http",
           method="http-blockpage", vendor="squid"),
    Expect(run="squid", url=U(YT), status="blocked", layer="http", method="proxy-denied",
           vendor="squid"),
    Expect(run="squid", url=U(DOWN), status="unreachable", control="unreachable"),
    Expect(run="squid", url=U(NOWHERE), status="unreachable", control="unreachable"),
    # Squid's own ERR_CONNECT_FAIL / ERR_DNS_FAIL page for a plain-HTTP GET: not the site.
    Expect(run="squid", url=U(DOWN, "http"), status="unreachable", control="unreachable"),
    Expect(run="squid", url=U(NOWHERE, "http"), status="unreachable", control="unreachable"),
    Expect(run="squid-auth", url=U(GOV), status="restricted", layer="http",
           method="proxy-auth", vendor="squid"),
    Expect(run="squid-auth", url=U(GOV, "http"), status="restricted", layer="http",
           method="proxy-auth", vendor="squid"),
    *_accessible("squid-env", U(GOV)),
    Expect(run="squid-env", url=U(FB), status="blocked", layer="http", method="proxy-denied",
           vendor="squid"),
    # e2guardian as the explicit filtering proxy.
    *_accessible("e2g", U(GOV), U(KHUB)),
    Expect(run="e2g", url=U(FB, "http"), status="blocked", layer="http",
           method="http-blockpage", vendor="e2guardian", category="Social Networking"),
    Expect(run="e2g", url=U(FB), status="blocked", layer="http", method="proxy-denied",
           vendor="e2guardian"),
    # e2guardian's own network-error page for a site that is down: not the site.
    Expect(run="e2g", url=U(DOWN), status="unreachable", control="unreachable"),
    Expect(run="e2g", url=U(DOWN, "http"), status="unreachable", control="unreachable"),
    *_accessible("e2g-warn", U(GOV)),
    Expect(run="e2g-warn", url=U(YT, "http"), status="restricted", layer="http",
           method="warn-page", vendor="e2guardian", category="Video Streaming"),
    # TLS inspection: content arrives, interception is reported with the council CA's name.
    *_accessible("tlsi", U(GOV), U(FB), U(KHUB), interception=COUNCIL_CA),
    # The same proxy, on a machine that does not trust the council's CA.
    Expect(run="tlsi-untrusted", url=U(GOV), status="blocked", layer="tls",
           method="tls-failure"),
    # Squid ssl-bump: inspection through an explicit proxy, and its deny page inside TLS.
    *_accessible("bump", U(GOV), U(KHUB), interception=COUNCIL_CA),
    Expect(run="bump", url=U(FB), status="blocked", layer="http", method="http-blockpage",
           vendor="squid", interception=COUNCIL_CA),
    # Squid's ERR_CONNECT_FAIL page inside the bumped TLS for a site that is down: not the site.
    Expect(run="bump", url=U(DOWN), status="unreachable", control="unreachable",
           interception=COUNCIL_CA),
    # squidGuard as Squid's redirector: plain http is redirected (302) to the council's copy
    # of squidGuard.cgi, whose URL names squidGuard and the target group; on CONNECT squid
    # answers the tunnel request itself with that 302: the proxy refusing the tunnel.
    *_accessible("sg", U(GOV), U(GOV, "http"), U(KHUB)),
    Expect(run="sg", url=U(FB, "http"), status="blocked", layer="http",
           method="http-blockpage", vendor="squidguard", category="socialnet"),
    Expect(run="sg", url=U(FB), status="blocked", layer="http", method="proxy-denied",
           vendor="squidguard", category="socialnet"),
    Expect(run="sg", url=U(IG), status="blocked", layer="http", method="proxy-denied",
           vendor="squidguard", category="socialnet"),
    # dnsmasq `address=` lines: no address is NXDOMAIN, 0.0.0.0 and the council's own
    # block-page server are sinkholes.
    *_accessible("dnsm", U(GOV), U(KHUB)),
    Expect(run="dnsm", url=U(FB), status="blocked", layer="dns", method="dns-nxdomain"),
    Expect(run="dnsm", url=U(YT), status="blocked", layer="dns", method="dns-sinkhole"),
    Expect(run="dnsm", url=U(IG), status="blocked", layer="dns", method="dns-sinkhole"),
    Expect(run="dnsm", url=U(IG, "http"), status="blocked", layer="dns",
           method="dns-sinkhole"),
    Expect(run="dnsm", url=U(NOWHERE), status="unreachable", control="unreachable"),
    # BIND 9 response-policy zone: CNAME . (NXDOMAIN), a local A 0.0.0.0, CNAME *. (NODATA:
    # the name exists but has no address, while the control resolves it).
    *_accessible("rpz", U(GOV), U(KHUB)),
    Expect(run="rpz", url=U(FB), status="blocked", layer="dns", method="dns-nxdomain"),
    Expect(run="rpz", url=U(YT), status="blocked", layer="dns", method="dns-sinkhole"),
    Expect(run="rpz", url=U(X), status="blocked", layer="dns", method="dns-no-answer",
           control="accessible"),
    # No control: a known site's reset, bogon answer or DNS refusal is still a block; a bare
    # timeout, or any failure of a site the catalogue does not know, cannot be attributed.
    *_accessible("open-alone", U(GOV), U(FB), U(KHUB)),
    Expect(run="open-alone", url=U(DOWN), status="inconclusive", control=None),
    Expect(run="open-alone", url=U(NOWHERE), status="inconclusive", control=None),
    *_accessible("dnsf-alone", U(GOV)),
    Expect(run="dnsf-alone", url=U(FB), status="blocked", layer="dns", method="dns-nxdomain",
           control=None),
    Expect(run="dnsf-alone", url=U(YT), status="blocked", layer="dns", method="dns-sinkhole",
           control=None),
    Expect(run="dnsf-alone", url=U(IG), status="blocked", layer="dns", method="dns-refused",
           control=None),
    Expect(run="dnsf-alone", url=U(NOWHERE), status="inconclusive", control=None),
    *_accessible("fw-alone", U(GOV)),
    Expect(run="fw-alone", url=U(FB), status="blocked", layer="tcp", method="tcp-reset",
           control=None),
    Expect(run="fw-alone", url=U(YT), status="inconclusive", control=None),
    Expect(run="fw-alone", url=U(X), status="blocked", layer="tcp", method="tcp-unreachable",
           control=None),
    Expect(run="fw-alone", url=U(IG), status="blocked", layer="tls", method="tls-reset",
           control=None),
    Expect(run="fw-alone", url=U(DOWN), status="inconclusive", control=None),
    # A slow, lossy path is slow, not blocked.
    *_accessible("slow", U(GOV), U(FB), U(YT), U(X), U(KHUB), U(IG), U(YT, "http")),
    Expect(run="slow", url=U(DOWN), status="unreachable", control="unreachable"),
)

# Names that the e2guardian block pages print and no result may carry.
PRIVATE_WORDS: tuple[str, ...] = (world.USER_NAME, WARN_USER)
