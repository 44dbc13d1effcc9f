"""TLS: did the handshake that names the site complete with a certificate trusted here?"""

from __future__ import annotations

from access_probe.schema import Layer, Method
from access_probe.verdict.common import compare
from access_probe.verdict.failures import CERT_FAILURES, RESETS, TIMEOUTS
from access_probe.verdict.records import Facts, Verdict

__all__ = ["judge"]


def judge(f: Facts) -> Verdict | None:
    m = f.m
    if m.scheme != "https" or not m.tls or any(t.failure is None for t in m.tls):
        return None
    failure = m.tls[-1].failure
    if failure in RESETS:
        return compare(f, Layer.TLS, Method.TLS_RESET,
                       "The secure connection was reset when it named the site.", f.known)
    if failure in TIMEOUTS:
        return compare(f, Layer.TLS, Method.TLS_TIMEOUT, "The secure connection stalled.",
                       False)
    return compare(f, Layer.TLS, Method.TLS_FAILURE,
                   "The site's certificate was not genuine here.",
                   f.known and failure in CERT_FAILURES)
