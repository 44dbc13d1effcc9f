"""Dependencies shared by the routes, as `Annotated` aliases: the app's state, the caller
(`PrincipalDep`), and bodies read within a size limit and validated strictly; and the same
checks as plain functions for the submission endpoint, which calls them itself."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from access_probe.collector import tokens
from access_probe.collector.models_in import CheckIn, ControlRequest
from access_probe.collector.state import Collector
from access_probe.collector.tokens import Principal

CONTROL_BODY_LIMIT = 64 * 1024
MAX_ERRORS = 10


class InvalidInput(Exception):
    """A request that parsed as HTTP but not as what the endpoint takes (answered with 422)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid input")
        self.errors = errors


def error_summary(exc: ValidationError | Any) -> list[dict[str, Any]]:
    """Where and why, never the offending input (which may be huge or personal)."""
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200]}
            for e in exc.errors()[:MAX_ERRORS]]


def get_state(request: Request) -> Collector:
    state: Collector = request.app.state.collector
    return state


StateDep = Annotated[Collector, Depends(get_state)]
_bearer = HTTPBearer(auto_error=False, description="an enrolment or administrator token")


def principal(request: Request, state: StateDep,
              creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
              ) -> Principal:
    """The caller, from its bearer token. Guessing tokens is throttled per client: each
    presented token that fails charges one unit to the bucket of the client's hashed address
    (`auth_failures_per_minute`, `auth_failure_burst`, shared by all replicas); while that
    bucket is empty every token from that client is answered 429 before it is checked, so
    a guess cannot be tested faster than the limit. The address is hashed with a key kept
    in the database and used for nothing else."""
    return authenticate(request, state, creds.credentials if creds else "")


def authenticate(request: Request, state: Collector, token: str) -> Principal:
    """The caller a presented token proves, throttle first (see `principal`)."""
    client = client_hash(request, state)
    if token:
        wait = state.auth_failures.peek(client)
        if wait > 0:
            raise too_many_failures(wait)
    who = token_principal(state, token)
    if who is None:
        refuse_token(state, token, client)
    return who


def client_hash(request: Request, state: Collector) -> str:
    return state.address_hash(request.client.host if request.client else "")


def token_principal(state: Collector, token: str, *, cached_only: bool = False
                    ) -> Principal | None:
    """Whom a presented token proves (None: nobody), from the token cache or the database;
    with `cached_only`, None also when its row is not in the cache (nothing was read). The
    throttle is the caller's business."""
    token_id = tokens.token_id(token)
    if cached_only:
        record = state.tokens.kept(token_id) if token_id else None
    else:
        record = state.tokens.find(token_id) if token_id else None
    valid = tokens.verify(token, record.secret_hash if record else tokens.NO_HASH)
    if record is None or record.revoked_at is not None or not valid:
        return None
    return Principal(token_id=record.id, org=record.org, admin=record.admin)


def refuse_token(state: Collector, token: str, client: str) -> NoReturn:
    """A token that proved nobody: charged to the client's throttle if one was presented."""
    if token:
        wait = state.auth_failures.take(client)
        if wait > 0:
            raise too_many_failures(wait)
    raise HTTPException(401, "a valid, unrevoked bearer token is required",
                        headers={"WWW-Authenticate": "Bearer"})


def too_many_failures(wait: float) -> HTTPException:
    return HTTPException(429, "too many failed authentications from this client; try later",
                         headers={"Retry-After": str(math.ceil(wait))})


PrincipalDep = Annotated[Principal, Depends(principal)]


def rate_limited(wait: float) -> HTTPException:
    return HTTPException(429, "rate limit exceeded for this token",
                         headers={"Retry-After": str(math.ceil(wait))})


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed `limit`: by Content-Length
    before reading anything, else while streaming (chunked bodies)."""
    declared = request.headers.get("content-length")
    if declared is not None and not (declared.isascii() and declared.isdigit()):
        raise HTTPException(400, "bad Content-Length")
    if declared is not None and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise HTTPException(400, "the body ended early") from None
    return b"".join(chunks)


M = TypeVar("M", bound=BaseModel)


async def _validated(model: type[M], body: bytes) -> M:
    try:
        return await run_in_threadpool(model.model_validate_json, body)
    except ValidationError as exc:
        raise InvalidInput(error_summary(exc)) from None


# A JSON \u0000 escape that is not itself an escaped backslash followed by "u0000".
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_REFUSED = {"loc": ["body"], "msg": "NUL characters (\\u0000) are not accepted in any string"}


def refuse_nul(body: bytes) -> None:
    # `in` scans in C; the regex (which tells an escaped backslash from an escape) only runs
    # on the rare body that holds the six bytes at all (it cost 6% of a submission's CPU)
    if b"\\u0000" in body and _NUL.search(body):
        raise InvalidInput([NUL_REFUSED])


def parse_submission(body: bytes) -> CheckIn:
    """The submission document, validated in the caller's thread (422 as InvalidInput)."""
    refuse_nul(body)
    try:
        return CheckIn.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(error_summary(exc)) from None


async def control_request(request: Request) -> ControlRequest:
    return await _validated(ControlRequest, await read_limited(request, CONTROL_BODY_LIMIT))


ControlDep = Annotated[ControlRequest, Depends(control_request)]
