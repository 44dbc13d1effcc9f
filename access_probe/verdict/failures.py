"""Failure names classified once, by what each says about the path (the rules read only
these groups, never a failure's text).

`classify.py` maps an exception to a `Failure`; this module maps a `Failure` to its meaning
for a verdict.
"""

from __future__ import annotations

from access_probe.model import Failure
from access_probe.schema import Method

__all__ = ["CERT_FAILURES", "DNS_METHODS", "RESETS", "TIMEOUTS", "UNREACHABLES", "dns_method"]

# The peer (or something on the path pretending to be it) cut the connection.
RESETS = frozenset({Failure.CONNECTION_RESET, Failure.EOF})
# Nothing came back within the step.
TIMEOUTS = frozenset({Failure.GENERIC_TIMEOUT, Failure.DNS_TIMEOUT})
# A router answered that the destination cannot be reached (admin-prohibited: a firewall).
UNREACHABLES = frozenset({Failure.HOST_UNREACHABLE, Failure.NETWORK_UNREACHABLE,
                          Failure.ADMIN_PROHIBITED})
# The certificate itself was wrong (not a handshake that broke off).
CERT_FAILURES = frozenset({Failure.SSL_UNKNOWN_AUTHORITY, Failure.SSL_INVALID_HOSTNAME,
                           Failure.SSL_INVALID_CERTIFICATE})
# A lookup's failure as the contract's DNS method.
DNS_METHODS = {
    Failure.DNS_NXDOMAIN: Method.DNS_NXDOMAIN,
    Failure.DNS_REFUSED: Method.DNS_REFUSED,
    Failure.DNS_SERVFAIL: Method.DNS_SERVFAIL,
    Failure.DNS_NO_ANSWER: Method.DNS_NO_ANSWER,
    Failure.DNS_TIMEOUT: Method.DNS_TIMEOUT,
    Failure.GENERIC_TIMEOUT: Method.DNS_TIMEOUT,
    Failure.DNS_BOGON: Method.DNS_SINKHOLE,
}


def dns_method(failure: Failure) -> Method:
    """The contract method for a failed lookup (an unexpected failure reads as SERVFAIL)."""
    return DNS_METHODS.get(failure, Method.DNS_SERVFAIL)
