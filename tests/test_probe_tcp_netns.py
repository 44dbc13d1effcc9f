"""probe.tcp inside a network namespace this test builds: route-level refusals that loopback
cannot produce (unreachable, administratively prohibited, no route). Needs root and `ip`."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Needs root and iproute2; a machine without them fails here (scripts/require-parts says so
# first) rather than skipping: route-level refusals are part of what the engine must classify.

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import sys
from access_probe.engine.probe import tcp
from access_probe.engine.probe.base import ProbeContext
for address in sys.argv[1:]:
    obs, sock = tcp.connect(address, 443, ProbeContext(timeout=0.5))
    print(address, obs.failure)
"""


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"ap-engine-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        for args in (["link", "set", "lo", "up"],
                     ["route", "add", "unreachable", "203.0.113.5/32"],
                     ["route", "add", "prohibit", "203.0.113.6/32"]):
            subprocess.run(["ip", "-n", name, *args], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)


def test_route_refusals_are_named(namespace: str) -> None:
    result = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", PROBE,
         "203.0.113.5", "203.0.113.6", "198.51.100.1"],
        capture_output=True, text=True, timeout=30, cwd=ROOT, check=True)
    seen = dict(line.split() for line in result.stdout.splitlines())
    assert seen == {"203.0.113.5": "host_unreachable", "203.0.113.6": "admin_prohibited",
                    "198.51.100.1": "network_unreachable"}
