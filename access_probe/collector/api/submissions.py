"""POST /api/v1/submissions: store a batch of results once, answer after the commit.

The hot endpoint, so it does its own plumbing instead of a chain of dependencies (each sync
dependency was a thread-pool hop; see docs/benchmarks.md, issue 9): a token in the cache is
checked on the event loop, and one thread-pool call validates the document, checks the
organisation and ingests. The submission limit and the failed-authentication throttle are
checked inside the ingest's own transaction, last, just before its commit, so an accepted
submission is one database transaction, and a refused one commits nothing. The answers and
their precedence are those the dependencies gave: 401 (429 while the client's throttle is
empty), then 413, 422, 403, and 429 over the token's limit; every authenticated request is
charged one unit of its token's limit, whatever its answer.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from access_probe.collector.api.deps import (
    InvalidInput,
    authenticate,
    client_hash,
    get_state,
    parse_submission,
    rate_limited,
    read_limited,
    token_principal,
    too_many_failures,
)
from access_probe.collector.councils import Councils
from access_probe.collector.ingest import stored_results
from access_probe.collector.models_out import Problem, SubmissionOut
from access_probe.collector.state import Collector
from access_probe.collector.store import repo
from access_probe.collector.store.records import IngestCounts
from access_probe.collector.tokens import Principal
from access_probe.schema import utc_now

router = APIRouter()

# The body and the bearer scheme are read by hand, so the schema says what they are.
OPENAPI = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/CheckIn"}}}},
    "security": [{"HTTPBearer": []}]}


@router.post("/api/v1/submissions", response_model=SubmissionOut, openapi_extra=OPENAPI,
             responses={c: {"model": Problem} for c in (401, 403, 413, 422, 429)})
async def submit(request: Request) -> Response:
    state = get_state(request)
    token = bearer_token(request)
    who = token_principal(state, token, cached_only=True)
    if who is None:  # not in the cache, or not valid: the full check, throttle first
        who = await run_in_threadpool(authenticate, request, state, token)
    try:
        body = await read_limited(request, state.settings.max_body_bytes)
    except HTTPException:
        await run_in_threadpool(charge, state, who, client_hash(request, state))
        raise
    address = request.client.host if request.client else ""
    counts = await run_in_threadpool(accept, state, who, address, body)
    return Response(orjson.dumps({"accepted": counts.accepted, "duplicates": counts.duplicates}),
                    media_type="application/json")


def bearer_token(request: Request) -> str:
    """The bearer credentials, read as FastAPI's HTTPBearer reads them ('' for none)."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    return credentials if scheme.lower() == "bearer" and credentials else ""


def accept(state: Collector, who: Principal, address: str, body: bytes) -> IngestCounts:
    client = state.address_hash(address)
    try:
        doc = parse_submission(body)
        org = organisation(who, doc.context.org, state.councils)
    except (InvalidInput, HTTPException):
        charge(state, who, client)
        raise
    batch = stored_results(doc, org=org, councils=state.councils, now=utc_now())

    def admit(conn: Connection) -> None:
        gate(conn, state, who, client)

    with state.metrics.ingest_seconds.time():
        counts = repo.ingest(state.engine, batch=batch, admit=admit)
    state.submit_limits.sweep_when_due()
    state.metrics.submissions.labels("ok").inc()
    state.metrics.results.labels("new").inc(counts.accepted)
    state.metrics.results.labels("duplicate").inc(counts.duplicates)
    return counts


def gate(conn: Connection, state: Collector, who: Principal, client: str) -> None:
    """429 while the client's failed-authentication throttle is empty (a valid token is no
    exception: its 200 would tell a guess apart), else one unit of the token's limit."""
    throttled, limited = state.submit_limits.take_peeking(
        conn, who.token_id, other=state.auth_failures, other_key=client)
    if throttled > 0:
        raise too_many_failures(throttled)
    if limited > 0:
        raise rate_limited(limited)


def charge(state: Collector, who: Principal, client: str) -> None:
    """`gate` on its own, for a request refused before the ingest: 429 takes precedence over
    its own answer, and it costs a unit like any other."""
    with state.engine.begin() as conn:
        gate(conn, state, who, client)
    state.submit_limits.sweep_when_due()


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
