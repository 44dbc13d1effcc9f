"""GET /reports/{org}: one council's evidence report, for its own token (bearer or signed-in
session) or an administrator; any other token gets 403, nobody 401.

What staff (corporate LAN, staff Wi-Fi), members (chamber Wi-Fi) and the public (public Wi-Fi)
can reach, how each block is made and since when, the share of peer councils (same type; same
region) where each service works on staff networks, and the "Social Media Friendly" checklist.
Peer shares are shown only when at least k other councils make them up.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from access_probe.collector import views
from access_probe.collector.aggregate import AggregateQuery
from access_probe.collector.api import session
from access_probe.collector.api.dashboard import hour_months, names, page_query
from access_probe.collector.api.deps import StateDep
from access_probe.collector.api.session import ViewerDep
from access_probe.collector.store.partitions import next_month
from access_probe.collector.views import CONCLUSIVE, DENIED, MAIN_PLATFORMS

router = APIRouter()
_ORG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,15}$")
KINDS = (("staff", "Staff (corporate LAN, staff Wi-Fi)"),
         ("members", "Members (chamber Wi-Fi)"), ("public", "Public Wi-Fi"))


@dataclass(slots=True)
class Reach:
    ok: int = 0
    denied: int = 0
    how: dict[tuple[Any, Any], int] = field(default_factory=dict)  # (method, vendor) -> n
    open_hours: set[int] = field(default_factory=set)
    denied_hours: set[int] = field(default_factory=set)
    since: date | None = None
    since_start: bool = False  # the current state runs from the first day measured

    @property
    def state(self) -> str:
        total = self.ok + self.denied
        if not total:
            return "unknown"
        share = self.denied / total
        return "blocked" if share > 0.9 else "open" if share < 0.1 else "partly"


@router.get("/reports/{org}", response_class=HTMLResponse)
def report(org: str, request: Request, state: StateDep, who: ViewerDep) -> Response:
    if not _ORG.match(org):
        raise HTTPException(404, "no such organisation")
    code = state.councils.canonical(org)
    if who is None:
        response = state.templates.TemplateResponse(request, "signin.html", {
            "csrf": session.csrf_token(request), "next": f"/reports/{code}", "who": None,
            "error": "Sign in with this council's token (or an administrator's) to see its "
                     "report."}, status_code=401)
        session.remember_csrf(request, response)
        return response
    if not who.admin and state.councils.canonical(who.org or "") != code:
        raise HTTPException(403, "this token may read its own council's report only")
    base, period = page_query(request)
    if base.filters:
        raise HTTPException(422, "the report takes a period only")
    today = datetime.now(UTC).date()
    council = state.councils.lookup(code)
    n = names(state)
    k = state.settings.k
    # The council's own questions end today (as the page says) and the hour view with this
    # month: a closed period lets the rollups go straight to this council's rows.
    own = views.with_filter(replace(base, until=base.until or today), "org", (code,))
    hours_since, hours_until = hour_months(base, today)
    hours_until = hours_until or next_month(today.replace(day=1)) - timedelta(days=1)
    queries = {
        "how": replace(own, group_by=("network", "service", "status", "method", "vendor")),
        "days": replace(views.with_filter(own, "status", CONCLUSIVE),
                        group_by=("network", "service", "day", "status")),
        "hours": replace(views.with_filter(own, "status", CONCLUSIVE),
                         group_by=("network", "service", "hour", "status"),
                         since=hours_since, until=hours_until),
        # every council's states, one question shared by all reports (and kept warm): the
        # peers of each are picked here by type and region, which are functions of the code
        "peers": peer_query(base),
    }
    rows = views.run_all(state.engine, queries)

    reach: dict[tuple[str, str], Reach] = defaultdict(Reach)  # (kind, service)
    networks: dict[str, set[str]] = defaultdict(set)
    for r in rows["how"]:
        network, sid, status, method, vendor = r.keys
        if not n.is_service(sid) or status not in CONCLUSIVE:
            continue
        kind = views.network_kind(network)
        networks[kind].add(str(network))
        cell = reach[(kind, str(sid))]
        if status in DENIED:
            cell.denied += r.count
            cell.how[(method, vendor)] = cell.how.get((method, vendor), 0) + r.count
        else:
            cell.ok += r.count
    _hours(reach, rows["hours"], n)
    _since(reach, rows["days"], n)
    categories = blocking_categories(state.engine, code, base.until or today)

    services = [sid for sid, _ in n.services()]
    services += sorted({sid for _, sid in reach} - set(services))
    peers = {}
    if council:
        groups = {"type": ("type", council.type), "region": ("region", council.region)}
        for name, (attr, value) in groups.items():
            if value:
                same = [r for r in rows["peers"]
                        if getattr(state.councils.lookup(str(r.keys[0])), attr, None) == value]
                peers[name] = _peers(same, code, n, k=k, admin=who.admin)
    response = state.templates.TemplateResponse(request, "report.html", {
        "who": who, "csrf": session.csrf_token(request), "names": n, "views": views,
        "council": council, "code": code, "period": period, "periods": views.PERIODS,
        "since": base.since, "until": base.until or today, "kinds": KINDS,
        "networks": {kind: sorted(v) for kind, v in networks.items()},
        "services": [s for s in services if any((kind, s) in reach for kind, _ in KINDS)],
        "reach": reach, "peers": peers, "k": k, "categories": categories,
        "checklist": _checklist(reach, n), "demo": views.is_demo(state.engine),
        "hour_months": (hours_since, hours_until),
    }, headers={"Cache-Control": "private, no-store"})
    session.remember_csrf(request, response)
    return response


def peer_query(base: AggregateQuery) -> AggregateQuery:
    """Every council's conclusive results by network and service for the period."""
    return replace(views.with_filter(base, "status", CONCLUSIVE),
                   group_by=("org", "network", "service", "status"))


