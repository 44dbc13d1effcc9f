"""GET /: the national dashboard, server-rendered from a few aggregate queries run together.
Charts are server-side SVG (no script at all), each with its table; `install(app)` also serves
the stylesheet under /static and sets a strict Content-Security-Policy on every response."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from access_probe.catalogue import packaged_catalogue
from access_probe.collector import aggregate, views
from access_probe.collector.aggregate import AggregateQuery, QueryError, parse_query
from access_probe.collector.api import session
from access_probe.collector.api.deps import StateDep
from access_probe.collector.api.session import ViewerDep
from access_probe.collector.store.partitions import next_month
from access_probe.collector.views import CONCLUSIVE, DENIED, Names

router = APIRouter()

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
FILTERS = ("service", "council_type", "nation", "region", "network")
HOW = ("method", "vendor", "blocking_category", "category")  # the breakdowns, in chart order
PAGE_PARAMS = ("period", "by")


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(packages=[("access_probe.collector", "static")]),
              name="static")
    from access_probe.collector.api import report

    app.include_router(session.router)
    app.include_router(router)
    app.include_router(report.router)

    app.add_middleware(SecurityHeaders)


class SecurityHeaders:
    """The security headers on every answer. A plain ASGI middleware: `@app.middleware("http")`
    ran each request in an extra task with memory streams (5% of a submission's CPU)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = not scope["path"].startswith(("/docs", "/redoc"))  # Swagger UI loads a script

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if csp:
                    headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, with_headers)


def names(state: Any) -> Names:
    return Names(packaged_catalogue(), state.councils)


def page_query(request: Request) -> tuple[AggregateQuery, str]:
    """The filters (a subset of the API's) and the period from the query string."""
    params = [(k, v) for k, v in request.query_params.multi_items() if v != ""]
    try:
        query = parse_query([(k, v) for k, v in params if k not in PAGE_PARAMS])
    except QueryError as exc:
        raise HTTPException(422, str(exc)) from None
    unknown = [k for k, _ in query.filters if k not in FILTERS]
    if query.group_by or unknown:
        raise HTTPException(422, f"the dashboard filters by {', '.join(FILTERS)} only")
    period = request.query_params.get("period") or views.DEFAULT_PERIOD
    if period not in (*views.PERIODS, "all"):
        raise HTTPException(422, "period: expected 7, 28, 90, 365 or all")
    if query.since is None and query.until is None:
        today = datetime.now(UTC).date()
        query = replace(query, since=views.period_start(period, today))
    return query, period


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, state: StateDep, who: ViewerDep) -> Response:
    base, period = page_query(request)
    by = request.query_params.get("by") or "council_type"
    if by not in views.DIMENSIONS:
        raise HTTPException(422, "by: expected council_type, region or nation")
    admin = bool(who and who.admin)
    k = state.settings.k
    n = names(state)
    today = datetime.now(UTC).date()
    queries = dashboard_queries(base, today)
    rows = views.run_all(state.engine, queries)
    states = {key: v for key, v in views.org_states(rows["orgsvc"]).items()
              if n.is_service(key[1])}
    reporting = {org for org, _ in states}
    # headline: share of reporting councils where each service is denied
    overall = views.share_cells(states, lambda _org: "all", k=k, admin=admin)
    # a service measured at fewer than k councils is not named at all (it could be one
    # council's own site)
    services = [sid for sid in _service_order(states, n) if overall[("all", sid)].shown]
    headline = views.Chart("Share of reporting councils where each service is blocked or "
                           "restricted", unit="% of councils")
    for sid in services:
        cell = overall.get(("all", sid))
        if cell is None:
            continue
        if cell.share is None:
            headline.suppressed += 1
            continue
        headline.bars.append(views.Bar(n.service(sid), sid, cell.share * 100,
                                       views.percent(cell.share),
                                       f"{cell.denied} of {cell.total} councils"))

    # heat map: service x (council type | region | nation)
    def group(org: Any) -> str:
        council = state.councils.lookup(org)
        value = getattr(council, "type" if by == "council_type" else by) if council else None
        return str(value or "Not a listed council")

    heat = views.share_cells(states, group, k=k, admin=admin)
    columns = sorted({g for g, _ in heat})

    charts = [views.breakdown(title, views.regroup(rows["how"], at), label, k=k, admin=admin)
              for title, at, label in (
        ("How: blocking method", 1, views.method_name),
        ("Which product", 2, lambda v: str(v) if v else "— (not identified)"),
        ("The filter's category for the site (as its block page states)", 3,
         lambda v: str(v) if v else "— (no category stated)"),
        ("Which kind of service (the catalogue's category)", 4,
         lambda v: str(v).capitalize() if v else "—"))]

    day_keys = _days(base, today, rows["days"])
    response = state.templates.TemplateResponse(request, "dashboard.html", {
        "who": who, "admin": admin, "k": k, "csrf": session.csrf_token(request),
        "period": period, "periods": views.PERIODS, "by": by, "dimensions": views.DIMENSIONS,
        "filters": {key: [str(v) for v in vals if v is not None] for key, vals in base.filters},
        "options": _options(state, n, rows["networks"]),
        "since": base.since, "until": base.until or today,
        "reporting": len(reporting), "recent": len(rows["recent"]),
        "results": sum(r.count for r in rows["orgsvc"]),
        "headline": headline, "top_method": charts[0].bars[:3], "top_vendor": charts[1].bars[:3],
        "heat": {"columns": columns, "rows": [(sid, n.service(sid)) for sid in services],
                 "cells": heat},
        "charts": charts,
        "trend": _series(rows["days"], services, n, day_keys, day_label, k=k,
                         admin=admin),
        "hours": _series(rows["hours"], services, n, list(range(24)), hour_label, k=k,
                         admin=admin),
        "hour_months": (queries["hours"].since, queries["hours"].until or today),
        "networks": _by_network(rows["network"], services, n, k=k, admin=admin),
        "demo": views.is_demo(state.engine),
        "names": n, "views": views, "query_string": request.url.query,
    }, headers={"Cache-Control": "private, no-store" if who else "no-cache"})
    if who:  # the sign-out form; the public page sets no cookie
        session.remember_csrf(request, response)
    return response


