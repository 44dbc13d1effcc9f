"""Synthetic demo data: a clearly marked, made-up national picture for trying the dashboard and
for benchmarks (`access-probe collector demo-data`).

Every result is made as an agent would send it, a check document (`CheckIn`) per council,
network and hour, validated by the submissions model and turned into stored rows by the same
`ingest.stored_results` and `repo.ingest` the submissions API calls; only the batching differs
(many documents per transaction). Every document names its agent `demo-data/1`
(`DEMO_AGENT`), which the dashboard reads to say the picture is synthetic.

The picture: each sampled council gets a filtering product and a policy per network (corporate
LAN, staff Wi-Fi, members'/chamber Wi-Fi, public Wi-Fi): services open, blocked (by the
product's method and category), restricted (a warning page), or blocked except at lunchtime
(12:00-13:59 UTC); TikTok is widely blocked on corporate networks, Knowledge Hub rarely; a few
councils change policy part-way through the period. Agents on office networks run 07:00-18:59
on weekdays, the rest every hour. A little noise: unreachable and inconclusive results, and now
and then an offline check. The same seed gives the same ids, so a second run adds nothing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from access_probe.catalogue import Catalogue, Role, packaged_catalogue
from access_probe.collector.councils import Council, Councils
from access_probe.collector.ingest import stored_results
from access_probe.collector.models_in import CheckIn
from access_probe.collector.store import repo
from access_probe.collector.store.records import StoredResult

DEMO_AGENT = "demo-data/1"
NETWORKS = ("corporate-lan", "staff-wifi", "members-wifi", "public-wifi")
LUNCH = range(12, 14)
OFFICE_HOURS = range(7, 19)

# Products as the block-page fingerprints name them: (vendor, layer, method, category label).
PRODUCTS: tuple[tuple[str | None, str, str, str | None, float], ...] = (
    ("smoothwall", "http", "http-blockpage", "Social Networking", 0.20),
    ("netsweeper", "http", "http-blockpage", "Social Networking", 0.12),
    ("fortinet", "http", "http-blockpage", "Social Networking", 0.12),
    ("cisco-umbrella", "dns", "dns-sinkhole", "Social Networking", 0.10),
    ("zscaler", "http", "proxy-denied", "Social Networking", 0.09),
    ("palo-alto", "tls", "tls-reset", None, 0.08),
    ("sophos", "http", "http-blockpage", "Social Networks", 0.07),
    ("forcepoint", "http", "proxy-denied", "Social Web", 0.06),
    ("lightspeed", "http", "http-blockpage", "Social Media", 0.04),
    ("iboss", "http", "http-blockpage", "Social Networking", 0.03),
    (None, "dns", "dns-nxdomain", None, 0.05),
    (None, "tcp", "tcp-reset", None, 0.04),
)
PUBLIC_WIFI_PRODUCTS = (("cisco-umbrella", "dns", "dns-sinkhole", "Social Networking"),
                        (None, "dns", "dns-nxdomain", None))
MAIN_SOCIAL = ("facebook", "twitter", "instagram", "linkedin", "youtube")
OFTEN_BLOCKED = ("tiktok", "reddit", "pinterest", "nextdoor", "whatsapp-web")


@dataclass(frozen=True, slots=True)
class Block:
    vendor: str | None
    layer: str
    method: str
    category: str | None


@dataclass(slots=True)
class Site:
    """One council network: when its agent runs and what it does to each service."""

    council: Council
    network: str
    office_hours: bool
    product: Block
    issuer: str | None
    # service -> "open" | "blocked" | "restricted" | "lunch"; `later` takes over from `change`
    policy: dict[str, str]
    later: dict[str, str] = field(default_factory=dict)
    change: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoCounts:
    councils: int
    sites: int
    documents: int
    accepted: int
    duplicates: int


def sample_councils(known: Councils, n: int, rng: random.Random) -> list[Council]:
    current = sorted({c.code: c for c in known.by_code.values() if c.current}.values(),
                     key=lambda c: c.code)
    return rng.sample(current, min(n, len(current)))


def plan(councils: list[Council], catalogue: Catalogue, rng: random.Random, *,
         start: datetime, end: datetime) -> list[Site]:
    services = [s.id for s in catalogue.services if s.category != "baseline"]
    sites: list[Site] = []
    for council in councils:
        vendor, layer, method, category, _w = rng.choices(
            PRODUCTS, weights=[p[4] for p in PRODUCTS])[0]
        product = Block(vendor, layer, method, category)
        strictness = rng.choices(("open", "social", "strict"), weights=(0.25, 0.45, 0.30))[0]
        corporate = _policy(services, strictness, rng)
        issuer = f"{vendor or 'Council'} inspection CA" if (
            vendor and strictness == "strict" and rng.random() < 0.4) else None
        networks = ["corporate-lan"] + [n for n, p in zip(NETWORKS[1:], (0.6, 0.45, 0.5),
                                                          strict=True) if rng.random() < p]
        for network in networks:
            if network == "corporate-lan":
                policy = dict(corporate)
            elif network == "staff-wifi":
                policy = corporate if rng.random() < 0.5 else _policy(
                    services, {"strict": "social", "social": "open"}.get(strictness, "open"), rng)
            elif network == "members-wifi":
                policy = _policy(services, "open", rng) if rng.random() < 0.7 else dict(corporate)
            else:
                policy = {s: "blocked" if s == "tiktok" and rng.random() < 0.3 else "open"
                          for s in services}
            site_product = product
            if network == "public-wifi":
                site_product = Block(*rng.choice(PUBLIC_WIFI_PRODUCTS))
            site = Site(council=council, network=network, product=site_product,
                        office_hours=network in ("corporate-lan", "staff-wifi"),
                        issuer=issuer if network == "corporate-lan" else None, policy=policy)
            if network == "corporate-lan" and rng.random() < 0.06:
                # A policy change part-way: social media opened up (or, once in a while, shut).
                site.change = start + (end - start) * rng.uniform(0.3, 0.7)
                opened = rng.random() < 0.75
                site.later = {s: ("open" if opened else "blocked") if s in MAIN_SOCIAL else v
                              for s, v in policy.items()}
            sites.append(site)
    return sites


def _policy(services: list[str], strictness: str, rng: random.Random) -> dict[str, str]:
    lunch = strictness == "social" and rng.random() < 0.2
    policy: dict[str, str] = {}
    for service in services:
        if service in ("knowledge-hub", "lga", "govuk-blogs"):
            state = "blocked" if rng.random() < 0.03 else "open"
        elif service == "tiktok":
            state = "open" if rng.random() < 0.15 else "blocked"
        elif strictness == "strict":
            state = "restricted" if rng.random() < 0.1 else "blocked"
            if service in ("linkedin", "eventbrite", "medium", "wordpress-com", "blogger"):
                state = "open" if rng.random() < 0.5 else state
        elif strictness == "social":
            if service in MAIN_SOCIAL or service in OFTEN_BLOCKED:
                state = "lunch" if lunch else rng.choices(
                    ("blocked", "restricted", "open"), weights=(0.55, 0.15, 0.30))[0]
                if service == "linkedin" and rng.random() < 0.6:
                    state = "open"
            else:
                state = "blocked" if rng.random() < 0.1 else "open"
        else:
            state = "blocked" if service in OFTEN_BLOCKED and rng.random() < 0.3 else "open"
        policy[service] = state
    return policy


def documents(sites: list[Site], catalogue: Catalogue, rng: random.Random, *,
              start: datetime, end: datetime) -> Iterator[tuple[Site, dict[str, Any]]]:
    """Check documents (as the submissions model reads them) hour by hour, site by site."""
    targets = [(s.id, s.category, next(e.url for e in s.endpoints if e.role == Role.SITE
                                       or s.category == "baseline"))
               for s in catalogue.services]
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        weekday = hour.weekday() < 5
        for site in sites:
            if site.office_hours and not (weekday and hour.hour in OFFICE_HOURS):
                continue
            at = hour + timedelta(minutes=rng.randrange(60), seconds=rng.randrange(60))
            if at >= end:
                continue
            policy = site.later if site.change and at >= site.change else site.policy
            offline = rng.random() < 0.004
            results = [_result(site, policy, sid, category, url, at, offline, rng)
                       for sid, category, url in targets]
            yield site, {
                "schema": "access-probe/check/1",
                "started_at": at - timedelta(seconds=20), "finished_at": at,
                "context": {"org": site.council.code, "network": site.network, "asn": None},
                "agent": DEMO_AGENT, "results": results,
            }
        hour += timedelta(hours=1)


def _result(site: Site, policy: dict[str, str], service: str, category: str, url: str,
            at: datetime, offline: bool, rng: random.Random) -> dict[str, Any]:
    state = policy.get(service, "open")
    if state == "lunch":
        state = "open" if at.hour in LUNCH else "blocked"
    blocking = None
    if offline:
        status = "offline"
    elif rng.random() < 0.01:
        status = rng.choice(("unreachable", "inconclusive"))
    elif state == "blocked":
        status = "blocked"
        p = site.product
        blocking = {"layer": p.layer, "method": p.method, "vendor": p.vendor,
                    "category": p.category}
    elif state == "restricted":
        status = "restricted"
        blocking = {"layer": "http", "method": "warn-page", "vendor": site.product.vendor,
                    "category": site.product.category}
    else:
        status = "accessible"
    total = round(rng.uniform(40, 400), 1)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "target": service, "url": url, "service": service, "category": category,
        "status": status, "blocking": blocking,
        "interception": {"issuer": site.issuer} if site.issuer and status == "accessible"
        else None,
        "timings_ms": {"dns": round(total / 10, 1), "total": total},
        "control": {"status": "accessible"},
        "measured_at": at,
    }


def load(engine: Engine, known: Councils, *, councils: int = 200, days: int = 14,
         seed: int = 1, end: datetime | None = None, batch: int = 20_000,
         catalogue: Catalogue | None = None,
         progress: Callable[[int, int], None] | None = None) -> DemoCounts:
    """Fill the database: `days` of hourly checks up to `end` (default: now) from `councils`
    sampled councils. Rows go in through ingest in transactions of about `batch` results."""
    catalogue = catalogue or packaged_catalogue()
    rng = random.Random(seed)
    end = end or datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=days)
    chosen = sample_councils(known, councils, rng)
    sites = plan(chosen, catalogue, rng, start=start, end=end)
    pending: list[StoredResult] = []
    docs = accepted = duplicates = 0
    now = datetime.now(UTC)

    def flush() -> None:
        nonlocal accepted, duplicates
        counts = repo.ingest(engine, batch=pending)
        accepted += counts.accepted
        duplicates += counts.duplicates
        pending.clear()
        if progress:
            progress(docs, accepted)

    for site, doc in documents(sites, catalogue, rng, start=start, end=end):
        checked = CheckIn.model_validate(doc)
        pending.extend(stored_results(checked, org=site.council.code, councils=known, now=now))
        docs += 1
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return DemoCounts(councils=len(chosen), sites=len(sites), documents=docs,
                      accepted=accepted, duplicates=duplicates)
