"""Shared fixtures. The servers themselves live in tests/servers.py (plain context managers);
these fixtures only give the expensive ones a longer life."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.netguard import guarded
from tests.servers import CertAuthorities


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[None]:
    """Every test: traffic only to loopback and the simulated Internet (tests/netguard.py)."""
    violations: list[str] = []
    with guarded(violations):
        yield
    if violations:
        pytest.fail("test sent traffic outside loopback/lab: " + ", ".join(sorted(set(violations))))


@pytest.fixture(scope="session")
def cas() -> Iterator[CertAuthorities]:
    """The public, inspection and rogue test CAs, with their bundles on disk."""
    with CertAuthorities() as authorities:
        yield authorities
