"""Plain English for officers: what a verdict means and what to ask IT. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from access_probe.schema import Method, Result, Status

__all__ = ["Explanation", "ServiceCounts", "Standing", "explain", "service_counts",
           "service_standing", "service_standings", "standing", "vendor_name", "worst"]


class Standing(StrEnum):
    """The officer's four answers, from the contract's six statuses."""

    WORKING = "working"
    BLOCKED = "blocked"
    RESTRICTED = "restricted"
    DOWN = "site down"  # fails from outside too: not this network's doing
    UNKNOWN = "can't tell"


_STANDING = {
    Status.ACCESSIBLE: Standing.WORKING,
    Status.BLOCKED: Standing.BLOCKED,
    Status.RESTRICTED: Standing.RESTRICTED,
    Status.UNREACHABLE: Standing.DOWN,
}
_ORDER = [Standing.BLOCKED, Standing.RESTRICTED, Standing.UNKNOWN, Standing.DOWN,
          Standing.WORKING]

# Display names for the vendor ids of data/blockpages*.yaml; an id not listed shows as itself.
_VENDORS = {
    "squid": "Squid", "squidguard": "SquidGuard", "e2guardian": "E2Guardian",
    "smoothwall": "Smoothwall", "fortinet": "Fortinet FortiGuard",
    "palo-alto": "Palo Alto Networks", "zscaler": "Zscaler", "netsweeper": "Netsweeper",
    "lightspeed": "Lightspeed Systems", "forcepoint": "Forcepoint", "sophos": "Sophos",
    "cisco-umbrella": "Cisco Umbrella", "cisco-meraki": "Cisco Meraki",
    "barracuda": "Barracuda", "bluecoat": "Blue Coat (Symantec)", "censornet": "Censornet",
    "iboss": "iboss cloud", "mcafee": "McAfee (Trellix/Skyhigh)", "sonicwall": "SonicWall",
    "watchguard": "WatchGuard", "bt": "BT", "sky": "Sky Broadband Shield",
    "talktalk": "TalkTalk HomeSafe", "virgin-media": "Virgin Media Web Safe",
    "aruba": "Aruba", "pfsense": "pfSense", "ubiquiti": "Ubiquiti UniFi",
}

_HOW = {
    Method.DNS_NXDOMAIN: "This network's name server says the site does not exist, "
                         "although it does from outside.",
    Method.DNS_SINKHOLE: "This network's name server sends the site's name to a blocking "
                         "address instead of the real site.",
    Method.DNS_REFUSED: "This network's name server refuses to look the site up.",
    Method.DNS_SERVFAIL: "This network's name server fails every time it looks the site up.",
    Method.DNS_TIMEOUT: "This network's name server never answers for this site.",
    Method.DNS_NO_ANSWER: "This network's name server returns no address for the site.",
    Method.TCP_RESET: "A firewall cuts every connection to the site as soon as it starts.",
    Method.TCP_TIMEOUT: "A firewall silently drops connections to the site.",
    Method.TCP_UNREACHABLE: "A firewall reports the site as unreachable.",
    Method.TCP_REFUSED: "Connections to the site are refused on this network.",
    Method.TLS_RESET: "The secure connection is cut as soon as the firewall sees the site's name.",
    Method.TLS_TIMEOUT: "The secure connection stalls once the firewall sees the site's name.",
    Method.TLS_FAILURE: "The secure connection to the site is broken on this network.",
    Method.HTTP_BLOCKPAGE: "A web filter shows a block page instead of the site.",
    Method.HTTP_STATUS: "A web filter answers with an error instead of the site.",
    Method.HTTP_RESET: "The connection is cut after the page was requested.",
    Method.HTTP_TIMEOUT: "The page request is held until it times out.",
    Method.PROXY_DENIED: "The council's web proxy refuses to connect to the site.",
    Method.PROXY_AUTH: "The web proxy asks for a user name and password first.",
    Method.WARN_PAGE: "A web filter shows a warning page; you can continue after accepting it.",
    Method.CAPTIVE_PORTAL: "The network asks you to sign in on a login page first.",
    Method.AUTH_PAGE: "A web filter asks you to sign in before it lets you through.",
}

_UNKNOWN_WHY = {
    Status.UNREACHABLE: "The site also fails from outside the council: it is down or gone, "
                        "not blocked.",
    Status.OFFLINE: "This computer had no working network connection at the time.",
    Status.INCONCLUSIVE: "The check failed in a way that does not show whether it is blocked.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    standing: Standing
    how: str
    ask: str | None  # what to ask IT, when there is something to ask


def standing(status: Status) -> Standing:
    return _STANDING.get(status, Standing.UNKNOWN)


def worst(standings: list[Standing]) -> Standing:
    return min(standings, key=_ORDER.index) if standings else Standing.UNKNOWN


def service_standing(statuses: list[Status]) -> Standing:
    """One service from its endpoints' verdicts, the way the officer reads it: a barrier on
    any endpoint makes it blocked (or restricted); otherwise it works when any endpoint
    works (a secondary host that is down does not make the site "can't tell"), is down
    when every endpoint is down, and can't be told otherwise."""
    kinds = [standing(s) for s in statuses]
    for barrier in (Standing.BLOCKED, Standing.RESTRICTED):
        if barrier in kinds:
            return barrier
    if Standing.WORKING in kinds:
        return Standing.WORKING
    if kinds and all(k is Standing.DOWN for k in kinds):
        return Standing.DOWN
    return Standing.UNKNOWN