def dashboard_queries(base: AggregateQuery, today: date) -> dict[str, AggregateQuery]:
    """The page's aggregate questions for its filters and period (also what the cache warmer
    asks ahead of visitors, so the two must be built by this one function)."""
    concl = views.with_filter(base, "status", CONCLUSIVE)
    denied = views.with_filter(base, "status", DENIED)
    since, until = hour_months(base, today)
    return {
        "orgsvc": replace(concl, group_by=("org", "service", "status")),
        "days": replace(concl, group_by=("day", "service", "status")),
        "hours": replace(concl, group_by=("hour", "service", "status"), since=since,
                         until=until),
        "network": replace(concl, group_by=("network", "service", "status")),
        # the four breakdowns from one question by council: a few rows per council, which
        # `views.regroup` turns into each key's counts and distinct councils (four questions
        # over the period's rollup rows cost four times as much)
        "how": replace(denied, group_by=("org", *HOW)),
        "recent": replace(base, group_by=("org",), since=today - timedelta(days=6), until=None),
        # the network labels for the filter's list: those seen in the period's months (whole
        # months read the monthly rollup, a sixth of the daily rows for a 28-day period)
        "networks": AggregateQuery(group_by=("network",),
                                   since=base.since.replace(day=1) if base.since else None),
    }


def hour_months(base: AggregateQuery, today: date) -> tuple[date, date | None]:
    """The whole calendar months the hour-of-day views read: those overlapping the last four
    weeks of the period. The hour rollup by service is monthly (a daily one would be as large
    as the results), so the view says which months it shows rather than the period's days."""
    end = min(base.until or today, today)
    start = end - timedelta(days=27)
    if base.since:
        start = min(max(base.since, start), end)
    last = None if base.until is None else next_month(end.replace(day=1)) - timedelta(days=1)
    return start.replace(day=1), last


def day_label(day: Any) -> str:
    return f"{day.day} {day:%b}"


def hour_label(hour: Any) -> str:
    return f"{int(hour):02d}:00"


def _service_order(states: dict[tuple[Any, Any], str], n: Names) -> list[str]:
    """Catalogue order for known services, then others seen in the data."""
    seen = {sid for _, sid in states}
    known = [sid for sid, _ in n.services() if sid in seen]
    return known + sorted(str(s) for s in seen - set(known))


