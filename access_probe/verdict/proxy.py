"""The explicit proxy: could it be reached, and what did it answer to CONNECT?"""

from __future__ import annotations

from access_probe.engine.blockpages import PageKind
from access_probe.model import ControlStatus, Route
from access_probe.schema import Layer, Method, Status
from access_probe.verdict.common import blocked, kind, passed, restricted, vendor, verdict
from access_probe.verdict.failures import RESETS, TIMEOUTS
from access_probe.verdict.records import Facts, Verdict

__all__ = ["judge"]


def judge(f: Facts) -> Verdict | None:
    m, ctl, ev = f.m, f.ctl, f.evidence
    if m.route is not Route.PROXY:
        return None
    proxy_tcp = [t for t in m.tcp if t.via_proxy]
    if proxy_tcp and all(t.failure for t in proxy_tcp):
        return verdict(ev, Status.INCONCLUSIVE, "The web proxy could not be reached.")
    pc = m.proxy_connect
    if pc is None or pc.status is None or 200 <= pc.status < 300:
        if pc is not None and pc.failure in RESETS | TIMEOUTS and passed(ctl, Layer.HTTP):
            method = Method.HTTP_RESET if pc.failure in RESETS else Method.HTTP_TIMEOUT
            return blocked(ev, Layer.HTTP, method, None, None,
                           "The proxy dropped the connection to the site.")
        return None
    name, category = vendor(f.pages.proxy)
    if pc.status == 407:
        return restricted(ev, Method.PROXY_AUTH, name, category,
                          "The web proxy asks you to sign in before it lets the site through.")
    page = kind(f.pages.proxy)
    if page == PageKind.WARN:
        return restricted(ev, Method.WARN_PAGE, name, category,
                          "The web filter shows a warning page before the site.")
    if (pc.status >= 500 or f.pages.proxy.upstream_failure) and page != PageKind.BLOCK:
        # The proxy failed to reach the site itself (its DNS, its upstream firewall): only
        # the control can say whether that is the site being down or a barrier on the way.
        if ctl is not None and ctl.status is ControlStatus.UNREACHABLE:
            return verdict(ev, Status.UNREACHABLE, "The site is down from outside too.")
        if passed(ctl, Layer.HTTP):
            return blocked(ev, Layer.HTTP, Method.PROXY_DENIED, name, None,
                           f"The web proxy could not fetch the site (HTTP {pc.status}); "
                           "from outside it works.")
        return verdict(ev, Status.INCONCLUSIVE,
                       f"The web proxy could not fetch the site (HTTP {pc.status}).")
    return blocked(ev, Layer.HTTP, Method.PROXY_DENIED, name, category,
                   f"The web proxy refused to connect to the site (HTTP {pc.status}).")
