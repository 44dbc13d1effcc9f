"""What the dashboard (`GET /`) and the council evidence report (`GET /reports/{org}`) show,
computed from the aggregate layer (`repo.aggregate` over the rollups): a handful of grouped
counts per page, run together, turned into names, shares and suppressed cells here.

A council "blocks" a service when most of its conclusive results for it in the period
(accessible, blocked, restricted) are blocked or restricted; a lunchtime-only policy therefore
counts as blocked, and shows in the hour-of-day view. A share of councils is shown only when
at least k councils make it up (the API's small-cell threshold); an administrator sees all.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from access_probe.catalogue import Catalogue
from access_probe.collector.aggregate import AggregateQuery, AggregateRow, Value
from access_probe.collector.councils import Councils
from access_probe.collector.store import repo

CONCLUSIVE = ("accessible", "blocked", "restricted")
DENIED = ("blocked", "restricted")
PERIODS = {"7": 7, "28": 28, "90": 90, "365": 365}
DEFAULT_PERIOD = "28"
DIMENSIONS = {"council_type": "council type", "region": "region", "nation": "nation"}
MAIN_PLATFORMS = ("facebook", "twitter", "instagram", "linkedin", "youtube")
NETWORK_NAMES = {"corporate-lan": "Corporate LAN", "staff-wifi": "Staff Wi-Fi",
                 "members-wifi": "Members' (chamber) Wi-Fi", "public-wifi": "Public Wi-Fi"}
METHOD_NAMES = {
    "dns-nxdomain": "DNS: name said not to exist", "dns-sinkhole": "DNS: answer redirected",
    "dns-refused": "DNS: query refused", "dns-servfail": "DNS: server failure",
    "dns-timeout": "DNS: no answer in time", "dns-no-answer": "DNS: empty answer",
    "tcp-reset": "Connection reset", "tcp-timeout": "Connection dropped (timeout)",
    "tcp-unreachable": "Network unreachable", "tcp-refused": "Connection refused",
    "tls-reset": "TLS handshake reset", "tls-timeout": "TLS handshake dropped",
    "tls-failure": "TLS handshake failed", "http-blockpage": "Block page",
    "http-status": "HTTP error status", "http-reset": "HTTP request reset",
    "http-timeout": "HTTP request dropped", "proxy-denied": "Proxy denied",
    "proxy-auth": "Proxy sign-in required", "warn-page": "Warning page (click through)",
    "captive-portal": "Captive portal", "auth-page": "Sign-in page"}


def network_kind(label: object) -> str:
    """staff, members or public, from a free-text network label."""
    text = str(label or "").lower()
    if "member" in text or "chamber" in text or "councillor" in text:
        return "members"
    if "public" in text or "guest" in text or "visitor" in text:
        return "public"
    return "staff"


@dataclass(frozen=True, slots=True)
class Names:
    """Display names: services from the catalogue, councils from the council table."""

    catalogue: Catalogue
    councils: Councils

    def service(self, sid: object) -> str:
        found = self.catalogue.service(str(sid)) if sid else None
        return found.name if found else str(sid or "—")

    def council(self, code: object) -> str:
        found = self.councils.lookup(str(code)) if code else None
        return found.name if found else str(code or "—")

    def is_service(self, sid: object) -> bool:
        """A service to show: not a baseline, not absent."""
        if not sid:
            return False
        found = self.catalogue.service(str(sid))
        return found is None or found.category != "baseline"

    def services(self) -> list[tuple[str, str]]:
        return [(s.id, s.name) for s in self.catalogue.services if s.category != "baseline"]


def network_name(label: object) -> str:
    return NETWORK_NAMES.get(str(label), str(label)) if label else "—"


def method_name(method: object) -> str:
    return METHOD_NAMES.get(str(method), str(method)) if method else "—"


def period_start(period: str, today: date) -> date | None:
    days = PERIODS.get(period)
    return today - timedelta(days=days - 1) if days else None


CACHE_SECONDS = 30.0  # how long a query's counts are reused (0: never)
_CACHE_SIZE = 512
_Entries = dict[AggregateQuery, tuple[float, list[AggregateRow]]]  # query -> (expires, rows)
_cache: weakref.WeakKeyDictionary[Engine, _Entries] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def run_all(engine: Engine, queries: dict[str, AggregateQuery], *,
            warm_for: float | None = None) -> dict[str, list[AggregateRow]]:
    """The page's queries, at most four at a time on the engine's pool. Counts are reused
    for CACHE_SECONDS: the same figures serve every visitor (suppression is applied after),
    so a busy dashboard costs the database one set of queries per half-minute.

    `warm_for`: the cache warmer's call. Every query runs afresh and its counts are kept for
    that many seconds, so the pages the warmer knows are served from memory between its
    rounds however long their queries take (the counts are then at most a round old)."""
    now = time.monotonic()
    found: dict[str, list[AggregateRow]] = {}
    if warm_for is None:
        with _cache_lock:
            for name, q in queries.items():
                hit = _cache.get(engine, {}).get(q)
                if hit and now < hit[0]:
                    found[name] = hit[1]
    missing = {name: q for name, q in queries.items() if name not in found}
    if missing:
        with ThreadPoolExecutor(max_workers=min(4, len(missing))) as pool:
            futures = {name: pool.submit(repo.aggregate, engine, query=q)
                       for name, q in missing.items()}
            fresh = {name: f.result() for name, f in futures.items()}
        keep = CACHE_SECONDS if warm_for is None else warm_for
        if keep > 0:
            expires = time.monotonic() + keep
            with _cache_lock:
                mine = _cache.setdefault(engine, {})
                if len(mine) > _CACHE_SIZE:
                    for q in [q for q, (until, _rows) in mine.items() if until <= now]:
                        del mine[q]
                    if len(mine) > _CACHE_SIZE:
                        mine.clear()
                for name, rows in fresh.items():
                    mine[missing[name]] = (expires, rows)
        found.update(fresh)
    return found


def with_filter(query: AggregateQuery, key: str, values: Sequence[Value]) -> AggregateQuery:
    kept = tuple((k, v) for k, v in query.filters if k != key)
    return replace(query, filters=(*kept, (key, tuple(values))))


def org_states(rows: Iterable[AggregateRow], *, service_at: int = 1, org_at: int = 0,
               status_at: int = 2) -> dict[tuple[Any, Any], str]:
    """(org, service) -> "denied" or "open" by the majority of conclusive results."""
    tally: dict[tuple[Any, Any], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        status = r.keys[status_at]
        if status in CONCLUSIVE:
            tally[(r.keys[org_at], r.keys[service_at])][status in DENIED] += r.count
    return {key: "denied" if denied >= ok else "open" for key, (ok, denied) in tally.items()}


@dataclass(slots=True)
class Cell:
    denied: int = 0
    total: int = 0
    shown: bool = True

    @property
    def share(self) -> float | None:
        return self.denied / self.total if self.total and self.shown else None


def share_cells(states: dict[tuple[Any, Any], str], group: Callable[[Any], Any], *, k: int,
                admin: bool) -> dict[tuple[Any, Any], Cell]:
    """(group of org, service) -> share of councils denied, suppressed under k councils."""
    cells: dict[tuple[Any, Any], Cell] = defaultdict(Cell)
    for (org, service), state in states.items():
        cell = cells[(group(org), service)]
        cell.total += 1
        cell.denied += state == "denied"
    for cell in cells.values():
        cell.shown = admin or cell.total >= k
    return dict(cells)


def bucket(share: float | None) -> str:
    """A CSS class for a share: s0 (none) to s10 (all), na when suppressed or unknown."""
    return "na" if share is None else f"s{round(share * 10)}"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)}%"


@dataclass(slots=True)
class Bar:
    label: str
    code: str
    value: float
    text: str
    extra: str = ""


@dataclass(slots=True)
class Chart:
    """A bar chart and the table behind it."""

    title: str
    bars: list[Bar] = field(default_factory=list)
    suppressed: int = 0
    unit: str = "councils"

    @property
    def top(self) -> float:
        return max((b.value for b in self.bars), default=0) or 1


def regroup(rows: Iterable[AggregateRow], at: int, *, org_at: int = 0) -> list[AggregateRow]:
    """Rows grouped by organisation and more keys, grouped by the key at position `at` alone:
    counts summed, organisations counted once each (exactly what the aggregate would answer
    for that key, since every row names one organisation)."""
    counts: dict[Any, int] = defaultdict(int)
    orgs: dict[Any, set[Any]] = defaultdict(set)
    for r in rows:
        counts[r.keys[at]] += r.count
        orgs[r.keys[at]].add(r.keys[org_at])
    return [AggregateRow(keys=(key,), count=n, orgs=len(orgs[key])) for key, n in counts.items()]


def breakdown(title: str, rows: list[AggregateRow], label: Callable[[object], str], *,
              k: int, admin: bool, limit: int = 12) -> Chart:
    """Councils per value (method, product, category) among blocked/restricted results."""
    chart = Chart(title)
    for r in rows:
        if not admin and r.orgs < k:
            chart.suppressed += 1
            continue
        code = r.keys[0]
        chart.bars.append(Bar(label(code), str(code or ""), r.orgs, str(r.orgs),
                              f"{r.count} results"))
    chart.bars.sort(key=lambda b: -b.value)
    del chart.bars[limit:]
    return chart


_demo_seen: dict[int, tuple[float, bool]] = {}


def is_demo(engine: Engine, *, ttl: float = 60.0) -> bool:
    """Whether the latest stored results are synthetic (agent demo-data/...): the 20 most
    recent, read backwards along the (measured_at, id) index (on PostgreSQL from the newest
    partition), and remembered for a minute. (Not `max(day)`: no index has `day` first, so
    that read every partition, seconds at ten million results.)"""
    import sqlalchemy as sa

    from access_probe.collector.store.tables import results

    now = time.monotonic()
    seen = _demo_seen.get(id(engine))
    if seen and now - seen[0] < ttl:
        return seen[1]
    with engine.connect() as conn:
        agents = conn.execute(sa.select(results.c.agent)
                              .order_by(results.c.measured_at.desc(), results.c.id.desc())
                              .limit(20)).scalars().all()
    demo = any((a or "").startswith("demo-data/") for a in agents)
    _demo_seen[id(engine)] = (now, demo)
    return demo
