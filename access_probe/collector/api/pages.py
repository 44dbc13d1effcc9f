"""GET / (the dashboard), /healthz and /metrics."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from access_probe.collector import aggregate
from access_probe.collector.aggregate import AggregateQuery, QueryError
from access_probe.collector.api.deps import StateDep
from access_probe.collector.models_out import HealthOut
from access_probe.collector.state import Collector
from access_probe.collector.store import repo

router = APIRouter()

# The dashboard's tables: a title and the keys each groups by.
TABLES = (("Status by service", ("service", "status")), ("Blocking method", ("method",)),
          ("Filtering product", ("vendor",)), ("Region", ("region", "status")),
          ("Network", ("network", "status")))


@router.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def healthz(state: StateDep) -> Response:
    ok = repo.ping(state.engine)
    body = HealthOut(status="ok" if ok else "unavailable", database=ok)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, state: StateDep) -> Response:
    """The public view: every table suppressed as for a non-administrator."""
    try:
        base = aggregate.parse_query(request.query_params.multi_items())
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    except ValueError:  # a value that slipped past the parser's own checks ('hour=²')
        raise HTTPException(422, "invalid query value") from None
    tables = [_table(state, title, keys, base) for title, keys in TABLES]
    totals = _table(state, "Results by status", ("status",), base)
    return state.templates.TemplateResponse(request, "dashboard.html", {
        "tables": tables, "totals": totals, "filters": dict(base.filters), "k": state.settings.k,
        "keys": aggregate.KEYS})


def _table(state: Collector, title: str, keys: tuple[str, ...],
           base: AggregateQuery) -> dict[str, Any]:
    query = replace(base, group_by=keys)
    rows, suppressed = aggregate.suppress(repo.aggregate(state.engine, query=query),
                                          k=state.settings.k, admin=False)
    return {"title": title, "keys": keys, "suppressed": suppressed,
            "rows": [aggregate.row_json(query, r) for r in rows]}
