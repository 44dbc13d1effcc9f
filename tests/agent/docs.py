"""Hand-made check documents for the agent's tests (the shapes check.py produces)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from access_probe.schema import (
    Blocking,
    CheckDocument,
    Context,
    Evidence,
    Layer,
    Method,
    Result,
    Status,
)

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def result(target: str = "facebook", status: Status = Status.ACCESSIBLE,
           at: datetime = T0, **kw: object) -> Result:
    blocking = None
    if status in (Status.BLOCKED, Status.RESTRICTED):
        blocking = Blocking(layer=Layer.HTTP, method=Method.HTTP_BLOCKPAGE, vendor="squid",
                            category="Social Networking")
    fields: dict[str, object] = {
        "target": target, "url": f"https://www.{target}.com/", "service": target,
        "status": status, "blocking": blocking, "category": "social", "measured_at": at,
        "timings_ms": {"dns": 1.0, "total": 5.0}, "control": {"status": "accessible"},
        "evidence": Evidence(reason="The page is a filter's block page.", fingerprints=(
            "squid-err-access-denied",)) if blocking else Evidence(),
    }
    fields.update(kw)
    return Result(**fields)  # type: ignore[arg-type]


def document(*statuses: Status, at: datetime = T0, org: str | None = "E07000223",
             targets: tuple[str, ...] = ("facebook", "youtube", "x", "linkedin")
             ) -> CheckDocument:
    statuses = statuses or (Status.ACCESSIBLE,)
    results = tuple(result(targets[i % len(targets)], s, at) for i, s in enumerate(statuses))
    return CheckDocument(started_at=at, finished_at=at + timedelta(seconds=4),
                         context=Context(org=org, network="corporate-lan"), results=results,
                         agent="access-probe/0.1.0")
