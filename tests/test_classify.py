"""classify(): the one mapping from exceptions to failure names, as a table."""
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import errno
import http.client
import socket
import ssl

import dns.exception
import dns.message
import dns.resolver
import pytest
import requests
import urllib3.exceptions

from access_probe.engine.classify import Operation, classify
from access_probe.model import Failure

Op = Operation


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    exc.verify_code = code
    exc.verify_message = message
    return exc


def _requests_reset() -> requests.ConnectionError:
    """requests' real wrapping of a reset: ConnectionError(ProtocolError(..., ECONNRESET))."""
    inner = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"))
    return requests.ConnectionError(inner)


def _requests_refused() -> requests.ConnectionError:
    new_conn = urllib3.exceptions.NewConnectionError(None, "Failed to establish")  # type: ignore[arg-type]
    new_conn.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    retry = urllib3.exceptions.MaxRetryError(None, "/", reason=new_conn)  # type: ignore[arg-type]
    return requests.ConnectionError(retry)


def _requests_bad_cert() -> requests.exceptions.SSLError:
    inner = urllib3.exceptions.SSLError(_verify_error(20, "unable to get local issuer"))
    retry = urllib3.exceptions.MaxRetryError(None, "/", reason=inner)  # type: ignore[arg-type]
    return requests.exceptions.SSLError(retry)


def _requests_read_timeout() -> requests.ReadTimeout:
    inner = urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")  # type: ignore[arg-type]
    inner.__cause__ = TimeoutError("timed out")
    return requests.ReadTimeout(inner)


def _windows_error(code: int) -> OSError:
    """An OSError as Windows raises it (only Windows fills `winerror` from the constructor)."""
    exc = OSError(0, "x")
    exc.winerror = code  # type: ignore[attr-defined]
    return exc


_QUERY = dns.message.make_query("site.test", "A")


def _no_servers(*errors: str) -> dns.resolver.NoNameservers:
    return dns.resolver.NoNameservers(request=_QUERY,
                                      errors=[("127.0.0.1", False, 53, e) for e in errors])


