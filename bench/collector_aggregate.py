"""Collector benchmark: aggregate latency at scale on PostgreSQL, through the HTTP API.

    .venv/bin/python bench/collector_aggregate.py [--results 200000] [--orgs 50] [--days 280]
                                                 [--repeat 20] [--db postgresql://...]

Fills a fresh temporary PostgreSQL database (127.0.0.1:5432, dropped afterwards; or --db to
keep one) with N results in SQL (generate_series straight into the monthly partitions, then
the rollups recounted from the results by `repo.rebuild_rollups`, the same statements as the
migration): `--orgs` councils, each probing 60 services over `--days` days, a council's filter
treating a service the same way all the time, some councils intercepting TLS. Then measures
p50/p95 over `--repeat` runs of each aggregate question the dashboard asks, through the app's
HTTP API (a real uvicorn on loopback, an administrator token so nothing is suppressed), GET /,
and the time to the first byte of `export.csv?raw=1`. The baseline, in the same run, is the
same question as GROUP BY over the raw results table (`source="results"`, run once); the rollup
answer must equal it or the run fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import uvicorn  # noqa: E402

from access_probe.collector import councils, tokens  # noqa: E402
from access_probe.collector.aggregate import parse_query  # noqa: E402
from access_probe.collector.app import create_app  # noqa: E402
from access_probe.collector.settings import Settings  # noqa: E402
from access_probe.collector.store import migrate, partitions, repo  # noqa: E402
from access_probe.collector.store.records import TokenRecord  # noqa: E402
from access_probe.collector.store.tables import results  # noqa: E402

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
SERVICES = 60
PER_HOUR = 30  # results per council per hour (services probed that hour, over its agents)


def queries(end: date) -> list[tuple[str, dict[str, str]]]:
    period = {"since": (end - timedelta(days=27)).isoformat(), "until": end.isoformat()}
    return [
        ("service x status", {"group_by": "service,status"}),
        ("council type x service, filtered", {"group_by": "council_type,service",
                                              "status": "blocked,restricted",
                                              "nation": "England"}),
        ("day x service, 4 weeks", {"group_by": "day,service", **period}),
        ("vendor x category", {"group_by": "vendor,blocking_category"}),
        ("region x method", {"group_by": "region,method"}),
        ("hour x status", {"group_by": "hour,status"}),
        ("hour x service x status, months", {  # the dashboard's hour view: whole months
            "group_by": "hour,service,status",
            "since": (end - timedelta(days=27)).replace(day=1).isoformat()}),
        ("interception x status, 4 weeks", {"group_by": "interception,status", **period}),
    ]


@contextlib.contextmanager
def database(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    import psycopg

    name = f"ap_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill(engine: sa.engine.Engine, n: int, orgs: int, days: int) -> tuple[date, float]:
    """N results ending today, in SQL; returns (last day, seconds)."""
    table = councils.load()
    chosen = sorted((c for c in table.by_code.values() if c.current), key=lambda c: c.code)
    step = max(1, len(chosen) // orgs)
    picked = chosen[::step][:orgs]
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hours = max(1, n // (len(picked) * PER_HOUR))
    hours = min(hours, days * 24)
    start = end - timedelta(hours=hours)
    per_hour = -(-n // (hours * len(picked)))
    months = set()
    day = start.date()
    while day <= end.date():
        months.add(day.replace(day=1))
        day += timedelta(days=1)
    partitions.ensure(engine, months=months)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX IF EXISTS ix_results_measured_at"))
        conn.execute(sa.text("CREATE TEMP TABLE bench_orgs (i int, code text, type text, "
                             "nation text, region text)"))
        conn.execute(sa.text("INSERT INTO bench_orgs VALUES (:i, :code, :type, :nation, "
                             ":region)"),
                     [{"i": i, "code": c.code, "type": c.type, "nation": c.nation,
                       "region": c.region} for i, c in enumerate(picked)])
        # g -> hour h, council o, slot s; the service is s rotated by the hour so every
        # service is probed; status a fixed function of (council, service), 1 in 50 noise.
        conn.execute(sa.text(f"""
            INSERT INTO results (id, org, council_type, nation, region, network, service,
                category, target, url, status, layer, method, vendor, blocking_category,
                interception_issuer, control_status, timings, evidence, agent, measured_at,
                day, hour, submitted_at)
            SELECT md5(g::text)::uuid, o.code, o.type, o.nation, o.region,
                (ARRAY['corporate-lan', 'guest-wifi', 'schools'])[1 + o.i % 3],
                'service-' || x.svc, (ARRAY['social', 'news', 'video', 'games', 'health',
                'gov'])[1 + x.svc % 6], 'service-' || x.svc,
                'https://service-' || x.svc || '.example/', x.status,
                CASE WHEN x.blocked THEN 'http' END,
                CASE WHEN x.blocked THEN (ARRAY['http-blockpage', 'dns-nxdomain',
                     'tcp-reset', 'proxy-denied'])[1 + (o.i + x.svc) % 4] END,
                CASE WHEN x.blocked THEN (ARRAY['squid', 'e2guardian', 'smoothwall',
                     'fortinet', NULL])[1 + o.i % 5] END,
                CASE WHEN x.blocked THEN (ARRAY['Social Networking', 'Games', 'Streaming',
                     NULL])[1 + x.svc % 4] END,
                CASE WHEN o.i % 4 = 0 THEN 'Council Inspection CA' END, 'accessible',
                '{{"total": 75.0}}'::json, NULL, 'access-probe/bench', x.at, x.at::date,
                extract(hour FROM x.at)::int2, x.at
            FROM generate_series(0, {n - 1}) AS g
            JOIN bench_orgs o ON o.i = (g / {per_hour}) % {len(picked)}
            CROSS JOIN LATERAL (SELECT
                timestamptz '{start.isoformat()}' + ((g / ({per_hour} * {len(picked)}))
                    * interval '1 hour') AS at,
                (g % {per_hour} + g / ({per_hour} * {len(picked)})) % {SERVICES} AS svc) AS t
            CROSS JOIN LATERAL (SELECT t.at, t.svc, s.status,
                s.status IN ('blocked', 'restricted') AS blocked
                FROM (SELECT CASE WHEN g % 50 = 7 THEN 'inconclusive' ELSE
                    (ARRAY['accessible', 'accessible', 'accessible', 'accessible',
                           'accessible', 'accessible', 'blocked', 'blocked', 'blocked',
                           'restricted', 'unreachable', 'accessible'])
                    [1 + (o.i * 7 + t.svc * 13) % 12] END AS status) AS s) AS x
        """))
        conn.execute(sa.text("INSERT INTO result_ids (id, day) SELECT id, day FROM results"))
        conn.execute(sa.text("CREATE INDEX ix_results_measured_at ON results "
                             "(measured_at, id)"))
    repo.rebuild_rollups(engine)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        last = conn.execute(sa.select(sa.func.max(results.c.day))).scalar_one()
    return last, time.perf_counter() - t0


@contextlib.contextmanager
def running(url: str) -> Iterator[str]:
    app = create_app(Settings(db_url=url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise SystemExit("the collector did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


def pct(times: list[float], p: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000


def measure(http: httpx.Client, path: str, params: dict[str, str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = http.get(path, params=params)
        response.raise_for_status()
        times.append(time.perf_counter() - t0)
    return times


def first_byte(http: httpx.Client, params: dict[str, str]) -> float:
    t0 = time.perf_counter()
    with http.stream("GET", "/api/v1/export.csv", params=params) as response:
        response.raise_for_status()
        for _chunk in response.iter_bytes():
            break
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> None:
    with database(args.db) as url:
        engine = repo.make_engine(url)
        migrate.upgrade(engine)
        if args.reuse and repo.count_results(engine):
            with engine.connect() as conn:
                end = conn.execute(sa.select(sa.func.max(results.c.day))).scalar_one()
            seconds = 0.0
        else:
            end, seconds = fill(engine, args.results, args.orgs, args.days)
        stored = repo.count_results(engine)
        sizes = {}
        with engine.connect() as conn:
            for table in ("counts_day", "counts_month", "hours_day", "hours_month",
                          "hours_service"):
                sizes[table] = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        print(f"filled {stored:,} results in {seconds:.0f} s; rollup rows: "
              + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))
        print("load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        new = tokens.new_token()
        repo.insert_token(engine, record=TokenRecord(
            id=new.id, secret_hash=new.secret_hash, org=None, admin=True,
            created_at=datetime.now(UTC), revoked_at=None))
        with running(url) as base, httpx.Client(
                base_url=base, timeout=600,
                headers={"Authorization": f"Bearer {new.token}"}) as http:
            print(f"{'query':36} {'p50 ms':>8} {'p95 ms':>8} {'raw ms':>9} {'raw/p50':>8} rows")
            for label, params in queries(end):
                times = measure(http, "/api/v1/aggregate", params, args.repeat)
                query = parse_query(params.items())
                t0 = time.perf_counter()
                raw = repo.aggregate(engine, query=query, source="results")
                raw_s = time.perf_counter() - t0
                fast = repo.aggregate(engine, query=query)
                if fast != raw:
                    raise SystemExit(f"{label}: the rollups and the raw results disagree")
                print(f"{label:36} {pct(times, .5):8.1f} {pct(times, .95):8.1f} "
                      f"{raw_s * 1000:9.1f} {raw_s * 1000 / pct(times, .5):7.1f}x {len(fast)}")
            times = measure(http, "/", {}, args.repeat)
            print(f"{'GET / (dashboard)':36} {pct(times, .5):8.1f} {pct(times, .95):8.1f}")
            ttfb = [first_byte(http, {"raw": "1"}) for _ in range(3)]
            print(f"{'export.csv?raw=1 first byte':36} {pct(ttfb, .5):8.1f} {pct(ttfb, .95):8.1f}")
        print("load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=200_000)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--days", type=int, default=280)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--db", help="an existing, empty PostgreSQL database to fill and keep")
    parser.add_argument("--reuse", action="store_true",
                        help="with --db: measure the results already there, no fill")
    args = parser.parse_args()
    args.results = max(1000, min(args.results, 50_000_000))
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
