"""Signing in to the web pages with a token: `GET/POST /signin`, `POST /signout`.

A session cookie reads `<token id>.<expiry>.<signature>`; the signature is an HMAC keyed by the
token's stored hash, which only the server knows, so no session table and no server secret is
needed, every worker checks any cookie, and revoking the token ends its sessions. The cookie is
HttpOnly, SameSite=Strict (Secure over HTTPS). Forms that POST carry a CSRF token that must
match the `ap_csrf` cookie (double submit), and a cross-site Origin is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from access_probe.collector import tokens
from access_probe.collector.api.deps import StateDep
from access_probe.collector.state import Collector
from access_probe.collector.store import repo
from access_probe.collector.tokens import Principal

SESSION = "ap_session"
CSRF = "ap_csrf"
LIFETIME = 8 * 3600
FORM_LIMIT = 4096

router = APIRouter(include_in_schema=False)


def _sign(key: str, token_id: str, expires: int) -> str:
    return hmac.new(key.encode(), f"{token_id}.{expires}".encode(), hashlib.sha256).hexdigest()


def _live(state: Collector, token: str) -> Principal | None:
    token_id = tokens.token_id(token)
    record = repo.find_token(state.engine, token_id=token_id) if token_id else None
    if record is None or record.revoked_at is not None or not tokens.verify(
            token, record.secret_hash):
        return None
    return Principal(token_id=record.id, org=record.org, admin=record.admin)


def session_principal(state: Collector, cookie: str | None) -> Principal | None:
    parts = (cookie or "").split(".")
    if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) < time.time():
        return None
    record = repo.find_token(state.engine, token_id=parts[0]) if len(parts[0]) == 8 else None
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(_sign(record.secret_hash, parts[0], int(parts[1])), parts[2]):
        return None
    return Principal(token_id=record.id, org=record.org, admin=record.admin)


def viewer(request: Request, state: StateDep) -> Principal | None:
    """Who is looking: a bearer token, else a session cookie, else nobody (None)."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        who = _live(state, auth[7:].strip())
        if who is None:
            raise HTTPException(401, "a valid, unrevoked bearer token is required",
                                headers={"WWW-Authenticate": "Bearer"})
        return who
    return session_principal(state, request.cookies.get(SESSION))


ViewerDep = Annotated[Principal | None, Depends(viewer)]


def csrf_token(request: Request) -> str:
    """The request's CSRF token (from its cookie, or a new one `remember_csrf` will set)."""
    existing = request.cookies.get(CSRF, "")
    if len(existing) == 43:
        return existing
    token: str = getattr(request.state, "new_csrf", "") or secrets.token_urlsafe(32)
    request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF, new, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")


async def _form(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
        raise HTTPException(403, "cross-site form refused")
    body = await request.body()
    if len(body) > FORM_LIMIT:
        raise HTTPException(413, "form too large")
    fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    sent, expected = fields.get("csrf", ""), request.cookies.get(CSRF, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "the form has expired; reload the page and try again")
    return fields


def _next(path: str | None) -> str:
    return path if path and path.startswith("/") and not path.startswith("//") else "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, state: StateDep, who: ViewerDep,
                next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    return _signin_page(request, state, who, next=_next(next), error=None, status=200)


def _signin_page(request: Request, state: Collector, who: Principal | None, *, next: str,
                 error: str | None, status: int) -> Response:
    response = state.templates.TemplateResponse(request, "signin.html", {
        "csrf": csrf_token(request), "next": next, "error": error, "who": who},
        status_code=status)
    remember_csrf(request, response)
    return response


@router.post("/signin", response_class=HTMLResponse)
async def signin(request: Request, state: StateDep) -> Response:
    fields = await _form(request)
    who = _live(state, fields.get("token", "").strip())
    if who is None:
        return _signin_page(request, state, None, next=_next(fields.get("next")),
                            error="That token is not valid or has been revoked.", status=401)
    target = _next(fields.get("next"))
    if target == "/" and who.org:
        target = f"/reports/{who.org}"
    response = RedirectResponse(target, status_code=303)
    expires = int(time.time()) + LIFETIME
    record = repo.find_token(state.engine, token_id=who.token_id)
    assert record is not None
    value = f"{who.token_id}.{expires}.{_sign(record.secret_hash, who.token_id, expires)}"
    response.set_cookie(SESSION, value, max_age=LIFETIME, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    await _form(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION, path="/", httponly=True, samesite="strict")
    return response
