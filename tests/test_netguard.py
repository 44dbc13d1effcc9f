"""The test network guard refuses traffic beyond loopback and the lab, and lets those through."""

from __future__ import annotations

import socket

import pytest

from tests.netguard import allowed_name, guarded


def test_refuses_and_records_outside_addresses() -> None:
    violations: list[str] = []
    with guarded(violations), socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("192.0.2.1", 443))  # refused before any packet leaves
    assert violations == ["connect 192.0.2.1"]


def test_refuses_resolving_real_names() -> None:
    violations: list[str] = []
    with guarded(violations), pytest.raises(socket.gaierror):
        socket.getaddrinfo("www.gov.uk", 443)
    assert violations == ["resolve www.gov.uk"]


def test_lets_loopback_through() -> None:
    violations: list[str] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with guarded(violations), socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert violations == []


@pytest.mark.parametrize(("name", "allowed"), [
    ("site.test", True), ("localhost", True), ("198.51.100.7", True), ("::1", True),
    ("www.facebook.com", False), ("10.0.0.1", False), ("8.8.8.8", False)])
def test_allowed_names(name: str, allowed: bool) -> None:
    assert allowed_name(name) is allowed
