"""A validated submission becomes the rows to store: only allow-listed fields, the URL cut
to scheme, host and path, council facts looked up from the organisation code."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from access_probe.collector.councils import Councils
from access_probe.collector.models_in import CheckIn, ResultIn
from access_probe.collector.store.records import StoredResult


def stored_results(doc: CheckIn, *, org: str, councils: Councils,
                   now: datetime) -> list[StoredResult]:
    council = councils.lookup(org)
    return [
        _stored(result, doc=doc, org=council.code if council else org,
                facts=(council.type, council.nation, council.region) if council else None,
                now=now)
        for result in doc.results
    ]


def _stored(r: ResultIn, *, doc: CheckIn, org: str,
            facts: tuple[str, str, str | None] | None, now: datetime) -> StoredResult:
    measured_at = r.measured_at or doc.finished_at
    council_type, nation, region = facts or (None, None, None)
    return StoredResult(
        id=r.id,
        org=org,
        council_type=council_type,
        nation=nation,
        region=region,
        network=doc.context.network,
        service=r.service,
        category=r.category,
        target=strip_url(r.target) if "://" in r.target else r.target,
        url=strip_url(r.url) if r.url else "",
        status=str(r.status),
        layer=str(r.blocking.layer) if r.blocking else None,
        method=r.blocking.method if r.blocking else None,
        vendor=r.blocking.vendor if r.blocking else None,
        blocking_category=r.blocking.category if r.blocking else None,
        interception_issuer=r.interception.issuer if r.interception else None,
        control_status=r.control.status if r.control else None,
        timings=r.timings_ms,
        evidence=r.evidence.model_dump(mode="json") if r.evidence else None,
        agent=doc.agent,
        measured_at=measured_at,
        day=measured_at.date(),
        hour=measured_at.hour,
        submitted_at=now,
    )


@lru_cache(maxsize=65536)  # agents probe the same few hundred URLs every hour
def strip_url(url: str) -> str:
    """Scheme, host, port and path only: a query string or fragment can carry a person's
    identifiers, and user:password@ certainly does."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", "", ""))
