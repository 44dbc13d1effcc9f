"""What every layer rule shares: the outcome builders, the comparison with the control and
the reading of the matcher's findings. Pure functions."""

from __future__ import annotations

from dataclasses import replace

from access_probe.engine.blockpages import PageKind
from access_probe.model import Control, ControlStatus, HTTPObservation
from access_probe.schema import Blocking, Evidence, Layer, Method, Status
from access_probe.verdict.records import Facts, PageFacts, Verdict

# A page this much shorter than the control's, with another title, is not the site.
SHORT_BODY_RATIO = 0.3
_ORDER = (Layer.DNS, Layer.TCP, Layer.TLS, Layer.HTTP)


def verdict(ev: Evidence, status: Status, reason: str) -> Verdict:
    return Verdict(status=status, evidence=replace(ev, reason=reason))


def blocked(ev: Evidence, layer: Layer, method: Method, vendor: str | None,
            category: str | None, reason: str) -> Verdict:
    blocking = Blocking(layer=layer, method=method, vendor=vendor, category=category)
    return Verdict(status=Status.BLOCKED, blocking=blocking,
                   evidence=replace(ev, reason=reason))


def restricted(ev: Evidence, method: Method, vendor: str | None, category: str | None,
               reason: str) -> Verdict:
    blocking = Blocking(layer=Layer.HTTP, method=method, vendor=vendor, category=category)
    return Verdict(status=Status.RESTRICTED, blocking=blocking,
                   evidence=replace(ev, reason=reason))


def compare(f: Facts, layer: Layer, method: Method, why: str,
            blocked_without_control: bool) -> Verdict:
    """A failure at `layer`: blocked if the control got past that layer, unreachable if the
    control failed too, else decided by what the failure itself proves."""
    ev = f.evidence
    if f.ctl is not None:
        if passed(f.ctl, layer):
            return blocked(ev, layer, method, None, None, why + " From outside the site works.")
        return verdict(ev, Status.UNREACHABLE, "The site fails from outside too: it is down.")
    if blocked_without_control:
        return blocked(ev, layer, method, None, None, why)
    return verdict(ev, Status.INCONCLUSIVE, why + " Without a control measurement, the cause "
                   "could be the site or the network.")


def passed(ctl: Control | None, layer: Layer) -> bool:
    """Did the control get past this layer?"""
    if ctl is None:
        return False
    if ctl.status is ControlStatus.ACCESSIBLE:
        return True
    failures = {Layer.DNS: ctl.dns_failure, Layer.TCP: ctl.tcp_failure,
                Layer.TLS: ctl.tls_failure, Layer.HTTP: ctl.http.failure if ctl.http else None}
    reached = _ORDER[: _ORDER.index(layer) + 1]
    if any(failures[name] for name in reached):
        return False
    return layer is not Layer.HTTP or (ctl.http is not None and ctl.http.status is not None)


def kind(facts: PageFacts) -> PageKind | None:
    return facts.matches[0].kind if facts.matches else None


def vendor(facts: PageFacts) -> tuple[str | None, str | None]:
    """The product named by the best match that names one, and a category only from that
    same product's matches (a low-confidence match of another vendor must not lend one)."""
    name = next((m.vendor for m in facts.matches if m.vendor), None)
    category = next((m.category for m in facts.matches
                     if m.category and m.vendor in (name, None)), None)
    return name, category or facts.category


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def differs(hop: HTTPObservation, title: str | None, body_length: int | None,
            server: str | None) -> bool:
    """A page that is not the site's: another title, plus a much shorter body or another
    server. Titles alone change (A/B tests, languages); two signs together rarely lie."""
    if not title or not hop.title or norm(hop.title) == norm(title):
        return False
    shorter = bool(body_length) and (hop.body_length or 0) < SHORT_BODY_RATIO * (body_length or 0)
    local_server = hop.headers.get("server")
    other_server = bool(server and local_server) and norm(server or "").split("/")[0] != norm(
        local_server or "").split("/")[0]
    return shorter or other_server