CASES: list[tuple[str, BaseException, Operation, Failure]] = [
    ("reset", ConnectionResetError(errno.ECONNRESET, "reset"), Op.CONNECT,
     Failure.CONNECTION_RESET),
    ("refused", ConnectionRefusedError(errno.ECONNREFUSED, "refused"), Op.CONNECT,
     Failure.CONNECTION_REFUSED),
    ("errno timeout", OSError(errno.ETIMEDOUT, "x"), Op.CONNECT, Failure.GENERIC_TIMEOUT),
    ("socket.timeout", TimeoutError("timed out"), Op.CONNECT, Failure.GENERIC_TIMEOUT),
    ("timeout in dns", TimeoutError(), Op.DNS_QUERY, Failure.DNS_TIMEOUT),
    ("host unreachable", OSError(errno.EHOSTUNREACH, "x"), Op.CONNECT,
     Failure.HOST_UNREACHABLE),
    ("net unreachable", OSError(errno.ENETUNREACH, "x"), Op.CONNECT,
     Failure.NETWORK_UNREACHABLE),
    ("admin prohibited", PermissionError(errno.EACCES, "x"), Op.CONNECT,
     Failure.ADMIN_PROHIBITED),
    ("windows reset", _windows_error(10054), Op.CONNECT, Failure.CONNECTION_RESET),
    ("hostname mismatch", _verify_error(62, "Hostname mismatch"), Op.TLS_HANDSHAKE,
     Failure.SSL_INVALID_HOSTNAME),
    ("unknown issuer", _verify_error(20, "unable to get local issuer certificate"),
     Op.TLS_HANDSHAKE, Failure.SSL_UNKNOWN_AUTHORITY),
    ("self signed", _verify_error(18, "self-signed certificate"), Op.TLS_HANDSHAKE,
     Failure.SSL_UNKNOWN_AUTHORITY),
    ("expired", _verify_error(10, "certificate has expired"), Op.TLS_HANDSHAKE,
     Failure.SSL_INVALID_CERTIFICATE),
    ("ssl eof", ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), Op.TLS_HANDSHAKE,
     Failure.EOF),
    ("ssl other", ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
     Op.TLS_HANDSHAKE, Failure.SSL_FAILED_HANDSHAKE),
    ("ssl unexpected eof text",
     ssl.SSLError(1, "[SSL: UNEXPECTED_EOF_WHILE_READING] unexpected eof while reading"),
     Op.TLS_HANDSHAKE, Failure.EOF),
    ("gai noname", socket.gaierror(socket.EAI_NONAME, "Name or service not known"), Op.RESOLVE,
     Failure.DNS_NXDOMAIN),
    ("gai again", socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), Op.RESOLVE,
     Failure.DNS_TIMEOUT),
    ("gai fail", socket.gaierror(socket.EAI_FAIL, "Non-recoverable"), Op.RESOLVE,
     Failure.DNS_SERVFAIL),
    ("dnspython nxdomain", dns.resolver.NXDOMAIN(), Op.DNS_QUERY, Failure.DNS_NXDOMAIN),
    ("dnspython noanswer", dns.resolver.NoAnswer(), Op.DNS_QUERY, Failure.DNS_NO_ANSWER),
    ("dnspython timeout", dns.exception.Timeout(), Op.DNS_QUERY, Failure.DNS_TIMEOUT),
    ("dnspython lifetime", dns.resolver.LifetimeTimeout(timeout=1.0, errors=[]), Op.DNS_QUERY,
     Failure.DNS_TIMEOUT),
    ("dnspython no servers", _no_servers(), Op.DNS_QUERY, Failure.DNS_NO_SERVER),
    ("dnspython servfail", _no_servers("answered SERVFAIL"), Op.DNS_QUERY,
     Failure.DNS_SERVFAIL),
    ("dnspython refused", _no_servers("answered REFUSED"), Op.DNS_QUERY, Failure.DNS_REFUSED),
    ("requests reset", _requests_reset(), Op.HTTP_REQUEST, Failure.CONNECTION_RESET),
    ("requests refused", _requests_refused(), Op.HTTP_REQUEST, Failure.CONNECTION_REFUSED),
    ("requests bad cert", _requests_bad_cert(), Op.HTTP_REQUEST, Failure.SSL_UNKNOWN_AUTHORITY),
    ("requests read timeout", _requests_read_timeout(), Op.HTTP_REQUEST,
     Failure.GENERIC_TIMEOUT),
    ("remote disconnected is eof", http.client.RemoteDisconnected("closed"), Op.HTTP_REQUEST,
     Failure.EOF),
    ("bad status line", http.client.BadStatusLine("garbage"), Op.HTTP_REQUEST,
     Failure.HTTP_PROTOCOL_ERROR),
    ("text only reset", RuntimeError("Connection reset by peer"), Op.READ_BODY,
     Failure.CONNECTION_RESET),
    ("unknown", RuntimeError("something else"), Op.HTTP_REQUEST, Failure.UNKNOWN),
]


@pytest.mark.parametrize(("exc", "operation", "expected"),
                         [pytest.param(e, o, f, id=name) for name, e, o, f in CASES])
def test_classify(exc: BaseException, operation: Operation, expected: Failure) -> None:
    assert classify(exc, operation) is expected


def _raise_while_handling(suppress: bool) -> None:
    try:
        raise ConnectionResetError(errno.ECONNRESET, "reset")
    except OSError:
        if suppress:
            raise RuntimeError("wrapped") from None
        raise RuntimeError("while handling")  # noqa: B904 - the implicit context is the point


@pytest.mark.parametrize(("suppress", "expected"),
                         [(False, Failure.CONNECTION_RESET), (True, Failure.UNKNOWN)])
def test_implicit_context_followed_unless_suppressed(suppress: bool, expected: Failure) -> None:
    with pytest.raises(RuntimeError) as info:
        _raise_while_handling(suppress)
    assert classify(info.value, Op.HTTP_REQUEST) is expected


def test_cyclic_chain_terminates() -> None:
    a = RuntimeError("a")
    b = RuntimeError("b")
    a.__cause__ = b
    b.__cause__ = a
    assert classify(a, Op.CONNECT) is Failure.UNKNOWN
