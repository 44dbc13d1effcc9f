"""Squid as a council's explicit proxy (squid-openssl 5.7 from Debian), configured with the
ACLs an IT team writes: CONNECT to social sites denied, a custom deny_info page for some
plain-HTTP sites, proxy authentication for some machines, everything else allowed."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..certs import CA
from ..topology import Lab

PORT = 3128
ERRORS = Path("/usr/share/squid/errors/en")
HELPER = "/usr/lib/squid/basic_ncsa_auth"
CERTGEN = "/usr/lib/squid/security_file_certgen"
# The council's own deny page: a real deployment's wording, with squid's %-codes.
COUNCIL_PAGE = """<!DOCTYPE html>
<html><head><title>Westshire Council - Website Blocked</title></head>
<body>
<h1>This website has been blocked</h1>
<p>Access to %U has been blocked by Westshire Council's internet usage policy.</p>
<p>If you need this site for your work, contact the IT Service Desk quoting reference %c.</p>
</body></html>
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class SquidPolicy:
    lan: str  # the council LAN, e.g. 10.3.0.0/24
    connect_denied: tuple[str, ...]  # dstdomain entries whose CONNECT is refused
    http_blockpage: tuple[str, ...]  # dstdomain entries answered with the council page
    auth_clients: tuple[str, ...]  # client addresses that must authenticate (407)
    always_allowed: tuple[str, ...]  # destination addresses any client may reach
    bump: bool = False  # ssl-bump every CONNECT with the council CA (TLS inspection)
    url_rewrite: str = ""  # url_rewrite_program lines (a redirector such as squidGuard)


def squid_conf(root: Path, address: str, policy: SquidPolicy) -> str:
    def acl(name: str, kind: str, values: tuple[str, ...]) -> str:
        return f"acl {name} {kind} {' '.join(values)}\n" if values else ""

    return (
        _port_lines(root, address, policy.bump)
        + "pid_filename none\ncache deny all\ncache_mem 8 MB\n"
        f"access_log stdio:{root}/access.log\ncache_log {root}/cache.log\n"
        f"cache_store_log none\ncoredump_dir {root}\nerror_directory {root}/errors\n"
        "visible_hostname proxy.westshire.lab\ncache_effective_user proxy\n"
        "dns_v4_first on\nforward_timeout 10 seconds\nconnect_timeout 5 seconds\n"
        "shutdown_lifetime 1 seconds\n"
        + policy.url_rewrite
        + f"auth_param basic program {HELPER} {root}/passwd\n"
        "auth_param basic realm Westshire Council Web Proxy\n"
        f"acl localnet src {policy.lan}\n"
        "acl SSL_ports port 443\nacl Safe_ports port 80 443 8080\nacl CONNECT method CONNECT\n"
        + acl("social", "dstdomain", policy.connect_denied)
        + acl("video", "dstdomain", policy.http_blockpage)
        + acl("needauth", "src", policy.auth_clients)
        + acl("always", "dst", policy.always_allowed)
        + "acl authenticated proxy_auth REQUIRED\n"
        "http_access deny !Safe_ports\nhttp_access deny CONNECT !SSL_ports !always\n"
        + ("http_access allow localnet always\n" if policy.always_allowed else "")
        + ("http_access deny needauth !authenticated\n" if policy.auth_clients else "")
        + ("http_access deny CONNECT social\n" if policy.connect_denied else "")
        + ("deny_info ERR_WESTSHIRE_BLOCKED video\nhttp_access deny video\n"
           if policy.http_blockpage else "")
        + "http_access allow localnet\nhttp_access deny all\n"
    )


def _port_lines(root: Path, address: str, bump: bool) -> str:
    if not bump:
        return f"http_port {address}:{PORT}\n"
    return (
        f"http_port {address}:{PORT} ssl-bump tls-cert={root}/ca.crt tls-key={root}/ca.key "
        "generate-host-certificates=on dynamic_cert_mem_cache_size=4MB\n"
        f"sslcrtd_program {CERTGEN} -s {root}/ssl_db -M 4MB\nsslcrtd_children 2\n"
        f"tls_outgoing_options cafile={root}/upstream-roots.pem\n"
        "acl step1 at_step SslBump1\nssl_bump peek step1\nssl_bump bump all\n"
    )


def start(lab: Lab, ns: str, name: str, address: str, policy: SquidPolicy, *,
          bump_ca: CA | None = None, upstream_roots: Path | None = None) -> None:
    root = lab.workdir / name
    shutil.copytree(ERRORS, root / "errors")
    (root / "errors" / "ERR_WESTSHIRE_BLOCKED").write_text(COUNCIL_PAGE)
    # A user exists, but the probe never has the password: it must see the 407 as data.
    (root / "passwd").write_text("staff:$apr1$lab$8Rj5SOg2wB1tO2yY1S0dC.\n")
    if bump_ca is not None and upstream_roots is not None:
        (root / "ca.crt").write_bytes(bump_ca.cert_pem)
        (root / "ca.key").write_bytes(bump_ca.key_pem)
        shutil.copy(upstream_roots, root / "upstream-roots.pem")
        lab.sh(ns, CERTGEN, "-c", "-s", str(root / "ssl_db"), "-M", "4MB")
    conf = root / "squid.conf"
    conf.write_text(squid_conf(root, address, policy))
    shutil.chown(root, "proxy", "proxy")
    for path in root.rglob("*"):
        shutil.chown(path, "proxy", "proxy")
    lab.sh(ns, "squid", "-k", "parse", "-f", str(conf))
    # A service name of our own: parallel lab runs must not share squid's runtime names.
    lab.spawn(ns, name, ["squid", "-N", "-d", "1", "-f", str(conf), "-n", lab.prefix + name])
    lab.wait_listening(ns, name, address, PORT)
