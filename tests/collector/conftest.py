"""Collector fixtures: a fresh database per test module on SQLite and on the real PostgreSQL
server (127.0.0.1:5432, which must be running: the tests fail, never skip, without it), and a
real uvicorn server on loopback per test, with the tables emptied first."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from access_probe.collector import tokens
from access_probe.collector.app import create_app
from access_probe.collector.settings import Settings
from access_probe.collector.store import migrate, repo
from access_probe.collector.store.records import TokenRecord
from access_probe.collector.store.tables import metadata, postgres_metadata
from access_probe.schema import utc_now

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
ORGS = ("E07000223", "E09000033", "S12000033", "W06000015", "N09000003")  # Adur, Westminster,
# Aberdeen City, Cardiff, Belfast


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database with a random name, dropped afterwards."""
    import psycopg

    name = f"ap_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL must run on 127.0.0.1:5432 for these tests: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{PG_SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('collector') / 'collector.sqlite3'}"
        migrate_db(url)
        yield url
        return
    with postgres_database() as url:
        migrate_db(url)
        yield url


def migrate_db(url: str) -> None:
    engine = repo.make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def wipe(url: str) -> None:
    engine = repo.make_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":  # counts_day's triggers fill them; no delete one
            for table in postgres_metadata.sorted_tables:
                conn.execute(table.delete())
    engine.dispose()


@contextlib.contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn on an ephemeral loopback port; its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="test-collector", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the collector did not start")
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Collector:
    """A running collector and helpers to talk to it."""

    def __init__(self, url: str, db_url: str, client: httpx.Client) -> None:
        self.url = url
        self.db_url = db_url
        self.http = client

    def token(self, org: str | None = ORGS[0], *, admin: bool = False) -> str:
        return make_token(self.db_url, org, admin=admin)

    def submit(self, token: str, doc: object) -> httpx.Response:
        return self.http.post("/api/v1/submissions", json=doc, headers=auth(token))

    def aggregate(self, token: str, **params: str) -> httpx.Response:
        return self.http.get("/api/v1/aggregate", params=params, headers=auth(token))


def make_token(db_url: str, org: str | None, *, admin: bool = False) -> str:
    new = tokens.new_token()
    engine = repo.make_engine(db_url)
    repo.insert_token(engine, record=TokenRecord(
        id=new.id, secret_hash=new.secret_hash, org=None if admin else org, admin=admin,
        created_at=utc_now(), revoked_at=None))
    engine.dispose()
    return new.token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def make_collector(db_url: str) -> Iterator[Callable[..., Collector]]:
    """Start collectors on the module's database (emptied first) with settings overrides."""
    wipe(db_url)
    with contextlib.ExitStack() as stack:
        def make(**overrides: Any) -> Collector:
            netenv = overrides.pop("netenv", None)
            settings = replace(Settings(db_url=db_url), **overrides)
            url = stack.enter_context(running(create_app(settings, netenv=netenv)))
            client = stack.enter_context(httpx.Client(base_url=url, timeout=30))
            return Collector(url, db_url, client)

        yield make


@pytest.fixture
def collector(make_collector: Callable[..., Collector]) -> Collector:
    return make_collector()


def result(status: str = "accessible", *, service: str = "facebook", **fields: Any
           ) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": str(uuid.uuid4()), "target": service, "url": f"https://www.{service}.com/",
        "service": service, "category": "social", "status": status, "blocking": None,
        "interception": None, "timings_ms": {"dns": 3.1, "total": 75.0},
        "control": {"status": "accessible"},
    }
    if status in ("blocked", "restricted"):
        doc["blocking"] = {"layer": "http", "method": "http-blockpage", "vendor": "squid",
                           "category": "Social Networking"}
    doc.update(fields)
    return doc


def document(org: str | None, results: list[dict[str, Any]], *,
             network: str | None = "corporate-lan") -> dict[str, Any]:
    finished = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    return {
        "schema": "access-probe/check/1",
        "started_at": (finished - timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "finished_at": finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "context": {"org": org, "network": network, "asn": None},
        "results": results,
    }
