"""Collector benchmark: ingest throughput through the real HTTP API, against the baseline of a
raw bulk load of the same rows into the same table measured in the same run, printed as a ratio.

    .venv/bin/python bench/collector_ingest.py [--results 200000] [--backend sqlite|postgres|both]
                                              [--workers 2] [--clients 4] [--max-seconds 120]

The collector runs as a real `access-probe collector serve --workers N` process; C keep-alive
clients (threads, plain http.client) POST check documents of 100 results each, built before the
clock starts. A result counts once its 200 answer arrived, which the collector sends only after
the commit. Afterwards the run checks that the database holds exactly the results sent, each
counted once in every rollup, and that resending a batch accepts nothing.

The baseline empties the tables and loads the same rows again without the API: PostgreSQL
`COPY results FROM STDIN` (the rows only: no id check, no rollups), SQLite one executemany per
100 rows (one transaction each, as the API commits each batch). Both run in this process.
PostgreSQL runs in a fresh temporary database on 127.0.0.1:5432, dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from access_probe.collector import councils, tokens  # noqa: E402
from access_probe.collector.store import migrate, repo  # noqa: E402
from access_probe.collector.store.records import TokenRecord  # noqa: E402
from access_probe.collector.store.tables import (  # noqa: E402
    ANY_STATUS,
    RESULT_COLUMNS,
    ROLLUPS,
    day_service,
    postgres_metadata,
    result_ids,
    results,
)

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
BATCH = 100
ORGS = 60
SERVICES = [f"service-{i}" for i in range(100)]
STATUSES = ["accessible"] * 6 + ["blocked"] * 3 + ["restricted", "unreachable", "inconclusive"]
VENDORS = ["squid", "e2guardian", "smoothwall", "fortinet", None]
ROOT = Path(__file__).resolve().parents[1]


def documents(n: int, seed: int = 1) -> list[tuple[str, bytes]]:
    """(org, body) check documents of BATCH results each, as agents send them: every agent
    probes every service once an hour, a council's filter treats a service the same way."""
    rng = random.Random(seed)
    table = councils.load()
    orgs = sorted({c.code for c in table.by_code.values() if c.current})[:ORGS]
    policy = {(o, s): rng.choice(STATUSES) for o in orgs for s in SERVICES}
    vendor = {o: rng.choice(VENDORS) for o in orgs}
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=20)
    out: list[tuple[str, bytes]] = []
    made = 0
    for cycle in itertools.count():
        for org in orgs:
            measured = start + timedelta(hours=cycle % 480, minutes=orgs.index(org) % 60)
            chunk = []
            for service in SERVICES[:BATCH] if BATCH <= len(SERVICES) else SERVICES:
                status = policy[org, service]
                blocked = status in ("blocked", "restricted")
                chunk.append({
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "target": service, "url": f"https://{service}.example/", "service": service,
                    "category": "social", "status": status,
                    "blocking": {"layer": "http", "method": "http-blockpage",
                                 "vendor": vendor[org], "category": "Social Networking"}
                    if blocked else None,
                    "interception": {"issuer": "Council Inspection CA"} if org[-1] in "02"
                    else None,
                    "timings_ms": {"dns": 3.1, "tcp": 10.2, "tls": 21.0, "http": 40.5,
                                   "total": 75.0},
                    "control": {"status": "accessible"},
                    "evidence": {"route": "proxy", "http": "squid-deny", "http_status": 403}
                    if blocked else None,
                    "measured_at": measured.strftime("%Y-%m-%dT%H:%M:%SZ"),
                })
            while len(chunk) < BATCH:  # BATCH above the services: more agents, same hour
                chunk.append({**rng.choice(chunk), "id": str(uuid.uuid4())})
            stamp = measured.strftime("%Y-%m-%dT%H:%M:%SZ")
            doc = {"schema": "access-probe/check/1", "started_at": stamp, "finished_at": stamp,
                   "context": {"org": org, "network": "corporate-lan", "asn": None},
                   "results": chunk, "agent": "access-probe/bench"}
            out.append((org, json.dumps(doc).encode()))
            made += BATCH
            if made >= n:
                return out
    raise AssertionError("unreachable")


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(url: str, workers: int) -> Iterator[tuple[int, int]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "access_probe", "collector", "serve", "--db", url, "--port",
         str(port), "--workers", str(workers), "--submit-per-minute", "1e9"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"collector did not start: {proc.stderr.read().decode()[-2000:]}"
                                 if proc.stderr else "collector did not start")
            time.sleep(0.2)
        time.sleep(0.5 * workers)  # every worker up, not only the first
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return kids


def cpu_now(server_pid: int, engine: sa.engine.Engine) -> tuple[float, float]:
    """(collector processes' CPU seconds, this database's PostgreSQL backends' CPU seconds);
    Linux /proc only (0 elsewhere). Backends of pooled connections live on between runs."""
    server = sum(_cpu_seconds(p) for p in (server_pid, *_children(server_pid)))
    database = 0.0
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = "
                                        "current_database() AND pid <> pg_backend_pid()"))
            database = sum(_cpu_seconds(p) for (p,) in pids)
    return server, database


