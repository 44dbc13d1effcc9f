"""The council networks, one per scenario family, each configured with the real software
and the kind of policy a council IT team writes. Each builder returns the `Council` it made;
what the product should say about each is in `scenarios.py`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from . import certs, world
from .build import PYTHON, SERVICES, Council, Internet, build_council, start_websrv
from .services import dns, e2guardian, mitm, squid, squidguard
from .topology import Lab

S = world.SITES
COLLECTOR_ONLY = [
    # Councils behind an explicit proxy let nothing else out, except the collector.
    f"-A FORWARD -i lan -d {world.COLLECTOR} -p tcp --dport {world.COLLECTOR_PORT} -j ACCEPT",
    "-A FORWARD -i lan -p tcp -j REJECT --reject-with icmp-admin-prohibited",
]


def open_network(lab: Lab, net: Internet, index: int) -> Council:
    council = build_council(lab, net, "open", index)
    dns.start_dnsmasq(lab, council.gw, "open-dns", council.gateway, world.AUTH_DNS)
    return council


def dns_filter(lab: Lab, net: Internet, index: int) -> Council:
    council = build_council(lab, net, "dnsf", index)
    gw = council.gateway
    policies = [
        'local-zone: "facebook.com." always_nxdomain',
        'local-zone: "youtube.com." redirect',
        'local-data: "youtube.com. 300 IN A 0.0.0.0"',
        'local-zone: "x.com." redirect',
        f'local-data: "x.com. 300 IN A {gw}"',  # the council's block-page server
        'local-zone: "instagram.com." always_refuse',
    ]
    dns.start_unbound(lab, council.gw, "dnsf-dns", gw,
                      dns.filtering_conf(gw, world.AUTH_DNS, policies))
    _start_blockpage(lab, council)
    return council


def _start_blockpage(lab: Lab, council: Council, *, cgi: Mapping[str, str] | None = None,
                     server: str | None = None) -> None:
    """The council's block-page server on its gateway, http and https, answering every name
    with its own page (or, at `cgi` paths, a filter's block-page CGI)."""
    name = f"{council.name}-blockpage"
    # Its certificate is the council's own, for its own name: never the site's.
    ca = certs.make_ca("Westshire Council Filter CA", "Westshire Council")
    cert, key = certs.write_pair(lab.workdir, name,
                                 *certs.issue(ca, ["block.westshire.lab", council.gateway]))
    spec: dict[str, object] = {
        "listen": [[council.gateway, 80, False], [council.gateway, 443, True]],
        "cert": str(cert), "key": str(key), "sites": {}, "cgi": dict(cgi or {}),
        "default": {"title": "Westshire Council - Site Blocked",
                    "text": "This site is blocked by the council's DNS filter."},
    }
    if server:
        spec["server"] = server
    start_websrv(lab, council.gw, name, spec)
    lab.wait_listening(council.gw, name, council.gateway, 443)


def dnsmasq_filter(lab: Lab, net: Internet, index: int) -> Council:
    """The small-office way: the gateway's dnsmasq with `address=` lines."""
    council = build_council(lab, net, "dnsm", index)
    policies = [
        "address=/facebook.com/",  # no address: NXDOMAIN for the domain and below
        "address=/youtube.com/0.0.0.0",
        f"address=/instagram.com/{council.gateway}",  # the council's block-page server
    ]
    dns.start_dnsmasq(lab, council.gw, "dnsm-dns", council.gateway, world.AUTH_DNS, policies)
    _start_blockpage(lab, council)
    return council


def bind_rpz(lab: Lab, net: Internet, index: int) -> Council:
    """BIND 9 as the council resolver with a response-policy zone."""
    council = build_council(lab, net, "rpz", index)
    rpz = [
        "facebook.com CNAME .", "*.facebook.com CNAME .",  # NXDOMAIN
        "www.youtube.com A 0.0.0.0",  # a local answer: the sinkhole
        "x.com CNAME *.",  # NODATA: the name exists, with no address
    ]
    dns.start_named(lab, council.gw, "rpz-dns", council.gateway, world.AUTH_DNS, rpz)
    return council


def firewall(lab: Lab, net: Internet, index: int) -> Council:
    council = build_council(lab, net, "fw", index)
    dns.start_dnsmasq(lab, council.gw, "fw-dns", council.gateway, world.AUTH_DNS)
    lab.iptables(council.gw, [
        f"-A FORWARD -d {S['www.facebook.com']} -p tcp -j REJECT --reject-with tcp-reset",
        f"-A FORWARD -d {S['www.youtube.com']} -p tcp -j DROP",
        f"-A FORWARD -d {S['x.com']} -p tcp -j REJECT --reject-with icmp-admin-prohibited",
        # SNI filtering: the ClientHello carries the name in clear.
        "-A FORWARD -p tcp --dport 443 -m string --algo bm --string www.instagram.com "
        "-j REJECT --reject-with tcp-reset",
    ])
    # Some teams write nftables directly: a router-style "host unreachable", which a dead
    # site could also produce, so only the control can tell that it is a block.
    tiktok = S["www.tiktok.com"]
    path = lab.workdir / "fw-nft.conf"
    path.write_text(
        "table inet council {\n  chain forward {\n"
        "    type filter hook forward priority 10;\n"
        f"    ip daddr {tiktok} tcp dport {{ 80, 443 }} reject with icmp type host-unreachable\n"
        "  }\n}\n")
    lab.sh(council.gw, "nft", "-f", str(path))
    return council


def squid_proxy(lab: Lab, net: Internet, index: int) -> Council:
    council = build_council(lab, net, "squid", index, clients=2)
    dns.start_dnsmasq(lab, council.gw, "squid-dns", council.gateway, world.AUTH_DNS)
    lab.iptables(council.gw, COLLECTOR_ONLY)
    policy = squid.SquidPolicy(
        lan=f"10.{index}.0.0/24",
        connect_denied=(".facebook.com", ".tiktok.com"),
        http_blockpage=(".youtube.com",),
        auth_clients=(council.client_addr(1),),
        always_allowed=(world.COLLECTOR,),
    )
    squid.start(lab, council.gw, "squid", council.gateway, policy)
    return council


SQUIDGUARD_PAGE_SERVER = "Apache/2.4.62 (Debian)"


def squidguard_proxy(lab: Lab, net: Internet, index: int) -> Council:
    """Squid with squidGuard as its redirector, the council's block-page CGI on the gateway."""
    council = build_council(lab, net, "sg", index)
    dns.start_dnsmasq(lab, council.gw, "sg-dns", council.gateway, world.AUTH_DNS)
    lab.iptables(council.gw, COLLECTOR_ONLY)
    root = lab.workdir / "sg"  # squid's own directory: squid.start hands it to `proxy`
    conf = squidguard.configure(
        root / "squidguard", src="staff", lan=f"10.{index}.0.0/24",
        dests={"socialnet": ["facebook.com", "instagram.com"]},
        blockpage=f"http://{council.gateway}")
    cgi = squidguard.install_cgi(lab.workdir / "sg-cgi-bin", proxy="proxy.westshire.lab",
                                 proxymaster="itservicedesk@westshire.lab")
    _start_blockpage(lab, council, cgi={squidguard.CGI_PATH: str(cgi)},
                     server=SQUIDGUARD_PAGE_SERVER)
    policy = squid.SquidPolicy(
        lan=f"10.{index}.0.0/24", connect_denied=(), http_blockpage=(), auth_clients=(),
        always_allowed=(world.COLLECTOR,), url_rewrite=squidguard.rewrite_program(conf))
    squid.start(lab, council.gw, "sg", council.gateway, policy)
    return council


E2G_STAFF_GROUP = "filter1"  # hard blocks
E2G_WARN_GROUP = "filter2"  # warn-and-continue for a group of trusted staff
WARN_USER = "asmith.westshire"
E2G_WARN_TEMPLATE = """<!DOCTYPE html>
<html><head><title>E2Guardian - Warning</title></head>
<body>
<h2>Warning: this site is not normally allowed</h2>
<p>-URL- is in the category <b>-CATEGORIES-</b>. Your access will be logged.</p>
<p>User: -USER- &nbsp; IP: -IP-</p>
<p><a href="-BYPASS-">Continue to the site</a></p>
</body></html>
"""


def content_filter(lab: Lab, net: Internet, index: int) -> Council:
    council = build_council(lab, net, "e2g", index, clients=2)
    dns.start_dnsmasq(lab, council.gw, "e2g-dns", council.gateway, world.AUTH_DNS)
    lab.iptables(council.gw, COLLECTOR_ONLY)
    for k, user in enumerate((world.USER_NAME, WARN_USER)):
        lab.spawn(council.clients[k], f"e2g-identd{k}",
                  [PYTHON, str(SERVICES / "identd.py"), council.client_addr(k), user])
        lab.wait_listening(council.clients[k], f"e2g-identd{k}", council.client_addr(k), 113)
    etc = _configure_e2guardian(lab, council)
    e2guardian.start(lab, council.gw, "e2g", council.gateway, etc)
    return council


def _configure_e2guardian(lab: Lab, council: Council) -> Path:
    root = lab.workdir / "e2g"
    banned = ('#listcategory: "Social Networking"\nfacebook.com\ntiktok.com\n'
              '.Include<{etc}/lists/videolist>\n')
    lists = {
        "lists/localbannedsitelist": banned.replace("{etc}", str(root / "etc")),
        "lists/videolist": '#listcategory: "Video Streaming"\nyoutube.com\n',
        "lists/filtergroupslist": f"{world.USER_NAME}={E2G_STAFF_GROUP}\n"
                                  f"{WARN_USER}={E2G_WARN_GROUP}\n",
        "lists/domainsnobypass": "",
        "languages/ukenglish/warning.html": E2G_WARN_TEMPLATE,
    }
    etc = e2guardian.configure(
        lab, "e2g", council.gateway,
        settings={"authplugin": f"'{root}/etc/authplugins/ident.conf'", "filtergroups": "2",
                  "languagedir": f"'{root}/etc/languages'"},
        group_settings={}, lists=lists)
    warn = {"bypass": "300", "bypasskey": "'westshire-lab-bypass-key'",
            "htmltemplate": "'warning.html'"}
    e2guardian.add_group(etc, 2, "warn_staff", warn)
    return etc


def tls_inspection(lab: Lab, net: Internet, index: int, council_ca: certs.CA) -> Council:
    council = build_council(lab, net, "tlsi", index)
    dns.start_dnsmasq(lab, council.gw, "tlsi-dns", council.gateway, world.AUTH_DNS)
    mitm.start(lab, council.gw, "tlsi-mitm", council.gateway, council_ca, net.public_ca_file)
    return council


def squid_bump(lab: Lab, net: Internet, index: int, council_ca: certs.CA) -> Council:
    """Squid ssl-bump as an explicit inspecting proxy: it decrypts every CONNECT with the
    council's CA, and serves its deny page inside the decrypted connection."""
    council = build_council(lab, net, "bump", index)
    dns.start_dnsmasq(lab, council.gw, "bump-dns", council.gateway, world.AUTH_DNS)
    lab.iptables(council.gw, COLLECTOR_ONLY)
    policy = squid.SquidPolicy(
        lan=f"10.{index}.0.0/24", connect_denied=(), http_blockpage=(".facebook.com",),
        auth_clients=(), always_allowed=(world.COLLECTOR,), bump=True)
    squid.start(lab, council.gw, "bump", council.gateway, policy, bump_ca=council_ca,
                upstream_roots=net.public_ca_file)
    return council


SLOW_DELAY = 0.15  # seconds each way: 300 ms round trip
SLOW_LOSS = 0.05
SLOW_RATE = "1mbit"


def slow_path(lab: Lab, net: Internet, index: int) -> Council:
    council = build_council(lab, net, "slow", index)
    gw = council.gateway
    lab.spawn(council.gw, "slow-relay", [PYTHON, "-u", str(SERVICES / "delayline.py"), gw,
                                         "8000", "5353", world.AUTH_DNS, str(SLOW_DELAY)])
    lab.wait_listening(council.gw, "slow-relay", gw, 8000)
    lab.spawn(council.gw, "slow-dns", ["dnsmasq", "-k", "-C", "/dev/null", "--no-resolv",
                                       "--no-hosts", f"--server={gw}#5353",
                                       f"--listen-address={gw}", "--bind-interfaces",
                                       "--pid-file", "--log-facility=-", "--cache-size=0"])
    lab.wait_listening(council.gw, "slow-dns", gw, 53, udp=True)
    loss = f"-m statistic --mode random --probability {SLOW_LOSS} -j DROP"
    lab.iptables(council.gw, [
        "-t nat -A PREROUTING -i lan -p tcp -m multiport --dports 80,443 "
        "-j REDIRECT --to-ports 8000",
        # Loss on the slow link's TCP only: TCP must recover, and does; DNS over UDP is
        # delayed but not dropped, so a lost query cannot masquerade as DNS tampering.
        f"-A OUTPUT -o wan -p tcp {loss}",
        f"-A INPUT -i wan -p tcp {loss}",
    ])
    lab.sh(council.gw, "tc", "qdisc", "add", "dev", "wan", "root", "tbf", "rate", SLOW_RATE,
           "burst", "32kbit", "latency", "400ms")
    return council


Builder = Callable[[Lab, Internet, int], Council]