def _hours(reach: dict[tuple[str, str], Reach], rows: list[Any], n: views.Names) -> None:
    tally: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        network, sid, hour, status = r.keys
        if n.is_service(sid):
            tally[(views.network_kind(network), str(sid), int(hour))][status in DENIED] += r.count
    for (kind, sid, hour), (ok, bad) in tally.items():
        cell = reach.get((kind, sid))
        if cell is not None:
            (cell.denied_hours if bad > ok else cell.open_hours).add(hour)


def _since(reach: dict[tuple[str, str], Reach], rows: list[Any], n: views.Names) -> None:
    tally: dict[tuple[str, str], dict[date, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0]))
    for r in rows:
        network, sid, day, status = r.keys
        if n.is_service(sid):
            tally[(views.network_kind(network), str(sid))][day][status in DENIED] += r.count
    for key, days in tally.items():
        cell = reach.get(key)
        if cell is None:
            continue
        ordered = sorted(days)
        denied = [days[d][1] >= days[d][0] for d in ordered]
        start = len(ordered) - 1
        while start > 0 and denied[start - 1] == denied[-1]:
            start -= 1
        cell.since = ordered[start]
        cell.since_start = start == 0


def _peers(rows: list[Any], code: str, n: views.Names, *, k: int,
           admin: bool) -> dict[str, views.Cell]:
    """Share of other councils in the group where each service works on staff networks."""
    staff = [r for r in rows if r.keys[0] != code and views.network_kind(r.keys[1]) == "staff"]
    states = views.org_states([replace(r, keys=(r.keys[0], r.keys[2], r.keys[3]))
                               for r in staff])
    cells = views.share_cells({key: ("open" if s == "open" else "denied")
                               for key, s in states.items() if n.is_service(key[1])},
                              lambda _org: "peers", k=k, admin=admin)
    out: dict[str, views.Cell] = {}
    for (_g, sid), cell in cells.items():
        # share_cells counts "denied"; the report shows where the service works
        out[str(sid)] = views.Cell(denied=cell.total - cell.denied, total=cell.total,
                                   shown=cell.shown)
    return out


def _checklist(reach: dict[tuple[str, str], Reach], n: views.Names) -> list[dict[str, Any]]:
    def check(question: str, kind: str, sids: tuple[str, ...]) -> dict[str, Any]:
        states = {sid: reach[(kind, sid)].state if (kind, sid) in reach else "unknown"
                  for sid in sids}
        blocked = [n.service(s) for s, v in states.items() if v in ("blocked", "partly")]
        unknown = [n.service(s) for s, v in states.items() if v == "unknown"]
        if blocked:
            answer, detail = "no", "Not reachable (all or some of the time): " + ", ".join(
                blocked)
        elif unknown:
            answer, detail = "unknown", "No measurements for: " + ", ".join(unknown)
        else:
            answer, detail = "yes", "All reachable."
        return {"question": question, "answer": answer, "detail": detail}

    return [
        check("Can staff reach the main platforms?", "staff", MAIN_PLATFORMS),
        check("Can members reach them on the chamber network?", "members", MAIN_PLATFORMS),
        check("Is there public Wi-Fi access to them?", "public", MAIN_PLATFORMS),
        check("Are Knowledge Hub links reachable?", "staff", ("knowledge-hub",)),
    ]


def blocking_categories(engine: sa.engine.Engine, org: str,
                        until: date) -> dict[tuple[str, str], list[str]]:
    """(network kind, service) -> the filter categories its block pages named in the last two
    days, from the daily rollup (which keys the category): the council's few hundred rows of
    those days, through the rollup's (day, org) key."""
    from access_probe.collector.store.tables import counts_day

    table = counts_day
    stmt = (sa.select(table.c.network, table.c.service, table.c.blocking_category)
            .where(table.c.day >= until - timedelta(days=1), table.c.day <= until,
                   table.c.org == org, table.c.status.in_(DENIED),
                   table.c.blocking_category != "")
            .group_by(table.c.network, table.c.service, table.c.blocking_category)
            .order_by(table.c.network, table.c.service, table.c.blocking_category))
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    with engine.connect() as conn:
        for network, sid, category in conn.execute(stmt):
            key = (views.network_kind(network or None), str(sid))
            if category not in found[key]:
                found[key].append(category)
    return dict(found)