def service_standings(results: Iterable[Result]) -> dict[str, Standing]:
    """Each service's standing from its endpoints (an ad-hoc link stands for itself, by its
    target), in first-seen order: the report's rows and the tray's counts both come from
    here, so they never disagree."""
    groups: dict[str, list[Status]] = {}
    for r in results:
        groups.setdefault(r.service or r.target, []).append(r.status)
    return {key: service_standing(statuses) for key, statuses in groups.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceCounts:
    total: int = 0
    blocked: int = 0
    restricted: int = 0
    offline: bool = False  # every result was `offline`: nothing could be checked

    @property
    def summary(self) -> str:
        """The report's headline, in the words the tray's title uses too."""
        if self.offline:
            return "Offline: nothing could be checked"
        if not self.blocked and not self.restricted:
            return ("The 1 service checked is reachable" if self.total == 1
                    else f"All {self.total} services reachable")
        return f"{self.blocked} of {self.total} services blocked, {self.restricted} restricted"


def service_counts(results: Sequence[Result]) -> ServiceCounts:
    kinds = list(service_standings(results).values())
    return ServiceCounts(total=len(kinds), blocked=kinds.count(Standing.BLOCKED),
                         restricted=kinds.count(Standing.RESTRICTED),
                         offline=bool(results) and all(r.status is Status.OFFLINE
                                                       for r in results))


def vendor_name(vendor: str | None) -> str | None:
    if not vendor:
        return None
    return _VENDORS.get(vendor.lower(), vendor)


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def explain(result: Result, *, name: str | None = None) -> Explanation:
    what = name or result.service or _host(result.url)
    kind = standing(result.status)
    if kind is Standing.WORKING:
        how = f"{what} opened normally from this network."
        if result.interception is not None:
            how += (" The council's network inspects its secure traffic "
                    f"(certificate from “{result.interception.issuer}”).")
        return Explanation(standing=kind, how=how, ask=None)
    if kind in (Standing.UNKNOWN, Standing.DOWN) or result.blocking is None:
        return Explanation(standing=kind, how=_UNKNOWN_WHY.get(
            result.status, "The check could not tell."), ask=None)
    b = result.blocking
    how = _HOW.get(b.method, "Something on this network stops the site.")
    product = vendor_name(b.vendor)
    if product:
        how += f" The filter is {product}."
    if b.category:
        how += f" It files the site under “{b.category}”."
    by = product or "the web filter"
    category = f" (category “{b.category}”)" if b.category else ""
    if kind is Standing.BLOCKED:
        ask = f"Ask IT to allow {_host(result.url)} in {by}{category} for work use."
    else:
        ask = f"Ask IT whether {_host(result.url)} can be reached without this extra step."
    return Explanation(standing=kind, how=how, ask=ask)
