"""The only reader of ambient network state: proxy (explicit, environment, OS settings, PAC),
resolver, trust stores. Everything else receives a `NetEnv` and never looks at the
environment itself, so a result never depends on state that was not recorded.

Proxy values (config key `proxy`):
    none                        direct
    http://host:port            this proxy for everything
    pac+http://host/proxy.pac   this PAC file decides per URL
    system                      HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case), else a PAC URL
                                from ACCESS_PROBE_PAC_URL, else the OS settings (Windows
                                registry / macOS preferences: manual proxy or PAC URL)
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi

from access_probe import USER_AGENT
from access_probe.config import Config
from access_probe.engine.addresses import in_networks, parse_address

__all__ = ["NetEnv", "PacResolver", "ProxyChoice", "ProxyMode", "bypasses"]

PAC_ENV = "ACCESS_PROBE_PAC_URL"
_PAC_PREFIX = "pac+"
_PAC_TIMEOUT = 5.0
_PAC_MAX = 1 << 20  # a PAC file larger than this is not one
_WPAD_TIMEOUT = 2.0  # per candidate: a missing wpad host must not stall start-up


class ProxyMode(StrEnum):
    NONE = "none"
    EXPLICIT = "explicit"  # one proxy URL for everything
    ENVIRONMENT = "environment"  # per-scheme proxies and NO_PROXY, from env or OS settings
    PAC = "pac"


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """The route for one URL: `proxy` URL or None (direct), and what PAC said, if PAC ran."""

    proxy: str | None
    pac: str | None = None


class PacResolver:
    """A loaded PAC file, or the reason it could not be loaded (then every URL goes direct)."""

    def __init__(self, url: str, *, js: str | None = None, problem: str | None = None) -> None:
        self.url = url
        self.problem = problem
        self._pac: Any = None
        self._lock = threading.Lock()  # the JS interpreter is not thread-safe
        if js is not None and problem is None:
            self._pac, self.problem = _parse_pac(js)

    @classmethod
    def fetch(cls, url: str, *, timeout: float = _PAC_TIMEOUT) -> PacResolver:
        import requests  # only PAC needs it: a check without PAC never loads it

        session = requests.Session()
        session.trust_env = False  # the PAC file itself is fetched directly
        try:
            with session, session.get(url, timeout=timeout, stream=True) as response:
                response.raise_for_status()
                js = response.raw.read(_PAC_MAX, decode_content=True).decode("utf-8", "replace")
        except (requests.RequestException, OSError, ValueError) as exc:
            return cls(url, problem=f"could not fetch PAC: {type(exc).__name__}")
        return cls(url, js=js)

    def find(self, url: str) -> ProxyChoice:
        if self._pac is None:
            return ProxyChoice(proxy=None, pac="DIRECT (PAC unavailable)")
        host = urlsplit(url).hostname or ""
        try:
            with self._lock:
                answer = str(self._pac.find_proxy_for_url(url, host))
        except Exception as exc:  # noqa: BLE001 - any JS error means "no usable answer"
            return ProxyChoice(proxy=None, pac=f"DIRECT (PAC error: {type(exc).__name__})")
        return ProxyChoice(proxy=_first_proxy(answer), pac=" ".join(answer.split()))


@dataclass(frozen=True, slots=True, kw_only=True)
class NetEnv:
    """Everything ambient that decides how a URL is reached, resolved once and recorded."""

    resolver: str = "system"  # "system" (getaddrinfo) or a nameserver's IP address
    nameservers: tuple[str, ...] = ()  # for direct UDP queries; [0] is used
    proxy_mode: ProxyMode = ProxyMode.NONE
    proxy_url: str | None = None  # ProxyMode.EXPLICIT
    proxies: Mapping[str, str] = field(default_factory=dict)  # scheme -> URL (ENVIRONMENT)
    no_proxy: str | None = None  # ENVIRONMENT
    pac: PacResolver | None = field(default=None, compare=False)  # ProxyMode.PAC
    public_roots: Path | None = None  # None: certifi
    local_cafile: Path | None = None  # None: the OS store (OpenSSL defaults / truststore)
    user_agent: str = USER_AGENT
    dns_port: int = 53  # tests run their nameserver on a high port
    lab_networks: tuple[str, ...] = ()  # a test lab's own networks: answers there are real
    # Loading a CA bundle costs ~15 ms; contexts are built once and shared (read-only).
    _contexts: dict[str, ssl.SSLContext] = field(default_factory=dict, init=False,
                                                 compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, compare=False,
                                  repr=False)

    @classmethod
    def from_config(cls, cfg: Config, *, environ: Mapping[str, str] | None = None) -> NetEnv:
        env = os.environ if environ is None else environ
        resolver = cfg.dns.resolver
        nameservers = (resolver,) if resolver != "system" else _system_nameservers()
        local = env.get("SSL_CERT_FILE")
        return cls(resolver=resolver, nameservers=nameservers,
                   public_roots=cfg.tls.public_roots,
                   local_cafile=Path(local) if local else None, **_proxy_fields(cfg.proxy, env))

    def proxy_for(self, url: str) -> ProxyChoice:
        if self.proxy_mode is ProxyMode.EXPLICIT:
            return ProxyChoice(proxy=self.proxy_url)
        if self.proxy_mode is ProxyMode.PAC and self.pac is not None:
            return self.pac.find(url)
        if self.proxy_mode is ProxyMode.ENVIRONMENT:
            return ProxyChoice(proxy=self._environment_proxy(url))
        return ProxyChoice(proxy=None)

    def public_context(self) -> ssl.SSLContext:
        """Verifies against the public web roots (tls.public_roots, else certifi). Shared by
        every caller: wrap sockets with it, never modify it."""
        return self._context("public", self._make_public)

    def local_context(self) -> ssl.SSLContext:
        """Verifies against this machine's own store: what decides whether an inspection
        proxy's certificate is trusted here. Shared, like public_context()."""
        return self._context("local", self._make_local)

    def _context(self, key: str, make: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        with self._lock:
            if key not in self._contexts:
                self._contexts[key] = make()
            return self._contexts[key]

    def _make_public(self) -> ssl.SSLContext:
        cafile = self.public_roots if self.public_roots is not None else Path(certifi.where())
        return ssl.create_default_context(cafile=str(cafile))

    def _make_local(self) -> ssl.SSLContext:
        if self.local_cafile is not None:
            return ssl.create_default_context(cafile=str(self.local_cafile))
        if sys.platform in ("win32", "darwin"):
            import truststore

            return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return ssl.create_default_context()

    def _environment_proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        proxy = self.proxies.get(parts.scheme)
        if proxy is None or not parts.hostname:
            return None
        if self.no_proxy and bypasses(parts.hostname, self.no_proxy):
            return None
        return proxy


def bypasses(host: str, no_proxy: str) -> bool:
    """True when NO_PROXY (comma-separated names, .suffixes, CIDRs, or *) covers `host`."""
    host = host.lower().rstrip(".")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry and in_networks(host, (entry,)):
            return True
        name = entry.lstrip("*.")
        if name.count(":") == 1:  # "host:port"; the port does not narrow the match here
            name = name.split(":", 1)[0]
        if host == name or host.endswith("." + name):
            return True
    return False


def _proxy_fields(value: str, env: Mapping[str, str]) -> dict[str, Any]:
    if value == "none":
        return {"proxy_mode": ProxyMode.NONE}
    if value.startswith(_PAC_PREFIX):
        return {"proxy_mode": ProxyMode.PAC,
                "pac": PacResolver.fetch(value.removeprefix(_PAC_PREFIX))}
    if value == "wpad":
        found = discover_wpad(wpad_candidates())
        if found is not None:
            return {"proxy_mode": ProxyMode.PAC, "pac": found}
        value = "system"  # no WPAD server answered: what the OS and environment say
    if value != "system":
        return {"proxy_mode": ProxyMode.EXPLICIT, "proxy_url": value}
    proxies, no_proxy = _environment_proxies(env)
    if proxies:
        return {"proxy_mode": ProxyMode.ENVIRONMENT, "proxies": proxies, "no_proxy": no_proxy}
    pac_url = env.get(PAC_ENV) or _os_pac_url()
    if pac_url:
        return {"proxy_mode": ProxyMode.PAC, "pac": PacResolver.fetch(pac_url)}
    proxies = _os_proxies()
    if proxies:
        return {"proxy_mode": ProxyMode.ENVIRONMENT, "proxies": proxies,
                "no_proxy": proxies.pop("no", None)}
    return {"proxy_mode": ProxyMode.NONE}


def wpad_candidates(fqdn: str | None = None) -> list[str]:
    """WPAD's PAC URLs for this machine's domain, nearest first (http://wpad.<domain>/wpad.dat),
    kept inside the organisation's registered domain by the Public Suffix List (pypac)."""
    from pypac.wpad import proxy_urls_from_dns

    return list(proxy_urls_from_dns(fqdn or socket.getfqdn()))


def discover_wpad(candidates: list[str], *,
                  fetch: Callable[[str], PacResolver] | None = None) -> PacResolver | None:
    """The first WPAD candidate that serves a usable PAC file, else None. Only asked for with
    `proxy: wpad`: discovery contacts hosts in the council's domain that nobody named."""
    fetch = fetch or (lambda url: PacResolver.fetch(url, timeout=_WPAD_TIMEOUT))
    for url in candidates:
        resolver = fetch(url)
        if resolver.problem is None:
            return resolver
    return None


def _environment_proxies(env: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """HTTPS_PROXY/HTTP_PROXY/NO_PROXY; lower case wins, as curl and requests do."""
    def read(name: str) -> str | None:
        return env.get(name.lower()) or env.get(name.upper()) or None

    proxies = {scheme: url for scheme, url in
               (("https", read("https_proxy")), ("http", read("http_proxy"))) if url}
    all_proxy = read("all_proxy")
    if all_proxy and all_proxy.startswith("http"):
        for scheme in ("http", "https"):
            proxies.setdefault(scheme, all_proxy)
    return proxies, read("no_proxy")


def _os_pac_url() -> str | None:
    """The PAC URL in the OS settings (Windows registry, macOS preferences), via pypac."""
    if sys.platform not in ("win32", "darwin"):
        return None
    from pypac import os_settings

    try:
        if sys.platform == "win32":
            found = os_settings.autoconfig_url_from_registry()
        else:
            found = os_settings.autoconfig_url_from_preferences()
    except Exception:  # noqa: BLE001 - unreadable settings mean "no PAC configured"
        return None
    return str(found) if found and str(found).startswith(("http://", "https://")) else None


def _os_proxies() -> dict[str, str]:
    """Manual proxy settings of Windows/macOS (the stdlib reads the registry / SCDynamicStore)."""
    if sys.platform == "win32":
        return dict(urllib.request.getproxies_registry())  # type: ignore[attr-defined]
    if sys.platform == "darwin":
        return dict(urllib.request.getproxies_macosx_sysconf())  # type: ignore[attr-defined]
    return {}


def _system_nameservers() -> tuple[str, ...]:
    """The system's nameservers (/etc/resolv.conf; the registry on Windows) via dnspython."""
    import dns.resolver  # its import costs a tenth of a second of a check's CPU: only here

    try:
        resolver = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError):
        return ()
    return tuple(str(ns) for ns in resolver.nameservers if parse_address(str(ns)) is not None)


def _parse_pac(js: str) -> tuple[Any, str | None]:
    from pypac.parser import MalformedPacError, PACFile

    try:
        return PACFile(js), None
    except (MalformedPacError, Exception) as exc:  # noqa: BLE001 - a broken PAC means direct
        return None, f"could not parse PAC: {type(exc).__name__}"


def _first_proxy(answer: str) -> str | None:
    """The first usable entry of a PAC answer ("PROXY a:3128; DIRECT") as a proxy URL."""
    for entry in answer.split(";"):
        words = entry.split()
        if not words:
            continue
        kind = words[0].upper()
        if kind == "DIRECT":
            return None
        if kind in ("PROXY", "HTTP") and len(words) > 1:
            return f"http://{words[1]}"
        if kind == "HTTPS" and len(words) > 1:
            return f"https://{words[1]}"
    return None  # only SOCKS or nothing usable: measured direct, PAC answer recorded
