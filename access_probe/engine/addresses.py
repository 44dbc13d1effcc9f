"""What an IP address means for a measurement: a DNS answer that cannot be the real site
(`is_bogon`), and an address the collector may connect to on someone's behalf
(`is_globally_routable`, the collector's SSRF guard)."""

from __future__ import annotations

import ipaddress

__all__ = ["in_networks", "is_bogon", "is_globally_routable", "parse_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Answers a censoring resolver gives instead of the real address (sinkholes, loopback,
# private ranges): no public site lives there.
_BOGONS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
    )
)


def parse_address(text: str) -> IPAddress | None:
    """The address in `text` (IPv6 zone ids dropped), or None if it is not an address."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def is_bogon(address: str) -> bool:
    """True when a DNS answer of `address` cannot be a public site; False for non-addresses."""
    ip = parse_address(address)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in _BOGONS)


def is_globally_routable(address: str) -> bool:
    """True when `address` is on the public Internet (ipaddress' `is_global`).

    Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) count
    as not global, which is what the collector's guard wants by default; a test lab allows them
    explicitly. IPv4-mapped IPv6 addresses are judged by their IPv4 address.
    """
    ip = parse_address(address)
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def in_networks(address: str, networks: tuple[str, ...]) -> bool:
    """True when `address` lies in one of `networks` (CIDR strings)."""
    ip = parse_address(address)
    if ip is None:
        return False
    for text in networks:
        net = ipaddress.ip_network(text, strict=False)
        if net.version == ip.version and ip in net:
            return True
    return False
