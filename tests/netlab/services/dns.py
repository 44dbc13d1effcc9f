"""Resolvers: unbound as the Internet's authoritative server and as a council's filtering
resolver (local-zone policies, the way an IT team writes them), dnsmasq as a plain
forwarder. All run in the foreground so the lab can stop them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def start_dnsmasq(lab: Lab, ns: str, name: str, address: str, upstream: str) -> None:
    lab.spawn(ns, name, ["dnsmasq", "-k", "-C", "/dev/null", "--no-resolv", "--no-hosts",
                         f"--server={upstream}", f"--listen-address={address}",
                         "--bind-interfaces", "--pid-file", "--log-facility=-",
                         "--cache-size=0"])
    lab.wait_listening(ns, name, address, 53, udp=True)
