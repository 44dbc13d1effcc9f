"""`proxy: wpad`: PAC discovery through WPAD, opted into by IT (it contacts unnamed hosts)."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from access_probe.config import Config
from access_probe.engine import netenv
from access_probe.engine.netenv import NetEnv, ProxyMode, discover_wpad, wpad_candidates
from tests.servers import Page, WebServer

PAC = (b'function FindProxyForURL(url, host) {'
       b' if (dnsDomainIs(host, ".facebook.com")) return "PROXY 198.51.100.3:3128";'
       b' return "DIRECT"; }')


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_candidates_stay_inside_the_organisation() -> None:
    assert wpad_candidates("pc42.corp.westshire.gov.uk") == [
        "http://wpad.corp.westshire.gov.uk/wpad.dat", "http://wpad.westshire.gov.uk/wpad.dat"]
    assert wpad_candidates("laptop") == []  # no domain: nothing to discover


def test_first_serving_candidate_wins() -> None:
    pac_page = Page(body=PAC, headers=(("Content-Type", "application/x-ns-proxy-autoconfig"),))
    with WebServer({"/wpad.dat": pac_page}) as web:
        dead = f"http://127.0.0.1:{closed_port()}/wpad.dat"
        found = discover_wpad([dead, f"http://127.0.0.1:{web.port}/wpad.dat"])
    assert found is not None and found.problem is None
    assert found.find("https://www.facebook.com/").proxy == "http://198.51.100.3:3128"
    assert found.find("https://www.gov.uk/").proxy is None
    assert discover_wpad([dead]) is None


def test_wpad_mode_uses_the_discovered_pac(monkeypatch: pytest.MonkeyPatch) -> None:
    pac_page = Page(body=PAC, headers=(("Content-Type", "application/x-ns-proxy-autoconfig"),))
    with WebServer({"/wpad.dat": pac_page}) as web:
        monkeypatch.setattr(netenv, "wpad_candidates",
                            lambda: [f"http://127.0.0.1:{web.port}/wpad.dat"])
        env = NetEnv.from_config(replace(Config(), proxy="wpad"), environ={})
    assert env.proxy_mode is ProxyMode.PAC
    choice = env.proxy_for("https://www.facebook.com/")
    assert choice.proxy == "http://198.51.100.3:3128" and choice.pac == "PROXY 198.51.100.3:3128"


def test_wpad_mode_without_a_server_falls_back_to_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netenv, "wpad_candidates", list)
    env = NetEnv.from_config(replace(Config(), proxy="wpad"),
                             environ={"https_proxy": "http://198.51.100.9:8080"})
    assert env.proxy_mode is ProxyMode.ENVIRONMENT
    assert env.proxy_for("https://x.com/").proxy == "http://198.51.100.9:8080"
