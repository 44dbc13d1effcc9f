"""No loss and no duplicates under concurrent resubmission: threads against one collector (both
databases), and two collector processes side by side on one PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from access_probe.collector.settings import ENV_VAR, Settings
from access_probe.collector.store import repo
from tests.collector.conftest import (
    ORGS,
    Collector,
    auth,
    document,
    make_token,
    migrate_db,
    postgres_database,
    result,
)

THREADS = 8
ROUNDS = 6


def _batches(pool: list[dict[str, Any]], seed: int) -> list[list[dict[str, Any]]]:
    """Overlapping random slices of one pool of results."""
    rng = random.Random(seed)
    return [rng.sample(pool, k=len(pool) // 2) for _ in range(ROUNDS)]


def _check_exact(db_url: str, submitted: set[str], answers: list[dict[str, int]]) -> None:
    """Every distinct id stored and counted once; the answers' accepted add up to that."""
    engine = repo.make_engine(db_url)
    stored, totals = repo.count_results(engine), repo.rollup_totals(engine)
    engine.dispose()
    assert stored == len(submitted)
    assert totals == (len(submitted),) * len(totals)
    assert sum(a["accepted"] for a in answers) == len(submitted)


def test_threads_resubmitting_overlapping_batches(make_collector: Callable[..., Collector]
                                                  ) -> None:
    collector = make_collector(submit_per_minute=10_000, submit_burst=1000)
    pool = [result(random.choice(["accessible", "blocked"])) for _ in range(300)]
    token = collector.token(ORGS[0])
    collector.http.close()

    def worker(seed: int) -> list[dict[str, int]]:
        with httpx.Client(base_url=collector.url, timeout=60) as client:
            return [client.post("/api/v1/submissions", json=document(ORGS[0], batch),
                                headers=auth(token)).json() for batch in _batches(pool, seed)]

    with ThreadPoolExecutor(THREADS) as executor:
        answers = [a for batch in executor.map(worker, range(THREADS)) for a in batch]
    sent = {r["id"] for seed in range(THREADS) for batch in _batches(pool, seed) for r in batch}
    _check_exact(collector.db_url, sent, answers)
    # whatever was not covered by a random slice is still missing, and is accepted now
    with httpx.Client(base_url=collector.url, timeout=60) as client:
        last = client.post("/api/v1/submissions", json=document(ORGS[0], pool),
                           headers=auth(token)).json()
    _check_exact(collector.db_url, {r["id"] for r in pool}, [*answers, last])
    assert last["accepted"] + last["duplicates"] == len(pool)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.contextmanager
def collector_process(settings: Settings) -> Iterator[str]:
    """A separate collector process (uvicorn with the app factory), as deployed."""
    port = _free_port()
    env = {**os.environ, ENV_VAR: settings.to_env()}
    command = [sys.executable, "-m", "uvicorn", "--factory",
               "access_probe.collector.app:create_app_from_env", "--host", "127.0.0.1",
               "--port", str(port), "--no-access-log", "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=Path(__file__).parents[2])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("collector process did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.mark.postgres
def test_two_processes_on_one_postgres_database() -> None:
    with postgres_database() as db_url:
        migrate_db(db_url)
        settings = Settings(db_url=db_url, submit_per_minute=10_000, submit_burst=1000)
        tokens = {org: make_token(db_url, org) for org in ORGS[:3]}
        pool = {org: [result() for _ in range(200)] for org in tokens}
        with collector_process(settings) as one, collector_process(settings) as two:
            def worker(job: tuple[int, str]) -> list[dict[str, int]]:
                seed, org = job
                url = (one, two)[seed % 2]
                with httpx.Client(base_url=url, timeout=60) as client:
                    return [client.post("/api/v1/submissions", json=document(org, batch),
                                        headers=auth(tokens[org])).json()
                            for batch in _batches(pool[org], seed)]

            jobs = [(seed, org) for seed in range(6) for org in tokens]
            with ThreadPoolExecutor(THREADS) as executor:
                answers = [a for batch in executor.map(worker, jobs) for a in batch]
            finals = [httpx.post(f"{(one, two)[i % 2]}/api/v1/submissions",
                                 json=document(org, pool[org]), headers=auth(tokens[org]),
                                 timeout=60).json() for i, org in enumerate(tokens)]
        everything = {r["id"] for results in pool.values() for r in results}
        _check_exact(db_url, everything, [*answers, *finals])
