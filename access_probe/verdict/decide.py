"""The one entry point: everything the agent knows about one URL -> the contract's verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from access_probe.model import (
    Control,
    DNSObservation,
    Failure,
    Measurement,
    TCPObservation,
    TLSObservation,
    Trust,
)
from access_probe.schema import Evidence, Interception, Status
from access_probe.verdict import dns, http, proxy, tcp, tls
from access_probe.verdict.common import verdict
from access_probe.verdict.records import Facts, Pages, Verdict

__all__ = ["RULES", "decide"]

# The layers in the order a connection passes them; the first that returns a verdict decides.
RULES: tuple[Callable[[Facts], Verdict | None], ...] = (
    proxy.judge, dns.judge, tcp.judge, tls.judge, http.judge)


def decide(m: Measurement | None, *, control: Control | None, pages: Pages | None = None,
           known_site: bool, online: bool = True) -> Verdict:
    """The contract's verdict for one URL. Pure: same inputs, same answer.

    `m` is None when the measurement did not finish (the check's deadline, a probe's bug);
    `online` is the check's reading of the whole run (does this machine reach any network)."""
    if m is None:
        status = Status.INCONCLUSIVE if online else Status.OFFLINE
        reason = ("The measurement did not finish before the check's deadline." if online
                  else "This machine had no working network.")
        return verdict(Evidence(), status, reason)
    pages = pages if pages is not None else Pages()
    ctl = control if control is not None and control.usable else None
    evidence = _evidence(m, pages)
    if not online:
        return verdict(evidence, Status.OFFLINE, "This machine had no working network.")
    if m.refused:
        return verdict(evidence, Status.INCONCLUSIVE, "The measurement was not allowed.")
    facts = Facts(m=m, ctl=ctl, pages=pages, known=known_site, evidence=evidence)
    found = next((v for rule in RULES if (v := rule(facts)) is not None), None)
    if found is None:
        found = verdict(evidence, Status.INCONCLUSIVE, "The measurement stopped before any answer.")
    interception = _interception(m)
    return found if interception is None else replace(found, interception=interception)


def _interception(m: Measurement) -> Interception | None:
    for obs in m.tls:
        if obs.failure is None and obs.trusted_by is Trust.LOCAL:
            return Interception(issuer=obs.issuer or "unknown")
    return None


def _evidence(m: Measurement, pages: Pages) -> Evidence:
    def first_failure(items: Sequence[DNSObservation | TCPObservation | TLSObservation],
                      ) -> Failure | None:
        return next((item.failure for item in items if item.failure is not None), None)

    fingerprints = [x.id for x in pages.proxy.matches]
    for facts in pages.hops:
        fingerprints.extend(x.id for x in facts.matches)
    last = m.http[-1] if m.http else None
    return Evidence(
        route=m.route,
        pac=m.pac.split()[0].upper() if m.pac else None,
        dns=first_failure(m.dns[:1]),
        tcp=None if any(t.failure is None for t in m.tcp) else first_failure(m.tcp),
        tls=None if any(t.failure is None for t in m.tls) else first_failure(m.tls),
        http=last.failure if last is not None else None,
        http_status=last.status if last is not None else None,
        proxy_status=m.proxy_connect.status if m.proxy_connect else None,
        fingerprints=tuple(dict.fromkeys(fingerprints)),
    )
