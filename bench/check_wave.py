"""A whole catalogue costs about one step timeout, never the sum of its timeouts.

Measures `check._measure_all` (the pool and deadline behind `access-probe check`) over N
endpoints that all stall (a full accept queue: SYNs dropped) against the same over a single
one, in the same run, on loopback. Prints the ratio; ~1 means endpoints run in one wave,
N would mean they were probed one after another.

    .venv/bin/python -m bench.check_wave [N]
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

from access_probe.config import Config, ProbeConfig
from access_probe.engine.check import Target, _measure_all
from access_probe.engine.measure import Limits
from tests.servers import Answer, BlackholeServer, DNSServer, lab_env

STEP = 0.5


def timed(count: int, port: int, dns_server: DNSServer) -> float:
    config = replace(Config(), probe=ProbeConfig(timeout_seconds=STEP, concurrency=64))
    targets = [Target(id=f"t{i}", url=f"http://site{i}.test:{port}/", service=None,
                      category=None, known=True) for i in range(count)]
    start = time.monotonic()
    _measure_all(targets, config=config, env=lab_env(dns_server),
                 limits=Limits(timeout=STEP, max_addresses=1), progress=None)
    return time.monotonic() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    zone = {f"site{i}.test": Answer.a("127.0.0.1") for i in range(count)}
    with DNSServer(zone) as dns_server, BlackholeServer(max_fill=count + 8) as hole:
        one = timed(1, hole.port, dns_server)
        many = timed(count, hole.port, dns_server)
    print(f"step timeout {STEP:.1f} s; 1 stalled endpoint {one:.2f} s; "
          f"{count} stalled endpoints {many:.2f} s")
    print(f"ratio {count}/1: {many / one:.2f} (sequential would be {count})")


if __name__ == "__main__":
    main()
