"""POST /api/v1/control: measure URLs from the collector's vantage point."""

from __future__ import annotations

from fastapi import APIRouter

from access_probe.collector.api.deps import ControlDep, PrincipalDep, StateDep, rate_limited
from access_probe.collector.control import RateLimited
from access_probe.collector.models_out import ControlOut, Problem

router = APIRouter()

BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/ControlRequest"}}}}}


@router.post("/api/v1/control", response_model=ControlOut, openapi_extra=BODY_DOC,
             responses={c: {"model": Problem} for c in (401, 413, 422, 429)})
async def control(who: PrincipalDep, request: ControlDep, state: StateDep) -> ControlOut:
    def take(n: int) -> float:
        return state.control_limits.take(who.token_id, n)

    try:
        results = await state.control.answer(request.urls, take=take)
    except RateLimited as exc:
        raise rate_limited(exc.retry_after) from None
    for answer in results:
        state.metrics.control_urls.labels("refused" if "refused" in answer
                                          else answer.get("status", "unknown")).inc()
    return ControlOut(results=results)
