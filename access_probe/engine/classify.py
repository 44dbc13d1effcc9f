"""Exception + failed operation -> failure name: the ONE place errors become `model.Failure`.

Order of evidence (OONI netxlite's classify.go): the exception's type first, then its errno,
then its text last, because messages differ across operating systems and library versions.
Wrappers (requests -> urllib3 -> OSError) are unwrapped first and the root cause is
classified, so a reset reads as a reset whichever library noticed it.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum

import dns.exception

from access_probe.model import Failure

__all__ = ["Operation", "classify", "is_dns_operation"]


class Operation(StrEnum):
    """The step that failed; it decides the contract's `blocking.layer`."""

    RESOLVE = "resolve"  # getaddrinfo
    DNS_QUERY = "dns_query"  # a direct query to a nameserver
    CONNECT = "connect"
    PROXY_CONNECT = "proxy_connect"
    TLS_HANDSHAKE = "tls_handshake"
    HTTP_REQUEST = "http_request"
    READ_BODY = "read_body"


def is_dns_operation(operation: Operation) -> bool:
    return operation in (Operation.RESOLVE, Operation.DNS_QUERY)


_MAX_CHAIN = 12

# Windows reports WSA codes in `winerror`; Python maps most to errno, these catch the rest.
_ERRNO: dict[int, Failure] = {
    errno.ECONNRESET: Failure.CONNECTION_RESET,
    errno.ECONNREFUSED: Failure.CONNECTION_REFUSED,
    errno.ETIMEDOUT: Failure.GENERIC_TIMEOUT,
    errno.EHOSTUNREACH: Failure.HOST_UNREACHABLE,
    errno.ENETUNREACH: Failure.NETWORK_UNREACHABLE,
    errno.ECONNABORTED: Failure.CONNECTION_RESET,
    errno.EPIPE: Failure.CONNECTION_RESET,
    # Not connected any more although connect() succeeded: the peer reset it in between.
    errno.ENOTCONN: Failure.CONNECTION_RESET,
    # A local firewall rule (or an ICMP admin-prohibited on some stacks) gives EACCES/EPERM.
    errno.EACCES: Failure.ADMIN_PROHIBITED,
    errno.EPERM: Failure.ADMIN_PROHIBITED,
    10054: Failure.CONNECTION_RESET,  # WSAECONNRESET
    10061: Failure.CONNECTION_REFUSED,  # WSAECONNREFUSED
    10060: Failure.GENERIC_TIMEOUT,  # WSAETIMEDOUT
    10065: Failure.HOST_UNREACHABLE,  # WSAEHOSTUNREACH
    10051: Failure.NETWORK_UNREACHABLE,  # WSAENETUNREACH
    10053: Failure.CONNECTION_RESET,  # WSAECONNABORTED
    10013: Failure.ADMIN_PROHIBITED,  # WSAEACCES
}

_GAI: dict[int, Failure] = {
    # getaddrinfo cannot tell NXDOMAIN from "no such record type" on every libc: EAI_NONAME
    # covers both, so this is the best honest reading of it.
    socket.EAI_NONAME: Failure.DNS_NXDOMAIN,
    socket.EAI_AGAIN: Failure.DNS_TIMEOUT,  # glibc: SERVFAIL and timeouts both land here
    socket.EAI_FAIL: Failure.DNS_SERVFAIL,
}
if hasattr(socket, "EAI_NODATA"):
    _GAI[socket.EAI_NODATA] = Failure.DNS_NO_ANSWER
if hasattr(socket, "EAI_ADDRFAMILY"):
    _GAI[socket.EAI_ADDRFAMILY] = Failure.DNS_NO_ANSWER

_VERIFY_CODES: dict[int, Failure] = {
    62: Failure.SSL_INVALID_HOSTNAME,  # X509_V_ERR_HOSTNAME_MISMATCH
    64: Failure.SSL_INVALID_HOSTNAME,  # X509_V_ERR_IP_ADDRESS_MISMATCH
    2: Failure.SSL_UNKNOWN_AUTHORITY,  # UNABLE_TO_GET_ISSUER_CERT
    18: Failure.SSL_UNKNOWN_AUTHORITY,  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: Failure.SSL_UNKNOWN_AUTHORITY,  # SELF_SIGNED_CERT_IN_CHAIN
    20: Failure.SSL_UNKNOWN_AUTHORITY,  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: Failure.SSL_UNKNOWN_AUTHORITY,  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    9: Failure.SSL_INVALID_CERTIFICATE,  # CERT_NOT_YET_VALID
    10: Failure.SSL_INVALID_CERTIFICATE,  # CERT_HAS_EXPIRED
}

# Last resort, lower-case substrings; first match wins.
_TEXT: tuple[tuple[str, Failure], ...] = (
    ("hostname mismatch", Failure.SSL_INVALID_HOSTNAME),
    ("doesn't match", Failure.SSL_INVALID_HOSTNAME),
    ("self-signed", Failure.SSL_UNKNOWN_AUTHORITY),
    ("self signed", Failure.SSL_UNKNOWN_AUTHORITY),
    ("unable to get local issuer", Failure.SSL_UNKNOWN_AUTHORITY),
    ("certificate has expired", Failure.SSL_INVALID_CERTIFICATE),
    ("connection reset", Failure.CONNECTION_RESET),
    ("connection refused", Failure.CONNECTION_REFUSED),
    ("unexpected eof", Failure.EOF),
    ("eof occurred", Failure.EOF),
    ("remote end closed", Failure.EOF),
    ("timed out", Failure.GENERIC_TIMEOUT),
    ("no route to host", Failure.HOST_UNREACHABLE),
    ("network is unreachable", Failure.NETWORK_UNREACHABLE),
    ("too many redirects", Failure.TOO_MANY_REDIRECTS),
)


