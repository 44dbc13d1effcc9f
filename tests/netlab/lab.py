"""The whole lab in one call: the Internet, every council network, and (separately, since
it is the product's own server) the collector that takes control measurements."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import certs, councils, world
from .build import ACCESS_PROBE, Council, Internet, build_internet
from .topology import Lab, LabError

# name -> (index: the council's 10.<index>.0.0/24 LAN and uplink /30, builder)
COUNCILS: dict[str, int] = {
    "open": 1, "dnsf": 2, "fw": 3, "squid": 4, "e2g": 5, "tlsi": 6, "slow": 7, "bump": 8,
    "sg": 9, "dnsm": 10, "rpz": 11,
}


@dataclass
class World:
    lab: Lab
    net: Internet
    council_ca: certs.CA
    councils: dict[str, Council] = field(default_factory=dict)
    stores: dict[str, Path] = field(default_factory=dict)  # "public", "council": CA bundles


def new_lab() -> Lab:
    workdir = Path(tempfile.mkdtemp(prefix="netlab-"))
    workdir.chmod(0o755)  # squid and e2guardian run as their own users and read from here
    return Lab(prefix=f"nl{os.getpid()}", workdir=workdir)


def build_world(lab: Lab, only: Iterable[str] | None = None) -> World:
    net = build_internet(lab)
    council_ca = certs.make_ca(world.COUNCIL_CA_CN, "Westshire Council")
    w = World(lab=lab, net=net, council_ca=council_ca)
    w.stores["public"] = net.public_ca_file
    w.stores["council"] = lab.workdir / "machine-store-council.pem"
    w.stores["council"].write_bytes(net.public_ca.cert_pem + council_ca.cert_pem)
    wanted = set(only) if only is not None else set(COUNCILS)
    builders = {
        "open": councils.open_network, "dnsf": councils.dns_filter,
        "fw": councils.firewall, "squid": councils.squid_proxy,
        "e2g": councils.content_filter, "slow": councils.slow_path,
        "sg": councils.squidguard_proxy, "dnsm": councils.dnsmasq_filter,
        "rpz": councils.bind_rpz,
    }
    for name, index in COUNCILS.items():
        if name not in wanted:
            continue
        if name == "tlsi":
            w.councils[name] = councils.tls_inspection(lab, net, index, council_ca)
        elif name == "bump":
            w.councils[name] = councils.squid_bump(lab, net, index, council_ca)
        else:
            w.councils[name] = builders[name](lab, net, index)
    return w


def start_collector(w: World) -> str:
    """Start `access-probe collector serve` in the Internet namespace; return an org token."""
    lab, ns = w.lab, w.net.ns
    db = f"sqlite:///{lab.workdir / 'collector.db'}"
    conf = lab.workdir / "collector.yaml"
    conf.write_text(f"tls:\n  public_roots: {w.net.public_ca_file}\n"
                    "probe:\n  timeout_seconds: 3\n")
    lab.sh(ns, ACCESS_PROBE, "collector", "migrate", "--db", db, timeout=60)
    token = lab.sh(ns, ACCESS_PROBE, "collector", "token", "create", "--org", world.ORG,
                   "--db", db, timeout=60).stdout.strip().splitlines()
    if not token:
        raise LabError("collector token create printed nothing")
    lab.spawn(ns, "collector", [ACCESS_PROBE, "collector", "serve", "--host", world.COLLECTOR,
                                "--port", str(world.COLLECTOR_PORT), "--db", db,
                                "--config", str(conf), "--control-allow", "198.51.100.0/24",
                                "--control-allow", "203.0.113.0/24"])
    lab.wait_listening(ns, "collector", world.COLLECTOR, world.COLLECTOR_PORT, timeout=30)
    w.net.collector_token = token[-1]
    return token[-1]
