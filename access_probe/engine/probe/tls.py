"""TLS: a handshake with the site's SNI, judged first by the public roots, then by this
machine's own store (a certificate only the latter accepts is an inspection proxy's)."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from access_probe.engine.classify import Operation, classify
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Failure, TLSObservation, Trust

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["CertInfo", "Reconnect", "handshake"]

# Gives a fresh connection to the same place (new TCP, or a new CONNECT through the proxy).
Reconnect = Callable[[], socket.socket | None]

# Failures after which asking the local store makes sense: the chain, not the path, failed.
_AUTHORITY_FAILURES = frozenset({Failure.SSL_UNKNOWN_AUTHORITY, Failure.SSL_INVALID_CERTIFICATE,
                                 Failure.SSL_INVALID_HOSTNAME})


@dataclass(frozen=True, slots=True, kw_only=True)
class CertInfo:
    issuer: str | None
    subject: str | None
    sha256: str


def handshake(sock: socket.socket, sni: str, ctx: ProbeContext, *, public: ssl.SSLContext,
              local: ssl.SSLContext | Callable[[], ssl.SSLContext] | None,
              reconnect: Reconnect | None = None,
              address: str | None = None) -> tuple[TLSObservation, ssl.SSLSocket | None]:
    """Handshake over `sock` (consumed). Returns the observation and, on success, the TLS
    socket; `TLSObservation.trusted_by` says which store accepted the certificate. `local`
    may be given as a function making it: it is only needed when the public roots say no
    (loading the machine's store costs a tenth of a second)."""
    t0 = ctx.clock.now()
    tls, failure_public = _attempt(sock, sni, public, ctx)
    trusted_by = Trust.PUBLIC
    failure: Failure | None = failure_public
    if tls is None and failure_public in _AUTHORITY_FAILURES and local is not None:
        again = reconnect() if reconnect is not None else None
        if again is not None:
            store = local if isinstance(local, ssl.SSLContext) else local()
            tls, failure = _attempt(again, sni, store, ctx)
            trusted_by = Trust.LOCAL
    if tls is None:
        assert failure is not None
        info = _peek(reconnect, sni, ctx) if failure in _AUTHORITY_FAILURES else None
        return _observation(sni, t0, ctx, address, failure=failure,
                            failure_public=failure_public, info=info), None
    obs = _observation(sni, t0, ctx, address, failure=None, failure_public=failure_public,
                       trusted_by=trusted_by, info=cert_info(tls), version=tls.version())
    return obs, tls


def cert_info(tls: ssl.SSLSocket) -> CertInfo | None:
    der = tls.getpeercert(binary_form=True)
    if not der:
        return None
    sha256 = hashlib.sha256(der).hexdigest()
    verified = tls.getpeercert()
    if verified:  # a verified certificate comes decoded by OpenSSL already
        return CertInfo(issuer=_decoded_name(verified.get("issuer", ())),
                        subject=_decoded_name(verified.get("subject", ())), sha256=sha256)
    from cryptography import x509  # only for what was not verified: a filter's own CA

    cert = x509.load_der_x509_certificate(der)
    return CertInfo(issuer=_name(cert.issuer), subject=_name(cert.subject), sha256=sha256)


def _decoded_name(name: Any) -> str | None:
    """CN, else O, of a name as ssl's getpeercert() gives it (tuples of (key, value) pairs)."""
    pairs = [pair for rdn in name for pair in rdn]
    for key in ("commonName", "organizationName"):
        for found, value in pairs:
            if found == key:
                return str(value)
    return None


def _attempt(sock: socket.socket, sni: str, context: ssl.SSLContext,
             ctx: ProbeContext) -> tuple[ssl.SSLSocket | None, Failure | None]:
    sock.settimeout(ctx.step_timeout())
    try:
        _raise_pending_error(sock)
        tls = context.wrap_socket(sock, server_hostname=sni, do_handshake_on_connect=False)
    except (OSError, ValueError) as exc:
        sock.close()
        return None, classify(exc, Operation.TLS_HANDSHAKE)
    # Handshake separately so the TLS socket can be closed on failure: wrap_socket's own
    # handshake leaves nothing to close when the peer reset the connection first.
    try:
        tls.do_handshake()
    except (OSError, ValueError) as exc:
        tls.close()
        return None, classify(exc, Operation.TLS_HANDSHAKE)
    return tls, None


def _raise_pending_error(sock: socket.socket) -> None:
    """Raise a reset that arrived before the handshake. Left pending, it makes wrap_socket
    fail after taking over the descriptor, leaving an SSL socket nobody can close."""
    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if code:
        raise OSError(code, os.strerror(code))


def _peek(reconnect: Reconnect | None, sni: str, ctx: ProbeContext) -> CertInfo | None:
    """Who issued a certificate neither store trusts: evidence of a filter's own CA."""
    if reconnect is None or ctx.expired():
        return None
    sock = reconnect()
    if sock is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA bundle: nothing is verified
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read the certificate; nothing is sent
    tls, _failure = _attempt(sock, sni, context, ctx)
    if tls is None:
        return None
    with tls:
        return cert_info(tls)


def _observation(sni: str, t0: float, ctx: ProbeContext, address: str | None, *,
                 failure: Failure | None, failure_public: Failure | None,
                 trusted_by: Trust | None = None, info: CertInfo | None = None,
                 version: str | None = None) -> TLSObservation:
    return TLSObservation(
        sni=sni, t0=t0, t=ctx.clock.now(), failure=failure, failure_public=failure_public,
        trusted_by=trusted_by, issuer=info.issuer if info else None,
        subject=info.subject if info else None, version=version,
        cert_sha256=info.sha256 if info else None, address=address)


def _name(name: x509.Name) -> str | None:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attrs = name.get_attributes_for_oid(oid)
        if attrs:
            value = attrs[0].value
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None