def _days(base: AggregateQuery, today: Any, rows: list[Any]) -> list[Any]:
    first = base.since or min((r.keys[0] for r in rows), default=today)
    last = min(base.until or today, today)
    first = max(first, last - timedelta(days=400))  # at most 400 days, the latest
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _series(rows: list[Any], services: list[str], n: Names, keys: list[Any],
            label: Callable[[Any], str], *, k: int, admin: bool) -> dict[str, Any]:
    """Share of conclusive results blocked/restricted per (key, service), and all together;
    a cell measured at fewer than k councils is left out for the public."""
    tally: dict[tuple[Any, Any], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        key, sid, status = r.keys
        for cell in (tally[(key, sid)], tally[(key, None)] if n.is_service(sid) else None):
            if cell is None:
                continue
            cell[status in DENIED] += r.count
            cell[2] = max(cell[2], r.orgs)

    def share(key: Any, sid: str | None) -> float | None:
        ok, bad, orgs = tally.get((key, sid), (0, 0, 0))
        if not ok + bad or (not admin and orgs < k):
            return None
        return bad / (ok + bad)

    grid = {(key, sid): share(key, sid) for key in keys for sid in services}
    total = [share(key, None) for key in keys]
    return {"keys": keys, "grid": grid, "total": total, "rows": services,
            "labels": [label(key) for key in keys],
            "points": [(i, s) for i, s in enumerate(total) if s is not None]}


def _by_network(rows: list[Any], services: list[str], n: Names, *, k: int,
                admin: bool) -> dict[str, Any]:
    tally: dict[tuple[Any, Any], list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        network, sid, status = r.keys
        cell = tally[(network, sid)]
        cell[status in DENIED] += r.count
        cell[2] = max(cell[2], r.orgs)
    networks = sorted({net for net, _ in tally},
                      key=lambda x: (list(views.NETWORK_NAMES).index(x)
                                     if x in views.NETWORK_NAMES else 9, str(x)))
    cells: dict[tuple[Any, Any], tuple[float | None, int]] = {}
    for key, (ok, bad, orgs) in tally.items():
        shown = ok + bad and (admin or orgs >= k)
        cells[key] = (bad / (ok + bad) if shown else None, orgs)
    return {"columns": networks, "cells": cells, "rows": services}


def _options(state: Any, n: Names, network_rows: list[Any]) -> dict[str, list[tuple[str, str]]]:
    councils = {c.code: c for c in state.councils.by_code.values() if c.current}.values()
    labels = {str(r.keys[0]) for r in network_rows if r.keys[0]} | set(views.NETWORK_NAMES)
    return {
        "service": n.services(),
        "council_type": [(t, t) for t in sorted({c.type for c in councils})],
        "nation": [(t, t) for t in sorted({c.nation for c in councils})],
        "region": [(t, t) for t in sorted({c.region for c in councils if c.region})],
        "network": sorted(((x, views.network_name(x)) for x in labels), key=lambda p: p[1]),
    }


@router.get("/dashboard.csv", response_class=StreamingResponse)
def dashboard_csv(request: Request, state: StateDep, who: ViewerDep) -> StreamingResponse:
    """The heat map's figures with codes and names: service, group, councils blocking, councils
    reporting, share; the same filters, period and suppression as the page."""
    base, _period = page_query(request)
    by = request.query_params.get("by") or "council_type"
    if by not in views.DIMENSIONS:
        raise HTTPException(422, "by: expected council_type, region or nation")
    admin = bool(who and who.admin)
    n = names(state)
    concl = views.with_filter(base, "status", CONCLUSIVE)
    rows = views.run_all(state.engine, {
        "orgsvc": replace(concl, group_by=("org", "service", "status"))})["orgsvc"]
    states = {key: v for key, v in views.org_states(rows).items() if n.is_service(key[1])}
    attr = "type" if by == "council_type" else by

    def group(org: Any) -> str:
        council = state.councils.lookup(org)
        return str(getattr(council, attr) or "") if council else ""

    cells = views.share_cells(states, group, k=state.settings.k, admin=admin)
    overall = views.share_cells(states, lambda _org: "", k=state.settings.k, admin=admin)
    out = [{"service": sid, "service_name": n.service(sid), by: g,
            "councils_blocked_or_restricted": cell.denied, "councils": cell.total,
            "share": round(cell.denied / cell.total, 4)}
           for (g, sid), cell in sorted(cells.items(), key=lambda kv: (str(kv[0][1]),
                                                                        kv[0][0]))
           if cell.shown and overall[("", sid)].shown]
    header = ("service", "service_name", by, "councils_blocked_or_restricted", "councils",
              "share")
    return StreamingResponse(aggregate.rows_csv(header, out), media_type="text/csv",
                             headers={"Content-Disposition":
                                      'attachment; filename="access-probe-dashboard.csv"'})
