"""The collector's web application, built by `create_app(settings)`.

Nothing is made at import time: each app gets its own engine, limits, metrics registry and
thread pool, so tests (and several apps in one process) never share state. The schema must be
current before the app serves: `collector migrate` (the `serve` command migrates SQLite itself).

Privacy: `serve` turns uvicorn's access log off, and the caller's address is read in one place
only: a request whose token fails authentication charges the throttle bucket of a keyed hash of
the address (`api/deps.py`, `shared.AddressHasher`). The address itself is never stored or
logged, the hash never with results, and its bucket row is deleted once it refills.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import jinja2
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from access_probe import __version__
from access_probe.catalogue import load_catalogue
from access_probe.collector import councils
from access_probe.collector.api import aggregate, control, dashboard, pages, submissions
from access_probe.collector.api.deps import InvalidInput, error_summary
from access_probe.collector.control import ControlService
from access_probe.collector.metrics import Metrics
from access_probe.collector.models_in import CheckIn, ControlRequest
from access_probe.collector.settings import ENV_VAR, Settings
from access_probe.collector.shared import AddressHasher, SharedCache, SharedRateLimiter
from access_probe.collector.state import Collector
from access_probe.collector.store import migrate, partitions, repo
from access_probe.collector.tokens import TokenCache
from access_probe.config import load_config
from access_probe.engine.measure import Limits
from access_probe.engine.netenv import NetEnv
from access_probe.schema import utc_now

log = logging.getLogger(__name__)


class SchemaNotCurrent(RuntimeError):
    pass


def create_app(settings: Settings, *, netenv: NetEnv | None = None) -> FastAPI:
    """`netenv` replaces the one built from the configuration (tests point DNS at their own
    nameserver this way)."""
    engine = repo.make_engine(settings.db_url, pool_size=settings.db_pool_size)
    executor = ThreadPoolExecutor(settings.control_workers, thread_name_prefix="control")
    state = Collector(
        settings=settings, engine=engine, councils=councils.load(), metrics=Metrics(),
        submit_limits=SharedRateLimiter(engine, "submit", per_minute=settings.submit_per_minute,
                                        burst=settings.submit_burst),
        control_limits=SharedRateLimiter(engine, "control",
                                         per_minute=settings.control_per_minute,
                                         burst=settings.control_burst),
        auth_failures=SharedRateLimiter(engine, "auth",
                                        per_minute=settings.auth_failures_per_minute,
                                        burst=settings.auth_failure_burst),
        address_hash=AddressHasher(engine),
        tokens=TokenCache(lambda token_id: repo.find_token(engine, token_id=token_id),
                          settings.token_cache_seconds),
        control=_control_service(settings, netenv, executor, engine), templates=_templates())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not migrate.is_current(engine):
            raise SchemaNotCurrent("the database schema is not current: run "
                                   "`access-probe collector migrate --db URL` first")
        upkeep = asyncio.create_task(_maintenance(engine, settings.retention_days))
        warmer = (asyncio.create_task(_warm(engine, settings.dashboard_warm_seconds))
                  if settings.dashboard_warm_seconds else None)
        yield
        upkeep.cancel()
        if warmer:
            warmer.cancel()
        executor.shutdown(wait=False, cancel_futures=True)
        engine.dispose()

    app = FastAPI(title="access-probe collector", version=__version__, lifespan=lifespan)
    app.state.collector = state
    for module in (submissions, control, aggregate, pages):
        app.include_router(module.router)
    dashboard.install(app)
    _handlers(app)
    app.add_middleware(RefuseNulQuery)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


MAINTENANCE_SECONDS = 3600.0
log = logging.getLogger(__name__)


async def _maintenance(engine: sa.engine.Engine, retention_days: int) -> None:
    """Hourly: next month's partition ahead of need, and the retention. Every process runs
    it; the statements are idempotent, so several replicas doing so is harmless."""
    while True:
        try:
            await asyncio.to_thread(partitions.create_ahead, engine, now=utc_now())
            if retention_days:
                await asyncio.to_thread(partitions.retain, engine, days=retention_days,
                                        now=utc_now())
        except sa.exc.SQLAlchemyError as exc:  # the database is down: try again next hour
            log.warning("maintenance failed: %s", str(exc).splitlines()[0])
        await asyncio.sleep(MAINTENANCE_SECONDS)


async def _warm(engine: sa.engine.Engine, seconds: float) -> None:
    """Every `seconds`: the dashboard's default views asked afresh into the query cache
    (`api/warm.py`). Their counts are kept for two rounds and a minute, so a slow round never
    leaves visitors a cold page; they are at most a round (plus its own time) old."""
    from access_probe.collector.api import warm

    while True:
        try:
            await asyncio.to_thread(warm.warm, engine, keep=2 * seconds + 60)
        except sa.exc.SQLAlchemyError as exc:  # the database is down: the next round retries
            log.warning("cache warming failed: %s", str(exc).splitlines()[0])
        await asyncio.sleep(seconds)


def create_app_from_env() -> FastAPI:
    """The factory uvicorn workers import (`--factory`): settings come from the environment."""
    return create_app(Settings.from_env(os.environ[ENV_VAR]))


def _control_service(settings: Settings, netenv: NetEnv | None, executor: ThreadPoolExecutor,
                     engine: sa.Engine) -> ControlService:
    config = load_config(settings.config).config
    # Never through a proxy: a proxy resolves names itself, out of the guard's sight.
    env = netenv or NetEnv.from_config(replace(config, proxy="none"), environ={})
    limits = Limits(timeout=config.probe.timeout_seconds, max_body=config.probe.max_body_bytes,
                    max_redirects=config.probe.max_redirects)
    catalogue = load_catalogue(settings.targets) if settings.catalogue_only else None
    return ControlService(env=env, limits=limits, allow=settings.control_allow,
                          catalogue=catalogue,
                          cache=SharedCache(engine, settings.control_cache_seconds),
                          executor=executor, deadline=settings.control_deadline_seconds)


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.PackageLoader("access_probe.collector", "templates"),
                             autoescape=True)
    return Jinja2Templates(env=env)


def _handlers(app: FastAPI) -> None:
    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        errors = exc.errors if isinstance(exc, InvalidInput) else error_summary(exc)
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:3])
        return JSONResponse({"detail": f"invalid input: {where}", "errors": errors},
                            status_code=422)

    async def unavailable(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "the database is unavailable; try again later"},
                            status_code=503, headers={"Retry-After": "30"})

    async def unstorable(_request: Request, exc: Exception) -> JSONResponse:
        # The safety net behind the validation: a value the database refuses to store or
        # compare (PostgreSQL's NUL in text, an out-of-range number) is the caller's input.
        log.warning("database refused a value: %s", type(getattr(exc, "orig", exc)).__name__)
        return JSONResponse({"detail": "invalid input: a value the database cannot store",
                             "errors": []}, status_code=422)

    app.add_exception_handler(InvalidInput, invalid)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(sa.exc.OperationalError, unavailable)
    app.add_exception_handler(sa.exc.DataError, unstorable)


class RefuseNulQuery:
    """A query string holding a NUL (`%00`) is refused with 422 before any route: no filter
    value has a use for it, and PostgreSQL cannot compare text with one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"%00" in scope.get("query_string", b""):
            response = JSONResponse({"detail": "invalid input: query: NUL characters (%00) "
                                               "are not accepted",
                                     "errors": [{"loc": ["query"], "msg": "NUL"}]},
                                    status_code=422)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema plus the two request bodies the routes read by hand (they read
    the body themselves to enforce the size limit and authenticate first)."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (CheckIn, ControlRequest):
            body = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components[model.__name__] = body
        app.openapi_schema = schema
    return app.openapi_schema
