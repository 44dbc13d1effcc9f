"""Resolvers: unbound as the Internet's authoritative server and as a council's filtering
resolver (local-zone policies, the way an IT team writes them), dnsmasq as a plain
forwarder or with `address=` block lines, BIND 9 with a response-policy zone (RPZ). All run
in the foreground so the lab can stop them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..topology import Lab

_SERVER_HEAD = """server:
  interface: {address}
  port: 53
  access-control: 0.0.0.0/0 allow
  do-daemonize: no
  username: ""
  chroot: ""
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 1
  do-ip6: no
  module-config: "iterator"
  num-threads: 1
  harden-referral-path: no
"""
_NO_CONTROL = "remote-control:\n  control-enable: no\n"


def authoritative_conf(address: str, records: Mapping[str, str]) -> str:
    """Everything not listed is NXDOMAIN: the whole namespace is one static zone."""
    lines = [_SERVER_HEAD.format(address=address),
             '  local-zone: "." static\n']
    lines += [f'  local-data: "{name}. 300 IN A {addr}"\n' for name, addr in records.items()]
    return "".join(lines) + _NO_CONTROL


def filtering_conf(address: str, upstream: str,
                   policies: Sequence[str]) -> str:
    """A council resolver: forwards to the Internet, with its own local-zone/local-data lines."""
    lines = [_SERVER_HEAD.format(address=address)]
    lines += [f"  {line}\n" for line in policies]
    lines.append(f'forward-zone:\n  name: "."\n  forward-addr: {upstream}\n')
    return "".join(lines) + _NO_CONTROL


def start_unbound(lab: Lab, ns: str, name: str, address: str, conf: str) -> None:
    directory = lab.workdir / name
    directory.mkdir(exist_ok=True)
    path = directory / "unbound.conf"
    path.write_text(conf)
    lab.sh(ns, "unbound-checkconf", str(path))
    lab.spawn(ns, name, ["unbound", "-d", "-c", str(path)])
    lab.wait_listening(ns, name, address, 53, udp=True)


def start_dnsmasq(lab: Lab, ns: str, name: str, address: str, upstream: str,
                  policies: Sequence[str] = ()) -> None:
    """A forwarder; `policies` are dnsmasq.conf lines (`address=/facebook.com/`...)."""
    conf = "/dev/null"
    if policies:
        directory = lab.workdir / name
        directory.mkdir(exist_ok=True)
        conf = str(directory / "dnsmasq.conf")
        Path(conf).write_text("".join(f"{line}\n" for line in policies))
        lab.sh(ns, "dnsmasq", "--test", "-C", conf)
    lab.spawn(ns, name, ["dnsmasq", "-k", "-C", conf, "--no-resolv", "--no-hosts",
                         f"--server={upstream}", f"--listen-address={address}",
                         "--bind-interfaces", "--pid-file", "--log-facility=-",
                         "--cache-size=0"])
    lab.wait_listening(ns, name, address, 53, udp=True)


RPZ_ZONE = "rpz.westshire.lab"
_NAMED_CONF = """options {{
  directory "{dir}";
  pid-file none;
  session-keyfile "{dir}/session.key";
  managed-keys-directory "{dir}";
  listen-on port 53 {{ {address}; }};
  listen-on-v6 {{ none; }};
  recursion yes;
  allow-query {{ any; }};
  allow-recursion {{ any; }};
  forwarders {{ {upstream}; }};
  forward only;
  dnssec-validation no;
  response-policy {{ zone "{zone}"; }};
}};
controls {{ }};
zone "{zone}" {{
  type primary;
  file "{dir}/{zone}.db";
  allow-query {{ none; }};
}};
"""
_RPZ_HEAD = """$TTL 300
@ IN SOA localhost. hostmaster.westshire.lab. (1 3600 600 86400 300)
  IN NS localhost.
"""


def start_named(lab: Lab, ns: str, name: str, address: str, upstream: str,
                rpz: Sequence[str]) -> None:
    """BIND 9 as a forwarding resolver with one response-policy zone; `rpz` are its records
    (`facebook.com CNAME .` is NXDOMAIN, `CNAME *.` NODATA, an A record a local answer)."""
    directory = lab.workdir / name
    directory.mkdir(exist_ok=True)
    (directory / f"{RPZ_ZONE}.db").write_text(_RPZ_HEAD + "".join(f"{r}\n" for r in rpz))
    conf = directory / "named.conf"
    conf.write_text(_NAMED_CONF.format(dir=directory, address=address, upstream=upstream,
                                       zone=RPZ_ZONE))
    lab.sh(ns, "named-checkconf", "-z", str(conf))
    lab.spawn(ns, name, ["named", "-g", "-n", "1", "-c", str(conf)])
    lab.wait_listening(ns, name, address, 53, udp=True)
