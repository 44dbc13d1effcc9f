"""Time to first byte of the dashboard and the council report, as ratios to a trivial endpoint
(`GET /healthz`, one `SELECT 1`) measured in the same run, with the SQL statements each page
issues (counted with the query cache off; the token lookup and the demo-data check are
among them). It runs three passes: with the dashboard's 30-second query cache off (every
request queries the database: a cold page), then warmed as `serve`'s cache warmer leaves it
(one warming round, timed, then the cache otherwise off: the views the warmer knows come from
memory, the rest are cold), then with the 30 s cache on (repeat visitors within 30 s are
served the same counts).

Serves the collector in-process (uvicorn on loopback) over a database that already holds demo
data (`access-probe collector demo-data --db URL ...`), or fills a new SQLite file first:

    .venv/bin/python -m bench.dashboard_pages --db postgresql://postgres@127.0.0.1/NAME [--runs 15]
    .venv/bin/python -m bench.dashboard_pages --councils 40 --days 7      # a fresh SQLite file

Requests go one after another, rotating through the pages so that noise hits all alike; the
figures are medians and 95th percentiles over the runs.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from access_probe.collector import councils, demo, tokens, views
from access_probe.collector.api import warm
from access_probe.collector.app import create_app
from access_probe.collector.settings import Settings
from access_probe.collector.store import migrate, repo
from access_probe.collector.store.records import TokenRecord
from access_probe.schema import utc_now
from tests.collector.conftest import running


def ttfb(host: str, port: int, path: str, headers: dict[str, str]) -> tuple[float, int]:
    conn = http.client.HTTPConnection(host, port, timeout=120)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()  # returns once the status line and headers are in
        first = time.perf_counter() - start
        response.read()
        return first, response.status
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a database holding demo data (default: a new SQLite)")
    parser.add_argument("--councils", type=int, default=40)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db or f"sqlite:///{Path(tmp) / 'demo.sqlite3'}"
        engine = repo.make_engine(db_url)
        if not args.db:
            migrate.upgrade(engine)
            started = time.monotonic()
            counts = demo.load(engine, councils.load(), councils=args.councils, days=args.days)
            print(f"demo data: {counts.accepted} results in {time.monotonic() - started:.0f} s")
        results = repo.count_results(engine)
        with engine.connect() as conn:
            org = conn.execute(sa.text("SELECT org FROM counts_day LIMIT 1")).scalar()
        admin = tokens.new_token()
        repo.insert_token(engine, record=TokenRecord(
            id=admin.id, secret_hash=admin.secret_hash, org=None, admin=True,
            created_at=utc_now(), revoked_at=None))
        engine.dispose()
        bench(db_url, results, str(org), admin.token, args.runs)
        engine = repo.make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM tokens WHERE id = :id"), {"id": admin.id})
        engine.dispose()


def bench(db_url: str, results: int, org: str, token: str, runs: int) -> None:
    app = create_app(Settings(db_url=db_url, db_pool_size=8))
    statements: list[str] = []
    sa.event.listen(app.state.collector.engine, "before_cursor_execute",
                    lambda *a: statements.append(a[2]))
    bearer = {"Authorization": f"Bearer {token}"}
    pages: list[tuple[str, str, dict[str, str]]] = [
        ("GET /healthz (baseline)", "/healthz", {}),
        ("GET / (public, 28 days)", "/", {}),
        ("GET /?network=corporate-lan&by=region", "/?network=corporate-lan&by=region", {}),
        ("GET / (administrator)", "/", bearer),
        ("GET /reports/{org}", f"/reports/{org}", bearer),
    ]
    with running(app) as url:
        host, port = url.removeprefix("http://").split(":")
        queries: dict[str, int] = {}
        for name, path, headers in pages:  # warm up, and count the statements once
            views.CACHE_SECONDS = 0
            statements.clear()
            _first, status = ttfb(host, int(port), path, headers)
            assert status == 200, (path, status)
            queries[name] = len(statements)
        figures = {}
        for label, cache in (("no query cache (cold)", 0.0), ("warmed, cache otherwise off", 0.0),
                             ("30 s query cache", 30.0)):
            views.CACHE_SECONDS = cache
            if label.startswith("warmed"):
                took = warm.warm(app.state.collector.engine, keep=3600)
                print(f"one warming round: {took:.1f} s")
            else:
                views._cache.clear()
            times: dict[str, list[float]] = {name: [] for name, _, _ in pages}
            for i in range(runs):
                for name, path, headers in pages[i % len(pages):] + pages[:i % len(pages)]:
                    times[name].append(ttfb(host, int(port), path, headers)[0])
            figures[label] = times
    print(f"\n{results} results in {db_url.split('://')[0]}; {runs} runs each, "
          "time to first byte; load average %.1f %.1f %.1f" % os.getloadavg())
    for label, times in figures.items():
        base = statistics.median(times[pages[0][0]])
        print(f"\n{label}:")
        print(f"{'page':42} {'median ms':>10} {'p95 ms':>8} {'× baseline':>11} {'SQL':>4}")
        for name, _path, _h in pages:
            values = sorted(times[name])
            median = statistics.median(values)
            p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
            print(f"{name:42} {median * 1000:10.1f} {p95 * 1000:8.1f} {median / base:11.1f} "
                  f"{queries[name]:4}")


if __name__ == "__main__":
    main()
