"""What is stored: the records the data layer takes and gives back (logic-free)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredResult:
    """One result as kept: no address, no person, no page text, no query string."""

    id: uuid.UUID
    org: str
    council_type: str | None
    nation: str | None
    region: str | None
    network: str | None
    service: str | None
    category: str | None
    target: str
    url: str
    status: str
    layer: str | None
    method: str | None
    vendor: str | None
    blocking_category: str | None
    interception_issuer: str | None
    control_status: str | None
    timings: dict[str, float]
    evidence: dict[str, Any] | None
    agent: str | None
    measured_at: datetime
    day: date
    hour: int
    submitted_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    id: str
    secret_hash: str
    org: str | None
    admin: bool
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestCounts:
    accepted: int
    duplicates: int