def post_all(port: int, bodies: list[bytes], token: list[str], clients: int,
             max_seconds: float) -> tuple[int, float]:
    """(results acknowledged, seconds). Client c sends with token[c % len(token)]."""
    at = itertools.count()
    acked = [0] * clients
    errors: list[str] = []
    t0 = time.perf_counter()

    def client(me: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token[me % len(token)]}",
                   "Content-Type": "application/json"}
        while time.perf_counter() - t0 < max_seconds:
            i = next(at)
            if i >= len(bodies):
                break
            conn.request("POST", "/api/v1/submissions", body=bodies[i], headers=headers)
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200:
                errors.append(f"{response.status} {answer[:200]!r}")
                return
            acked[me] += json.loads(answer)["accepted"]
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"submission failed: {errors[0]}")
    return sum(acked), time.perf_counter() - t0


def stored_rows(engine: sa.engine.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(*(results.c[c]
                                                              for c in RESULT_COLUMNS)))]


def empty(engine: sa.engine.Engine) -> None:
    with engine.begin() as conn:
        for table in (results, result_ids, *(t for t, _ in ROLLUPS)):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":  # kept by counts_day's triggers, which
            for table in postgres_metadata.sorted_tables:  # have no DELETE one
                conn.execute(table.delete())


def baseline(engine: sa.engine.Engine, rows: list[tuple[Any, ...]]) -> float:
    """Seconds to load these rows without the API (see the module doc)."""
    if engine.dialect.name == "postgresql":
        import psycopg

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        json_at = {RESULT_COLUMNS.index("timings"), RESULT_COLUMNS.index("evidence")}
        prepared = [tuple(json.dumps(v) if i in json_at and v is not None else v
                          for i, v in enumerate(r)) for r in rows]
        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(
                    f"COPY results ({', '.join(RESULT_COLUMNS)}) FROM STDIN") as copy:
                for r in prepared:
                    copy.write_row(r)
            conn.commit()
            return time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        with engine.begin() as conn:
            conn.execute(results.insert(), [dict(zip(RESULT_COLUMNS, r, strict=True))
                                            for r in rows[i:i + BATCH]])
    return time.perf_counter() - t0


def run(backend: str, n: int, workers: int, clients: int, max_seconds: float,
        one_token: bool = False) -> float:
    bodies = [body for _org, body in documents(n)]
    with database(backend) as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine)
        # as agents send: each client its own token (administrator tokens, as the documents
        # name many organisations), unless --one-token
        made = [tokens.new_token() for _ in range(1 if one_token else clients)]
        for new in made:
            repo.insert_token(engine, record=TokenRecord(
                id=new.id, secret_hash=new.secret_hash, org=None, admin=True,
                created_at=datetime.now(UTC), revoked_at=None))
        keys = [new.token for new in made]
        with serving(url, workers) as (port, pid):
            post_all(port, bodies[:2 * clients], keys, clients, max_seconds)  # warm up
            empty(engine)
            before, client0 = cpu_now(pid, engine), time.process_time()
            acked, seconds = post_all(port, bodies, keys, clients, max_seconds)
            after, client = cpu_now(pid, engine), time.process_time() - client0
            again, _ = post_all(port, bodies[:clients], keys, clients, max_seconds)
        stored = repo.count_results(engine)
        totals = repo.rollup_totals(engine)
        if engine.dialect.name == "postgresql":  # the day x service rollup, any status
            with engine.connect() as conn:
                totals += (int(conn.execute(sa.select(sa.func.sum(day_service.c.count)).where(
                    day_service.c.status == ANY_STATUS)).scalar_one() or 0),)
        if again or stored != acked or set(totals) != {acked}:
            raise SystemExit(f"{backend}: acknowledged {acked}, stored {stored}, rollups "
                             f"{totals}, resent batches accepted {again}")
        api = acked / seconds
        rows = stored_rows(engine)
        empty(engine)
        raw = len(rows) / baseline(engine, rows)
        engine.dispose()
    what = "COPY" if backend == "postgres" else "executemany per 100 rows"
    batches = acked / BATCH
    server_ms = (after[0] - before[0]) / batches * 1000
    db_ms = (after[1] - before[1]) / batches * 1000
    print(f"{backend}: API {api:,.0f} results/s ({acked} results, {seconds:.1f} s, batches of "
          f"{BATCH}, {clients} clients, {workers} workers); raw {what} {raw:,.0f} results/s; "
          f"API/raw {api / raw:.2f}")
    # CPU per batch does not depend on what else the machine runs; wall-clock rates do
    print(f"  CPU per batch of {BATCH}: collector {server_ms:.1f} ms, PostgreSQL backends "
          f"{db_ms:.1f} ms, load clients {client / batches * 1000:.1f} ms; the collector and "
          f"database alone on {os.cpu_count()} cores would take "
          f"{os.cpu_count() * 1000 / max(server_ms + db_ms, 0.01) * BATCH:,.0f} results/s")
    return api


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--one-token", action="store_true",
                        help="every client sends with the same token (one shared bucket row)")
    args = parser.parse_args()
    n = max(BATCH, min(args.results, 5_000_000))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    for backend in (("sqlite", "postgres") if args.backend == "both" else (args.backend,)):
        run(backend, n, args.workers, args.clients, args.max_seconds, args.one_token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
