"""The collector's web application, built by `create_app(settings)`.

Nothing is made at import time: each app gets its own engine, limits, metrics registry and
thread pool, so tests (and several apps in one process) never share state. The schema must be
current before the app serves: `collector migrate` (the `serve` command migrates SQLite itself).

Privacy: no route reads the caller's address, and `serve` turns uvicorn's access log off, so
the address is neither stored nor logged.
"""

from __future__ import annotations

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

from access_probe import __version__
from access_probe.catalogue import load_catalogue
from access_probe.collector import councils
from access_probe.collector.api import aggregate, control, dashboard, pages, submissions
from access_probe.collector.api.deps import InvalidInput, error_summary
from access_probe.collector.control import ControlService, TTLCache
from access_probe.collector.metrics import Metrics
from access_probe.collector.models_in import CheckIn, ControlRequest
from access_probe.collector.ratelimit import RateLimiter
from access_probe.collector.settings import ENV_VAR, Settings
from access_probe.collector.state import Collector
from access_probe.collector.store import migrate, repo
from access_probe.config import load_config
from access_probe.engine.measure import Limits
from access_probe.engine.netenv import NetEnv


class SchemaNotCurrent(RuntimeError):
    pass


def create_app(settings: Settings, *, netenv: NetEnv | None = None) -> FastAPI:
    """`netenv` replaces the one built from the configuration (tests point DNS at their own
    nameserver this way)."""
    engine = repo.make_engine(settings.db_url, pool_size=settings.db_pool_size)
    executor = ThreadPoolExecutor(settings.control_workers, thread_name_prefix="control")
    state = Collector(
        settings=settings, engine=engine, councils=councils.load(), metrics=Metrics(),
        submit_limits=RateLimiter(settings.submit_per_minute, settings.submit_burst),
        control_limits=RateLimiter(settings.control_per_minute, settings.control_burst),
        control=_control_service(settings, netenv, executor), templates=_templates())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not migrate.is_current(engine):
            raise SchemaNotCurrent("the database schema is not current: run "
                                   "`access-probe collector migrate --db URL` first")
        yield
        executor.shutdown(wait=False, cancel_futures=True)
        engine.dispose()

    app = FastAPI(title="access-probe collector", version=__version__, lifespan=lifespan)
    app.state.collector = state
    for module in (submissions, control, aggregate, pages):
        app.include_router(module.router)
    dashboard.install(app)
    _handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """The factory uvicorn workers import (`--factory`): settings come from the environment."""
    return create_app(Settings.from_env(os.environ[ENV_VAR]))


def _control_service(settings: Settings, netenv: NetEnv | None,
                     executor: ThreadPoolExecutor) -> ControlService:
    config = load_config(settings.config).config
    # Never through a proxy: a proxy resolves names itself, out of the guard's sight.
    env = netenv or NetEnv.from_config(replace(config, proxy="none"), environ={})
    limits = Limits(timeout=config.probe.timeout_seconds, max_body=config.probe.max_body_bytes,
                    max_redirects=config.probe.max_redirects)
    catalogue = load_catalogue(settings.targets) if settings.catalogue_only else None
    return ControlService(env=env, limits=limits, allow=settings.control_allow,
                          catalogue=catalogue, cache=TTLCache(settings.control_cache_seconds),
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

    app.add_exception_handler(InvalidInput, invalid)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(sa.exc.OperationalError, unavailable)


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
