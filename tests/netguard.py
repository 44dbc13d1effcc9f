"""Keep the test suite's own traffic on loopback and the simulated Internet.

The project's network rule: tests talk only to loopback or to namespaces they build (whose
simulated Internet uses the documentation ranges). This guard wraps the socket calls that
start traffic in the pytest process (connect, sendto, getaddrinfo of a name) and refuses any
other destination, recording it so the test that tried fails loudly instead of reaching out.
Processes the tests start (the CLI, lab daemons) are outside its reach; they are pointed at
lab resolvers and loopback catalogues by their tests.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

ALLOWED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "::1/128", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))
# Names that never leave the machine or only exist in a test's own DNS server.
ALLOWED_SUFFIXES = (".test", ".invalid", ".example", ".localhost", ".lab")
ALLOWED_NAMES = {"localhost", "ip6-localhost"}


def allowed_address(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in ALLOWED_NETWORKS)


def allowed_name(host: str) -> bool:
    name = host.lower().rstrip(".")
    return name in ALLOWED_NAMES or name.endswith(ALLOWED_SUFFIXES) or allowed_address(name)


@contextmanager
def guarded(violations: list[str]) -> Iterator[None]:
    """While active, refuse (and record) traffic to anywhere but the allowed places."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def check(sock: socket.socket, address: Any, what: str) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets (PostgreSQL's, X11's) stay on the machine
        host = str(address[0])
        if not allowed_address(host):
            violations.append(f"{what} {host}")
            raise ConnectionRefusedError(f"test network guard: {what} to {host} refused")

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address, "connect")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address, "connect")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        check(self, args[-1], "sendto")
        return real_sendto(self, data, *args)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not allowed_name(host.decode() if isinstance(host, bytes)
                                                 else str(host)):
            violations.append(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: {host} refused")
        return real_getaddrinfo(host, *args, **kwargs)

    patches: list[tuple[Any, str, Callable[..., Any]]] = [
        (socket.socket, "connect", connect), (socket.socket, "connect_ex", connect_ex),
        (socket.socket, "sendto", sendto), (socket, "getaddrinfo", getaddrinfo)]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