def classify(exc: BaseException, operation: Operation) -> Failure:
    """Map an exception raised by `operation` to a failure name; never raises."""
    chain = list(_unwrap(exc))
    # The root cause is the most primitive and so the most precise; wrappers only add
    # context, so read the chain from the inside out.
    for rule in (_by_type, _by_errno):
        for link in reversed(chain):
            found = rule(link, operation)
            if found is not None:
                return _adjust(found, operation)
    for link in chain:
        found = _by_text(str(link).lower())
        if found is not None:
            return _adjust(found, operation)
    return Failure.UNKNOWN


def _unwrap(exc: BaseException) -> Iterator[BaseException]:
    """Yield exc and what it wraps, outermost first (requests/urllib3 use .reason/.args)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < _MAX_CHAIN:
        seen.add(id(current))
        yield current
        current = _inner(current)


def _inner(exc: BaseException) -> BaseException | None:
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    if exc.__cause__ is not None:
        return exc.__cause__
    for arg in exc.args:
        if isinstance(arg, BaseException):
            return arg
    if exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__
    return None


def _adjust(found: Failure, operation: Operation) -> Failure:
    if found is Failure.GENERIC_TIMEOUT and is_dns_operation(operation):
        return Failure.DNS_TIMEOUT
    return found


def _by_type(exc: BaseException, operation: Operation) -> Failure | None:
    for kind, rule in (*_resolver_rules(), *_TYPE_RULES):
        if isinstance(exc, kind):
            return rule(exc, operation)
    return None


def _ssl_verify(exc: BaseException, _op: Operation) -> Failure:
    code = getattr(exc, "verify_code", None)
    if isinstance(code, int) and code in _VERIFY_CODES:
        return _VERIFY_CODES[code]
    return _by_text(str(exc).lower()) or Failure.SSL_INVALID_CERTIFICATE


def _ssl_other(exc: BaseException, _op: Operation) -> Failure:
    text = str(exc).lower()
    if "unexpected eof" in text or "eof occurred" in text:
        return Failure.EOF
    if "reset" in text:
        return Failure.CONNECTION_RESET
    return Failure.SSL_FAILED_HANDSHAKE


def _gaierror(exc: BaseException, _op: Operation) -> Failure:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return _GAI.get(code, Failure.DNS_SERVFAIL) if code is not None else Failure.DNS_SERVFAIL


def _no_nameservers(exc: BaseException, _op: Operation) -> Failure:
    # dnspython gives the per-server errors; a REFUSED or SERVFAIL answer is the server's word.
    text = str(exc)
    if "REFUSED" in text:
        return Failure.DNS_REFUSED
    if "SERVFAIL" in text:
        return Failure.DNS_SERVFAIL
    return Failure.DNS_NO_SERVER


def _const(failure: Failure) -> Callable[[BaseException, Operation], Failure]:
    return lambda _exc, _op: failure


def _os_error(exc: BaseException, _op: Operation) -> Failure | None:
    assert isinstance(exc, OSError)
    for code in (getattr(exc, "winerror", None), exc.errno):
        if isinstance(code, int) and code in _ERRNO:
            return _ERRNO[code]
    return None


_Rule = Callable[[BaseException, Operation], Failure | None]


def _resolver_rules() -> tuple[tuple[type[BaseException], _Rule], ...]:
    """dnspython's resolver errors, when its resolver is loaded at all: importing it costs a
    check a tenth of a second, and an exception of a module never loaded cannot occur."""
    resolver = sys.modules.get("dns.resolver")
    if resolver is None:
        return ()
    return ((resolver.NXDOMAIN, _const(Failure.DNS_NXDOMAIN)),
            (resolver.NoAnswer, _const(Failure.DNS_NO_ANSWER)),
            (resolver.NoNameservers, _no_nameservers))


_TYPE_RULES: tuple[tuple[type[BaseException], _Rule], ...] = (
    (dns.exception.Timeout, _const(Failure.DNS_TIMEOUT)),
    (socket.gaierror, _gaierror),
    (ssl.SSLCertVerificationError, _ssl_verify),
    (ssl.SSLEOFError, _const(Failure.EOF)),
    (ssl.SSLZeroReturnError, _const(Failure.EOF)),
    (ssl.SSLError, _ssl_other),
    # RemoteDisconnected is also a ConnectionResetError, but it means "closed cleanly, no
    # answer", which is an EOF, not a RST.
    (http.client.RemoteDisconnected, _const(Failure.EOF)),
    (http.client.IncompleteRead, _const(Failure.EOF)),
    (ConnectionResetError, _const(Failure.CONNECTION_RESET)),
    (ConnectionRefusedError, _const(Failure.CONNECTION_REFUSED)),
    (ConnectionAbortedError, _const(Failure.CONNECTION_RESET)),
    (TimeoutError, _const(Failure.GENERIC_TIMEOUT)),  # socket.timeout is an alias
    (EOFError, _const(Failure.EOF)),
    (http.client.HTTPException, _const(Failure.HTTP_PROTOCOL_ERROR)),
    (OSError, _os_error),
)


def _by_errno(exc: BaseException, operation: Operation) -> Failure | None:
    return _os_error(exc, operation) if isinstance(exc, OSError) else None


def _by_text(text: str) -> Failure | None:
    for needle, failure in _TEXT:
        if needle in text:
            return failure
    return None
