"""TCP: did a connection to one of the site's addresses open?"""

from __future__ import annotations

from access_probe.model import Failure, Route
from access_probe.schema import Layer, Method
from access_probe.verdict.common import compare
from access_probe.verdict.failures import RESETS, UNREACHABLES
from access_probe.verdict.records import Facts, Verdict

__all__ = ["judge"]


def judge(f: Facts) -> Verdict | None:
    m = f.m
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
    proven = failure is Failure.ADMIN_PROHIBITED or (f.known and method is not Method.TCP_TIMEOUT)
    return compare(f, Layer.TCP, method, why, proven)
