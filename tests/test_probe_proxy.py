"""probe.proxy: a hand-made CONNECT against a real proxy that allows, denies or asks for auth."""

from __future__ import annotations

import base64
import socket

import pytest

from access_probe.engine.probe import proxy, tcp
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Failure, ProxyObservation
from tests.servers import Decision, Page, ProxyServer, SilentServer, WebServer

CTX = ProbeContext(timeout=1.0, max_body=4096, user_agent="probe-test/1")


def _policy(decision: Decision) -> ProxyServer:
    return ProxyServer(policy=lambda _host: decision, hosts={"site.test": "127.0.0.1"},
                       credentials="alice:s3cret")


def _connect(server: ProxyServer, port: int,
             proxy_url: str | None = None) -> tuple[ProxyObservation, socket.socket | None]:
    _obs, sock = tcp.connect(server.address, server.port, CTX, via_proxy=True)
    assert sock is not None
    return proxy.connect_tunnel(sock, "site.test", port, CTX, proxy_url=proxy_url or server.url)


def test_connect_allowed_gives_a_working_tunnel() -> None:
    with WebServer({"/": Page.html("Hi")}) as web, _policy(Decision.ALLOW) as server:
        obs, tunnel = _connect(server, web.port)
        assert tunnel is not None
        with tunnel:
            tunnel.sendall(b"GET / HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
            assert tunnel.recv(100).startswith(b"HTTP/1.1 200")
    assert obs.failure is None and obs.status == 200
    assert obs.target == f"site.test:{web.port}"
    assert server.log[0].method == "CONNECT" and server.log[0].user_agent == "probe-test/1"


def test_connect_denied_keeps_the_proxy_page() -> None:
    with _policy(Decision.DENY) as server:
        obs, tunnel = _connect(server, 443)
    assert tunnel is None
    assert obs.failure is Failure.PROXY_CONNECT_FAILED and obs.status == 403
    assert obs.headers["x-squid-error"] == "ERR_ACCESS_DENIED 0"
    assert obs.headers["server"].startswith("squid")
    assert obs.title == "ERROR: The requested URL could not be retrieved"
    assert obs.body_length == len(obs.body) > 0 and b"squid" in obs.body


def test_connect_needs_auth() -> None:
    with _policy(Decision.AUTH) as server:
        obs, tunnel = _connect(server, 443)
    assert tunnel is None and obs.status == 407
    assert obs.failure is Failure.PROXY_CONNECT_FAILED
    assert obs.headers["proxy-authenticate"].startswith("Basic")


def test_credentials_from_the_proxy_url_are_sent() -> None:
    with WebServer() as web, _policy(Decision.AUTH) as server:
        url = f"http://alice:s3cret@127.0.0.1:{server.port}"
        obs, tunnel = _connect(server, web.port, proxy_url=url)
        assert tunnel is not None
        tunnel.close()
    assert obs.status == 200
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert server.log[0].authorization == expected


@pytest.mark.timeout(10)
def test_silent_proxy_times_out() -> None:
    with SilentServer() as silent:
        _obs, sock = tcp.connect(silent.address, silent.port, CTX)
        assert sock is not None
        obs, tunnel = proxy.connect_tunnel(sock, "site.test", 443, ProbeContext(timeout=0.4),
                                           proxy_url=f"http://127.0.0.1:{silent.port}")
    assert tunnel is None and obs.failure is Failure.GENERIC_TIMEOUT and obs.status is None


@pytest.mark.parametrize(("url", "expected"), [
    ("http://proxy.council.test:3128", ("proxy.council.test", 3128)),
    ("http://proxy.council.test", ("proxy.council.test", 8080)),
    ("proxy.council.test:8000", ("proxy.council.test", 8000)),
    ("http://u:p@[::1]:3128", ("::1", 3128)),
])
def test_proxy_address(url: str, expected: tuple[str, int]) -> None:
    assert proxy.proxy_address(url) == expected
