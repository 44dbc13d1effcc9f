"""What goes out: the response bodies of the JSON endpoints (contract section 4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class SubmissionOut(BaseModel):
    accepted: int
    duplicates: int


class ControlOut(BaseModel):
    results: list[dict[str, Any]]


class AggregateOut(BaseModel):
    rows: list[dict[str, str | int | None]]
    suppressed: int
    k: int


class HealthOut(BaseModel):
    status: str
    database: bool


class Problem(BaseModel):
    detail: str
