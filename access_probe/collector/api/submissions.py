"""POST /api/v1/submissions: store a batch of results once, answer after the commit."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from access_probe.collector.api.deps import StateDep, SubmissionDep, SubmitterDep
from access_probe.collector.councils import Councils
from access_probe.collector.ingest import stored_results
from access_probe.collector.models_out import Problem, SubmissionOut
from access_probe.collector.store import repo
from access_probe.collector.tokens import Principal
from access_probe.schema import utc_now

router = APIRouter()

BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/CheckIn"}}}}}


@router.post("/api/v1/submissions", response_model=SubmissionOut, openapi_extra=BODY_DOC,
             responses={c: {"model": Problem} for c in (401, 403, 413, 422, 429)})
def submit(who: SubmitterDep, doc: SubmissionDep, state: StateDep) -> SubmissionOut:
    org = organisation(who, doc.context.org, state.councils)
    batch = stored_results(doc, org=org, councils=state.councils, now=utc_now())
    with state.metrics.ingest_seconds.time():
        counts = repo.ingest(state.engine, batch=batch)
    state.metrics.submissions.labels("ok").inc()
    state.metrics.results.labels("new").inc(counts.accepted)
    state.metrics.results.labels("duplicate").inc(counts.duplicates)
    return SubmissionOut(accepted=counts.accepted, duplicates=counts.duplicates)


def organisation(who: Principal, claimed: str | None, councils: Councils) -> str:
    """The organisation the results are stored under: the token's own. An administrator
    token may submit for any organisation the document names."""
    if who.org is None:
        if not claimed:
            raise HTTPException(422, "context.org is required with an administrator token")
        return councils.canonical(claimed)
    if claimed and councils.canonical(claimed) != councils.canonical(who.org):
        raise HTTPException(403, "context.org is not this token's organisation")
    return councils.canonical(who.org)
