"""probe.tls against real TLS servers: public CA, inspection CA, untrusted, resets."""

from __future__ import annotations

import socket

import pytest

from access_probe.engine.netenv import NetEnv
from access_probe.engine.probe import tcp, tls
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Failure, TLSObservation, Trust
from tests.servers import CertAuthorities, Page, ResetServer, SilentServer, WebServer

CTX = ProbeContext(timeout=1.0)


def _env(cas: CertAuthorities, *, local_inspection: bool) -> NetEnv:
    local = cas.inspection_bundle if local_inspection else cas.public_bundle
    return NetEnv(public_roots=cas.public_bundle, local_cafile=local)


def _connector(port: int) -> tls.Reconnect:
    def reconnect() -> socket.socket | None:
        return tcp.connect("127.0.0.1", port, CTX)[1]
    return reconnect


def _handshake(port: int, env: NetEnv, sni: str = "site.test",
               ctx: ProbeContext = CTX) -> tuple[TLSObservation, bool]:
    reconnect = _connector(port)
    sock = reconnect()
    assert sock is not None
    obs, tls_sock = tls.handshake(sock, sni, ctx, public=env.public_context(),
                                  local=env.local_context(), reconnect=reconnect,
                                  address="127.0.0.1")
    if tls_sock is not None:
        tls_sock.close()
    return obs, tls_sock is not None


def test_public_certificate(cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Hi")}, cert=cas.public_cert()) as web:
        obs, ok = _handshake(web.port, _env(cas, local_inspection=False))
    assert ok and obs.failure is None and obs.failure_public is None
    assert obs.trusted_by is Trust.PUBLIC
    assert obs.issuer and "Test Public Roots" in obs.issuer
    assert obs.version and obs.version.startswith("TLS")
    assert obs.cert_sha256 and len(obs.cert_sha256) == 64
    assert obs.sni == "site.test" and obs.address == "127.0.0.1"


def test_inspection_certificate_trusted_locally(cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Hi")}, cert=cas.inspection_cert()) as web:
        obs, ok = _handshake(web.port, _env(cas, local_inspection=True))
    assert ok and obs.failure is None
    assert obs.failure_public is Failure.SSL_UNKNOWN_AUTHORITY
    assert obs.trusted_by is Trust.LOCAL
    assert obs.issuer and "Council Inspection CA" in obs.issuer


def test_untrusted_everywhere_still_names_the_issuer(cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Hi")}, cert=cas.rogue_cert()) as web:
        obs, ok = _handshake(web.port, _env(cas, local_inspection=True))
    assert not ok
    assert obs.failure is Failure.SSL_UNKNOWN_AUTHORITY
    assert obs.failure_public is Failure.SSL_UNKNOWN_AUTHORITY
    assert obs.trusted_by is None
    assert obs.issuer and "Nobody Trusts Me" in obs.issuer


def test_wrong_name(cas: CertAuthorities) -> None:
    with WebServer({"/": Page.html("Hi")}, cert=cas.public_cert("other.test")) as web:
        obs, ok = _handshake(web.port, _env(cas, local_inspection=False), sni="site.test")
    assert not ok and obs.failure_public is Failure.SSL_INVALID_HOSTNAME


def test_reset_after_client_hello() -> None:
    env = NetEnv()
    with ResetServer(after_bytes=1) as server:
        obs, ok = _handshake(server.port, env)
    assert not ok and obs.failure is Failure.CONNECTION_RESET
    assert server.received  # the ClientHello did arrive before the reset


@pytest.mark.timeout(10)
def test_silent_server_times_out() -> None:
    with SilentServer() as server:
        obs, ok = _handshake(server.port, NetEnv(), ctx=ProbeContext(timeout=0.5))
    assert not ok and obs.failure is Failure.GENERIC_TIMEOUT
    assert obs.t - obs.t0 < 2.0
