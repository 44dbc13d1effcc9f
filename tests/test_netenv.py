"""NetEnv: proxy choice (explicit, environment, PAC), resolver, trust stores."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from access_probe import USER_AGENT
from access_probe.config import Config, DNSConfig, TLSConfig
from access_probe.engine.netenv import NetEnv, ProxyChoice, ProxyMode, bypasses
from tests.servers import CertAuthorities, Page, WebServer

PAC = b"""
function FindProxyForURL(url, host) {
    if (shExpMatch(host, "*.facebook.test")) { return "PROXY 127.0.0.1:3128; DIRECT"; }
    if (host == "secure.test") { return "HTTPS proxy.test:443"; }
    if (host == "socks.test") { return "SOCKS5 127.0.0.1:1080"; }
    return "DIRECT";
}
"""
PAC_HEADERS = (("Content-Type", "application/x-ns-proxy-autoconfig"),)


def _env(proxy: str = "system", environ: dict[str, str] | None = None) -> NetEnv:
    return NetEnv.from_config(Config(proxy=proxy), environ=environ or {})


def test_none_and_explicit() -> None:
    assert _env("none").proxy_for("https://a.test/") == ProxyChoice(proxy=None)
    explicit = _env("http://proxy.test:3128")
    assert explicit.proxy_mode is ProxyMode.EXPLICIT
    assert explicit.proxy_for("https://a.test/") == ProxyChoice(proxy="http://proxy.test:3128")


def test_environment_proxies_with_no_proxy() -> None:
    env = _env(environ={"HTTPS_PROXY": "http://upper.test:8080",
                        "https_proxy": "http://lower.test:3128",
                        "HTTP_PROXY": "http://plain.test:80",
                        "NO_PROXY": "intranet.test,.council.test,10.0.0.0/8"})
    assert env.proxy_mode is ProxyMode.ENVIRONMENT
    assert env.proxy_for("https://www.facebook.com/").proxy == "http://lower.test:3128"
    assert env.proxy_for("http://www.facebook.com/").proxy == "http://plain.test:80"
    assert env.proxy_for("https://intranet.test/").proxy is None
    assert env.proxy_for("https://hub.council.test/x").proxy is None
    assert env.proxy_for("https://10.1.2.3/").proxy is None


def test_system_without_anything_is_direct() -> None:
    env = _env()
    assert env.proxy_mode is ProxyMode.NONE
    assert env.proxy_for("https://a.test/") == ProxyChoice(proxy=None)


def test_pac_from_config_value() -> None:
    with WebServer({"/proxy.pac": Page(body=PAC, headers=PAC_HEADERS)}) as web:
        env = _env(f"pac+http://127.0.0.1:{web.port}/proxy.pac")
    assert env.proxy_mode is ProxyMode.PAC
    assert env.proxy_for("https://www.facebook.test/") == ProxyChoice(
        proxy="http://127.0.0.1:3128", pac="PROXY 127.0.0.1:3128; DIRECT")
    assert env.proxy_for("https://hub.test/") == ProxyChoice(proxy=None, pac="DIRECT")
    assert env.proxy_for("https://secure.test/").proxy == "https://proxy.test:443"
    socks = env.proxy_for("https://socks.test/")
    assert socks.proxy is None and socks.pac == "SOCKS5 127.0.0.1:1080"


def test_pac_from_environment_variable() -> None:
    with WebServer({"/wpad.dat": Page(body=PAC, headers=PAC_HEADERS)}) as web:
        env = _env(environ={"ACCESS_PROBE_PAC_URL": f"http://127.0.0.1:{web.port}/wpad.dat"})
    assert env.proxy_mode is ProxyMode.PAC
    assert env.proxy_for("https://x.facebook.test/").proxy == "http://127.0.0.1:3128"


@pytest.mark.parametrize("page", [Page.html("Not found", status=404),
                                  Page(body=b"this is not javascript {{{")])
def test_broken_pac_means_direct_and_says_so(page: Page) -> None:
    with WebServer({"/proxy.pac": page}) as web:
        env = _env(f"pac+http://127.0.0.1:{web.port}/proxy.pac")
    assert env.pac is not None and env.pac.problem
    choice = env.proxy_for("https://www.facebook.test/")
    assert choice.proxy is None and choice.pac and choice.pac.startswith("DIRECT (")


def test_unreachable_pac_means_direct() -> None:
    env = _env("pac+http://127.0.0.1:9/proxy.pac")
    assert env.pac is not None and "fetch" in (env.pac.problem or "")
    assert env.proxy_for("https://a.test/").proxy is None


def test_resolver() -> None:
    explicit = NetEnv.from_config(Config(dns=DNSConfig(resolver="198.51.100.53")), environ={})
    assert (explicit.resolver, explicit.nameservers) == ("198.51.100.53", ("198.51.100.53",))
    system = NetEnv.from_config(Config(), environ={})
    assert system.resolver == "system"
    assert all(isinstance(ns, str) for ns in system.nameservers)


def test_trust_contexts(cas: CertAuthorities) -> None:
    cfg = Config(tls=TLSConfig(public_roots=cas.public_bundle))
    env = NetEnv.from_config(cfg, environ={"SSL_CERT_FILE": str(cas.inspection_bundle)})
    assert env.local_cafile == cas.inspection_bundle
    assert _issuers(env.public_context()) == {"Test Public Roots"}
    assert _issuers(env.local_context()) == {"Council Inspection CA"}
    assert env.user_agent == USER_AGENT


def test_default_public_roots_are_certifi() -> None:
    import certifi

    env = NetEnv.from_config(Config(), environ={})
    assert env.public_roots is None
    context = env.public_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) > 50
    assert Path(certifi.where()).is_file()


@pytest.mark.parametrize(("host", "no_proxy", "expected"), [
    ("a.test", "*", True),
    ("a.test", "a.test", True),
    ("www.a.test", ".a.test", True),
    ("www.a.test", "a.test", True),
    ("nota.test", "a.test", False),
    ("a.test", "a.test:8080", True),
    ("10.2.3.4", "10.0.0.0/8", True),
    ("11.2.3.4", "10.0.0.0/8", False),
    ("a.test", " , ", False),
])
def test_no_proxy_matching(host: str, no_proxy: str, expected: bool) -> None:
    assert bypasses(host, no_proxy) is expected


def _issuers(context: ssl.SSLContext) -> set[str]:
    names: set[str] = set()
    for cert in context.get_ca_certs():
        subject: tuple[tuple[tuple[str, str], ...], ...] = cert["subject"]  # type: ignore[assignment]
        names.update(value for rdn in subject for key, value in rdn
                     if key == "organizationName")
    return names
