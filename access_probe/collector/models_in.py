"""What comes in: strict pydantic models of the check document (contract section 2) and the
control request, with every string, list and number bounded.

Unknown fields are ignored (the contract may grow) and never stored: only the fields modelled
here reach the data layer. Status and Layer are closed vocabularies; Method is open ("for
example" in the contract), so any well-formed name is accepted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from access_probe.schema import Layer, Status

MAX_RESULTS = 5000
MAX_CONTROL_URLS = 100

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")]
Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]  # catalogue ids
Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{1,15}$")]
Text64 = Annotated[str, Field(min_length=1, max_length=64)]
Text128 = Annotated[str, Field(min_length=1, max_length=128)]
Ms = Annotated[float, Field(ge=0, le=3_600_000)]
HTTPStatus = Annotated[int, Field(ge=100, le=999)]


def _http_url(url: str) -> str:
    if not url.lower().startswith(("http://", "https://")) or not url.isprintable():
        raise ValueError("must be an http:// or https:// URL")
    return url


@lru_cache(maxsize=4096)  # agents probe the same few hundred URLs every hour
def _parsable(url: str) -> str:
    """A stored URL is cut to scheme, host, port and path: those must parse ('http://[' and
    a port beyond 65535 do not)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValueError("must be a URL whose host and port parse") from None
    return url


def _plausible_time(ts: datetime) -> datetime:
    """Naive times are UTC; a time before the project or a day ahead is a broken clock.
    (Called for every result: plain timestamps, no aware `now()` per call.)"""
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    if not _EARLIEST_TS <= ts.timestamp() <= time.time() + _DAY:
        raise ValueError("time is implausible (before 2020 or in the future)")
    return ts if ts.utcoffset() == _ZERO else ts.astimezone(UTC)


EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)
_EARLIEST_TS = EARLIEST.timestamp()
_DAY = timedelta(days=1).total_seconds()
_ZERO = timedelta(0)
Time = Annotated[datetime, AfterValidator(_plausible_time)]
URL = Annotated[str, Field(min_length=8, max_length=2048), AfterValidator(_http_url)]
# The agent's anonymiser blanks a URL it cannot clean, and names ad-hoc targets by URL.
ResultURL = Annotated[URL, AfterValidator(_parsable)] | Literal[""]
Target = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^[^\s]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True,
                              str_strip_whitespace=False)


class BlockingIn(_Strict):
    layer: Layer
    method: Name
    vendor: Id | None = None
    category: Text128 | None = None


class InterceptionIn(_Strict):
    issuer: Annotated[str, Field(min_length=1, max_length=256)]


class ControlIn(_Strict):
    status: Status | None = None


class EvidenceIn(_Strict):
    route: Literal["direct", "proxy"] = "direct"
    pac: Literal["DIRECT", "PROXY", "HTTPS", "SOCKS", "SOCKS5"] | None = None
    dns: Id | None = None
    tcp: Id | None = None
    tls: Id | None = None
    http: Id | None = None
    http_status: HTTPStatus | None = None
    proxy_status: HTTPStatus | None = None
    fingerprints: Annotated[list[Id], Field(max_length=32, default_factory=list)]


class ResultIn(_Strict):
    id: UUID
    target: Target
    url: ResultURL
    service: Id | None = None
    status: Status
    blocking: BlockingIn | None = None
    interception: InterceptionIn | None = None
    timings_ms: Annotated[dict[Name, Ms], Field(max_length=16, default_factory=dict)]
    control: ControlIn | None = None
    category: Id | None = None
    evidence: EvidenceIn | None = None
    measured_at: Time | None = None

    @model_validator(mode="after")
    def _blocking_matches_status(self) -> ResultIn:
        if self.blocking is not None and self.status not in (Status.BLOCKED, Status.RESTRICTED):
            raise ValueError("blocking must be null unless status is blocked or restricted")
        return self


class ContextIn(_Strict):
    org: Code | None = None
    network: Text64 | None = None
    asn: Annotated[int, Field(ge=0, le=4_294_967_295)] | None = None


class CheckIn(_Strict):
    """A submission: the check document an agent produced (`check --json`), anonymised."""

    schema_: Literal["access-probe/check/1"] = Field(alias="schema")
    started_at: Time
    finished_at: Time
    context: ContextIn
    results: Annotated[list[ResultIn], Field(max_length=MAX_RESULTS)]
    agent: Text64 | None = None


class ControlRequest(_Strict):
    urls: Annotated[list[URL], Field(min_length=1, max_length=MAX_CONTROL_URLS)]

