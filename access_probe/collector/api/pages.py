"""GET /healthz and /metrics (the dashboard is api/dashboard.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from access_probe.collector.api.deps import StateDep
from access_probe.collector.models_out import HealthOut
from access_probe.collector.store import repo

router = APIRouter()


@router.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
def healthz(state: StateDep) -> Response:
    ok = repo.ping(state.engine)
    body = HealthOut(status="ok" if ok else "unavailable", database=ok)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(state: StateDep) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
