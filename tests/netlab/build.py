"""Assembling the lab: the Internet namespace with its DNS, web sites and collector, and the
scaffold of a council network (gateway + client machines). The councils' own filtering
software is configured in `councils.py`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import certs, world
from .services import dns
from .topology import Lab

VENV = Path(__file__).resolve().parents[2] / ".venv"
PYTHON = str(VENV / "bin" / "python")
ACCESS_PROBE = str(VENV / "bin" / "access-probe")
SERVICES = Path(__file__).resolve().parent / "services"


@dataclass
class Internet:
    ns: str
    public_ca: certs.CA
    public_ca_file: Path
    collector_token: str | None = None


@dataclass
class Council:
    name: str
    index: int
    gw: str
    clients: list[str] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        return f"10.{self.index}.0.1"

    def client_addr(self, k: int = 0) -> str:
        return f"10.{self.index}.0.{10 + k}"

    @property
    def uplink(self) -> str:
        return f"203.0.113.{4 * self.index + 2}"


def build_internet(lab: Lab) -> Internet:
    ns = lab.ns("inet")
    # No dummy module in every kernel: the Internet's hosts live on its loopback.
    hosts = [*world.SITES.values(), world.AUTH_DNS, world.COLLECTOR, world.DOWN_ADDR]
    for addr in hosts:
        lab.ip(ns, "addr", "add", f"{addr}/32", "dev", "lo")
    lab.resolv_conf(ns, world.AUTH_DNS)
    public_ca = certs.make_ca(world.PUBLIC_CA_CN, "Lab Web PKI")
    ca_file = lab.workdir / "public-ca.pem"
    ca_file.write_bytes(public_ca.cert_pem)
    records = {**world.SITES, world.DOWN_NAME: world.DOWN_ADDR}
    dns.start_unbound(lab, ns, "inet-dns", world.AUTH_DNS,
                      dns.authoritative_conf(world.AUTH_DNS, records))
    _start_sites(lab, ns, public_ca)
    return Internet(ns=ns, public_ca=public_ca, public_ca_file=ca_file)


def _start_sites(lab: Lab, ns: str, ca: certs.CA) -> None:
    names = [*world.SITES, world.DOWN_NAME]
    cert, key = certs.write_pair(lab.workdir, "sites", *certs.issue(ca, names))
    sites: dict[str, dict[str, object]] = {}
    for host, title in world.TITLES.items():
        sites[host] = {"title": title, "text": f"The real {host} front page."}
    for host, target in world.REDIRECTS.items():
        sites[host]["redirect"] = target
        sites[host]["pages"] = {"/signin": [world.SIGNIN_TITLE, "Sign in to continue."]}
    spec = {
        "listen": [[addr, port, port == 443] for addr in world.SITES.values()
                   for port in (80, 443)],
        "cert": str(cert), "key": str(key), "sites": sites,
        "default": {"title": "Unknown site", "status": 404},
    }
    start_websrv(lab, ns, "inet-web", spec)
    lab.wait_listening(ns, "inet-web", world.SITES["www.gov.uk"], 443)


def start_websrv(lab: Lab, ns: str, name: str, spec: Mapping[str, object]) -> None:
    path = lab.workdir / f"{name}.json"
    path.write_text(json.dumps(spec))
    lab.spawn(ns, name, [PYTHON, "-u", str(SERVICES / "websrv.py"), str(path)])


def build_council(lab: Lab, net: Internet, name: str, index: int, *, clients: int = 1,
                  masquerade: bool = True) -> Council:
    """Gateway namespace uplinked to the Internet, LAN with `clients` machines behind it."""
    council = Council(name=name, index=index, gw=lab.ns(f"{name}-gw", forward=True))
    inet_side = f"203.0.113.{4 * index + 1}"
    lab.link(net.ns, f"c{index}", f"{inet_side}/30", council.gw, "wan", f"{council.uplink}/30")
    lab.ip(council.gw, "route", "add", "default", "via", inet_side)
    # The gateway's own lookups (squid, e2guardian) go to the Internet's DNS, never the host's.
    lab.resolv_conf(council.gw, world.AUTH_DNS)
    if masquerade:
        lab.iptables(council.gw, ["-t nat -A POSTROUTING -o wan -j MASQUERADE"])
    lab.ip(council.gw, "link", "add", "lan", "type", "bridge")
    lab.ip(council.gw, "addr", "add", f"{council.gateway}/24", "dev", "lan")
    lab.ip(council.gw, "link", "set", "lan", "up")
    for k in range(clients):
        client = lab.ns(f"{name}-c{k}")
        lab.ip(council.gw, "link", "add", f"p{k}", "type", "veth", "peer", "name", "eth0",
               "netns", client)
        lab.ip(council.gw, "link", "set", f"p{k}", "master", "lan", "up")
        lab.ip(client, "addr", "add", f"{council.client_addr(k)}/24", "dev", "eth0")
        lab.ip(client, "link", "set", "eth0", "up")
        lab.ip(client, "route", "add", "default", "via", council.gateway)
        lab.resolv_conf(client, council.gateway)
        council.clients.append(client)
    return council
