"""GET /api/v1/aggregate and /api/v1/export.csv: counts, small cells suppressed for all but
administrators; `export.csv?raw=1` streams stored results to administrators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from access_probe.collector import aggregate
from access_probe.collector.aggregate import AggregateQuery, QueryError
from access_probe.collector.api.deps import PrincipalDep, StateDep
from access_probe.collector.models_out import AggregateOut, Problem
from access_probe.collector.state import Collector
from access_probe.collector.store import repo
from access_probe.collector.tokens import Principal

router = APIRouter()

_PARAMS: list[dict[str, Any]] = [
    {"name": "group_by", "in": "query", "schema": {"type": "string"},
     "description": f"comma-separated keys among {', '.join(aggregate.KEYS)}"},
    {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
    {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}},
    *({"name": key, "in": "query", "schema": {"type": "string"},
       "description": "filter: one value, or several separated by commas"}
      for key in aggregate.KEYS),
]
_ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": Problem} for c in (401, 403, 422)}


RAW_HEADER = (*repo.RAW_COLUMNS[:3], "org_name", *repo.RAW_COLUMNS[3:])  # name after code


def describer(state: Collector) -> aggregate.Describe:
    def describe(code: str) -> tuple[str | None, str | None]:
        council = state.councils.lookup(code)
        return (council.name, council.type) if council else (None, None)
    return describe


def parse(request: Request, *, extra: tuple[str, ...] = ()) -> AggregateQuery:
    try:
        return aggregate.parse_query(request.query_params.multi_items(), extra=extra)
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    except ValueError:  # a value that slipped past the parser's own checks ('hour=²')
        raise HTTPException(422, "invalid query value") from None


def visible(state: Collector, who: Principal,
            query: AggregateQuery) -> tuple[list[aggregate.AggregateRow], int]:
    rows = repo.aggregate(state.engine, query=query)
    return aggregate.suppress(rows, k=state.settings.k, admin=who.admin)


@router.get("/api/v1/aggregate", response_model=AggregateOut, responses=_ERRORS,
            openapi_extra={"parameters": _PARAMS})
def aggregate_counts(request: Request, who: PrincipalDep, state: StateDep) -> AggregateOut:
    query = parse(request)
    rows, suppressed = visible(state, who, query)
    return AggregateOut(rows=[aggregate.row_json(query, r) for r in rows],
                        suppressed=suppressed, k=state.settings.k)


@router.get("/api/v1/export.csv", response_class=PlainTextResponse, responses=_ERRORS,
            openapi_extra={"parameters": [*_PARAMS, {
                "name": "raw", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                "description": "administrators: stored results instead of counts"}]})
def export_csv(request: Request, who: PrincipalDep, state: StateDep) -> StreamingResponse:
    query = parse(request, extra=("raw",))
    headers = {"Content-Disposition": 'attachment; filename="access-probe.csv"'}
    if request.query_params.get("raw") == "1":
        if not who.admin:
            raise HTTPException(403, "raw export needs an administrator token")
        lines = aggregate.rows_csv(
            RAW_HEADER, aggregate.with_names(repo.raw_results(state.engine, query=query),
                                             describer(state)))
        return StreamingResponse(lines, media_type="text/csv", headers=headers)
    rows, suppressed = visible(state, who, query)
    headers["X-Suppressed-Rows"] = str(suppressed)
    text = aggregate.to_csv(query, rows, describe=describer(state))
    return StreamingResponse(iter([text]), media_type="text/csv",
                             headers=headers)
