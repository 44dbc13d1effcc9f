"""probe.dns against a real nameserver on loopback: answers and refusals kept as data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from access_probe.engine.addresses import is_bogon, is_globally_routable
from access_probe.engine.probe import dns
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import DNSObservation, Engine, Failure
from tests.servers import NO_REPLY, NXDOMAIN, REFUSED, SERVFAIL, Answer, DNSServer

ZONE = {
    "site.test": Answer.a("198.51.100.7", "2001:db8::7"),
    "gone.test": NXDOMAIN,
    "refused.test": REFUSED,
    "broken.test": SERVFAIL,
    "sinkhole.test": Answer.sinkhole(),
    "silent.test": NO_REPLY,
    "alias.test": Answer(cname="cdn.example.test", addresses=("203.0.113.9",)),
    "big.test": Answer(addresses=("203.0.113.10",), truncate=True),
    "empty.test": Answer(),
    "lab.test": Answer.a("127.0.0.1"),
}


@pytest.fixture(scope="module")
def nameserver() -> Iterator[DNSServer]:
    with DNSServer(ZONE) as server:
        yield server


def _query(server: DNSServer, name: str, timeout: float = 1.0,
           lab: tuple[str, ...] = ()) -> DNSObservation:
    ctx = ProbeContext(timeout=timeout, lab_networks=lab)
    return dns.query_udp(name, server.address, ctx, port=server.port)


@pytest.mark.parametrize(("name", "failure", "rcode"), [
    ("gone.test", Failure.DNS_NXDOMAIN, "NXDOMAIN"),
    ("refused.test", Failure.DNS_REFUSED, "REFUSED"),
    ("broken.test", Failure.DNS_SERVFAIL, "SERVFAIL"),
    ("sinkhole.test", Failure.DNS_BOGON, "NOERROR"),
    ("empty.test", Failure.DNS_NO_ANSWER, "NOERROR"),
])
def test_rcodes_and_tampering_are_data(nameserver: DNSServer, name: str, failure: Failure,
                                       rcode: str) -> None:
    obs = _query(nameserver, name)
    assert (obs.failure, obs.rcode, obs.engine) == (failure, rcode, Engine.UDP)
    assert obs.resolver == nameserver.address and obs.hostname == name
    assert 0 <= obs.t0 <= obs.t


def test_a_and_aaaa_answers(nameserver: DNSServer) -> None:
    obs = _query(nameserver, "site.test")
    assert obs.failure is None
    assert obs.addresses == ("198.51.100.7", "2001:db8::7")


def test_cname_recorded(nameserver: DNSServer) -> None:
    obs = _query(nameserver, "alias.test")
    assert obs.cnames == ("cdn.example.test",)
    assert obs.addresses == ("203.0.113.9",)


def test_truncated_answer_retried_over_tcp(nameserver: DNSServer) -> None:
    obs = _query(nameserver, "big.test")
    assert obs.addresses == ("203.0.113.10",)
    assert ("big.test", "A", "tcp") in nameserver.queries


def test_no_reply_is_a_dns_timeout_within_bound(nameserver: DNSServer) -> None:
    obs = _query(nameserver, "silent.test", timeout=0.3)
    assert obs.failure is Failure.DNS_TIMEOUT
    assert obs.t - obs.t0 < 1.5


def test_lab_networks_are_not_bogons(nameserver: DNSServer) -> None:
    assert _query(nameserver, "lab.test").failure is Failure.DNS_BOGON
    assert _query(nameserver, "lab.test", lab=("127.0.0.0/8",)).failure is None


def test_nothing_listening_is_a_failure_not_an_exception() -> None:
    ctx = ProbeContext(timeout=0.3)
    obs = dns.query_udp("site.test", "127.0.0.1", ctx, port=9)  # discard port: no DNS there
    assert obs.failure in (Failure.DNS_TIMEOUT, Failure.CONNECTION_REFUSED)


def test_system_resolver_reads_hosts_file() -> None:
    obs = dns.resolve_system("localhost", ProbeContext(timeout=2.0, lab_networks=("127.0.0.0/8",
                                                                                 "::1/128")))
    assert obs.engine is Engine.SYSTEM and obs.failure is None
    assert "127.0.0.1" in obs.addresses or "::1" in obs.addresses


def test_system_resolver_without_lab_sees_loopback_as_bogon() -> None:
    obs = dns.resolve_system("localhost", ProbeContext(timeout=2.0))
    assert obs.failure is Failure.DNS_BOGON


@pytest.mark.parametrize(("address", "bogon", "routable"), [
    ("0.0.0.0", True, False),
    ("127.0.0.1", True, False),
    ("10.1.2.3", True, False),
    ("172.16.0.1", True, False),
    ("192.168.1.1", True, False),
    ("100.64.0.1", True, False),
    ("169.254.1.1", True, False),
    ("::", True, False),
    ("::1", True, False),
    ("fd00::1", True, False),
    ("fe80::1%eth0", True, False),
    ("::ffff:10.0.0.1", True, False),
    ("198.51.100.7", False, False),  # documentation: not a bogon answer, but not global
    ("203.0.113.1", False, False),
    ("224.0.0.1", True, False),
    ("8.8.8.8", False, True),
    ("2606:4700::1", False, True),
    ("::ffff:8.8.8.8", False, True),
    ("not-an-ip", False, False),
])
def test_address_classes(address: str, bogon: bool, routable: bool) -> None:
    assert is_bogon(address) is bogon
    assert is_globally_routable(address) is routable
