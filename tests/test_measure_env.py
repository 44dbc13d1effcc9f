"""measure() takes its route only from the NetEnv: system resolver, PAC, ambient state."""

from __future__ import annotations

import pytest

from access_probe.config import Config
from access_probe.engine.measure import Limits, measure
from access_probe.engine.netenv import NetEnv
from access_probe.model import Engine, Route
from tests.servers import BlackholeServer, Decision, Page, ProxyServer, WebServer

FAST = Limits(timeout=1.0, max_body=4096, max_redirects=2)
LAB = ("127.0.0.0/8", "::1/128")


def test_system_resolver_path() -> None:
    with WebServer({"/": Page.html("Local")}) as web:
        m = measure(f"http://localhost:{web.port}/", env=NetEnv(lab_networks=LAB),
                    limits=FAST)
    assert [d.engine for d in m.dns] == [Engine.SYSTEM]
    # localhost may give ::1 first, where nothing listens: the next address is tried.
    assert m.tcp[-1].address == "127.0.0.1" and m.http[-1].status == 200


def test_ambient_proxy_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only NetEnv decides the route: requests must not pick up HTTP(S)_PROXY by itself."""
    with BlackholeServer() as hole, WebServer({"/": Page.html("Direct")}) as web:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{hole.port}")
        m = measure(f"http://127.0.0.1:{web.port}/", env=NetEnv(), limits=FAST)
    assert m.route is Route.DIRECT
    assert m.http[0].status == 200 and m.http[0].title == "Direct"


def test_pac_routes_one_site_through_the_proxy() -> None:
    with ProxyServer(policy=lambda _h: Decision.DENY) as proxy, WebServer(
            {"/proxy.pac": Page(body=_pac(proxy.port), headers=(
                ("Content-Type", "application/x-ns-proxy-autoconfig"),)),
             "/": Page.html("Direct")}) as web:
        env = NetEnv.from_config(Config(proxy=f"pac+http://127.0.0.1:{web.port}/proxy.pac"),
                                 environ={})
        blocked = measure("http://social.test/", env=env, limits=FAST)
        direct = measure(f"http://127.0.0.1:{web.port}/", env=env, limits=FAST)
    assert blocked.route is Route.PROXY and blocked.pac == f"PROXY 127.0.0.1:{proxy.port}"
    assert blocked.http[0].status == 403
    assert direct.route is Route.DIRECT and direct.pac == "DIRECT"
    assert direct.http[0].title == "Direct"


def _pac(port: int) -> bytes:
    return (
        "function FindProxyForURL(url, host) {"
        f' if (host == "social.test") {{ return "PROXY 127.0.0.1:{port}"; }}'
        ' return "DIRECT"; }'
    ).encode()
