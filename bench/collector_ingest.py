"""Collector benchmark: ingest throughput, and aggregate latency from the rollup table against
the baseline of GROUP BY over the raw results table, in the same run, printed as ratios.

    .venv/bin/python bench/collector_ingest.py [--results 100000] [--backend sqlite|postgres|both]
                                              [--max-seconds 300]

Bounded: at most --results results, and ingest stops early when --max-seconds has passed.
PostgreSQL runs in a fresh temporary database on 127.0.0.1:5432, dropped afterwards.
Both sources must give the same answers; the run fails otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from access_probe.collector import councils  # noqa: E402
from access_probe.collector.aggregate import AggregateQuery  # noqa: E402
from access_probe.collector.store import migrate, repo  # noqa: E402
from access_probe.collector.store.records import StoredResult  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BATCH = 2000
QUERIES = (("service", "status"), ("region", "status"), ("vendor",), ("day", "hour"),
           ("council_type", "nation", "method"), ("hour", "status"), ())
ORGS, AGENTS = 60, 3
SERVICES = [f"service-{i}" for i in range(20)]
STATUSES = ["accessible"] * 6 + ["blocked"] * 3 + ["restricted", "unreachable", "inconclusive"]
VENDORS = ["squid", "e2guardian", "smoothwall", "fortinet", None]


def synthetic(n: int, seed: int = 1) -> Iterator[StoredResult]:
    """What agents send: every agent of every organisation probes every service once an hour,
    and a council's filter treats a service the same way all day."""
    rng = random.Random(seed)
    table = councils.load()
    orgs = sorted({c.code for c in table.by_code.values() if c.current})[:ORGS]
    policy = {(org, service): rng.choice(STATUSES) for org in orgs for service in SERVICES}
    vendor = {org: rng.choice(VENDORS) for org in orgs}
    network = {org: rng.choice(["corporate-lan", "guest-wifi", "schools"]) for org in orgs}
    start, now = datetime(2026, 11, 1, tzinfo=UTC), datetime.now(UTC)
    made = 0
    for cycle in itertools.count():
        measured = start + timedelta(hours=cycle)
        for org, _agent, service in itertools.product(orgs, range(AGENTS), SERVICES):
            if made == n:
                return
            made += 1
            council = table.lookup(org)
            assert council is not None
            status = policy[org, service]
            blocked = status in ("blocked", "restricted")
            yield StoredResult(
                id=uuid.UUID(int=rng.getrandbits(128), version=4), org=org,
                council_type=council.type, nation=council.nation, region=council.region,
                network=network[org], service=service, category="social", target=service,
                url="https://x.test/", status=status, layer="http" if blocked else None,
                method="http-blockpage" if blocked else None,
                vendor=vendor[org] if blocked else None, blocking_category=None,
                interception_issuer=None, control_status="accessible", timings={"total": 50.0},
                evidence=None, agent="bench", measured_at=measured, day=measured.date(),
                hour=measured.hour, submitted_at=now)


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    import psycopg

    name = f"ap_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed_median(fn: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(backend: str, n: int, max_seconds: float) -> None:
    with database(backend) as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine)
        rows = list(synthetic(n))
        t0 = time.perf_counter()
        stored = 0
        for i in range(0, len(rows), BATCH):
            stored += repo.ingest(engine, batch=rows[i:i + BATCH]).accepted
            if time.perf_counter() - t0 > max_seconds:
                break
        ingest_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = repo.ingest(engine, batch=rows[:BATCH])
        dup_s = time.perf_counter() - t0
        assert again.accepted == 0
        print(f"{backend}: ingested {stored} results in {ingest_s:.1f} s "
              f"({stored / ingest_s:,.0f} results/s, batches of {BATCH}); "
              f"a resubmitted batch of {BATCH}: {dup_s * 1000:.0f} ms")
        for keys in QUERIES:
            query = AggregateQuery(group_by=keys)
            fast = repo.aggregate(engine, query=query)
            slow = repo.aggregate(engine, query=query, source="results")
            if sorted(fast, key=repr) != sorted(slow, key=repr):
                raise SystemExit(f"rollup and raw results disagree for {keys}")
            rollup = timed_median(lambda q=query: repo.aggregate(engine, query=q))
            raw = timed_median(lambda q=query: repo.aggregate(engine, query=q, source="results"))
            print(f"  group_by={','.join(keys) or '(total)':28} rollup {rollup * 1000:7.1f} ms"
                  f"  raw {raw * 1000:7.1f} ms  raw/rollup {raw / rollup:5.1f}x"
                  f"  ({len(fast)} rows)")
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args()
    n = max(1, min(args.results, 1_000_000))
    for backend in (("sqlite", "postgres") if args.backend == "both" else (args.backend,)):
        run(backend, n, args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
