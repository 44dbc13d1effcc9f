"""Aggregate questions as pure functions: which keys and filters a query names, and which rows
a caller may see (small-cell suppression). The data layer runs the query; nothing here touches
a database, so the rules are tested on their own.

Suppression: a row counting results from fewer than k distinct organisations is left out of
what a non-administrator sees, and only the number of rows left out is reported. Totals over
other groupings can still narrow such a cell down (differencing); the threshold protects single
councils from being singled out in any one table, which is what the LGA publishes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

# `category` is the catalogue's category of the target; `blocking_category` the category a
# filter's block page states; `interception` "yes" when the TLS certificate was an inspection
# proxy's (an issuer was recorded), else "no".
KEYS = ("service", "category", "org", "council_type", "nation", "region", "network", "status",
        "layer", "method", "vendor", "day", "hour", "blocking_category", "interception")
RANGE = ("since", "until")
MAX_FILTER_VALUES = 50

Value = str | int | date | None


class QueryError(ValueError):
    """A query parameter the aggregate cannot answer; the message says which and why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregateQuery:
    group_by: tuple[str, ...] = ()
    filters: tuple[tuple[str, tuple[Value, ...]], ...] = ()  # key -> any of these values
    since: date | None = None  # inclusive, by the day results were measured (UTC)
    until: date | None = None  # inclusive


@dataclass(frozen=True, slots=True, kw_only=True)
class AggregateRow:
    keys: tuple[Value, ...]  # in the query's group_by order
    count: int
    orgs: int


def parse_query(params: Iterable[tuple[str, str]], *, extra: Sequence[str] = ()) -> AggregateQuery:
    """Read query-string pairs. Unknown parameters are errors, not silently ignored, so a
    typo never returns an unfiltered table. A repeated filter or comma list means any of."""
    group_by: tuple[str, ...] = ()
    filters: dict[str, list[Value]] = {}
    span: dict[str, date] = {}
    for name, raw in params:
        if name == "group_by":
            group_by = _group_keys(raw)
        elif name in KEYS:
            filters.setdefault(name, []).extend(_values(name, raw))
        elif name in RANGE:
            span[name] = _date(name, raw)
        elif name not in extra:
            raise QueryError(f"unknown parameter {name!r}; expected group_by, since, until or "
                             f"one of {', '.join(KEYS)}")
    if any(len(v) > MAX_FILTER_VALUES for v in filters.values()):
        raise QueryError(f"at most {MAX_FILTER_VALUES} values per filter")
    return AggregateQuery(group_by=group_by,
                          filters=tuple((k, tuple(v)) for k, v in filters.items()),
                          since=span.get("since"), until=span.get("until"))


def suppress(rows: Iterable[AggregateRow], *, k: int,
             admin: bool) -> tuple[list[AggregateRow], int]:
    """The rows a caller may see, and how many were left out."""
    rows = list(rows)
    if admin:
        return rows, 0
    kept = [r for r in rows if r.orgs >= k]
    return kept, len(rows) - len(kept)


def row_json(query: AggregateQuery, row: AggregateRow) -> dict[str, str | int | None]:
    doc = {k: v.isoformat() if isinstance(v, date) else v
           for k, v in zip(query.group_by, row.keys, strict=True)}
    doc["count"] = row.count
    doc["orgs"] = row.orgs
    return doc


Describe = Callable[[str], tuple[str | None, str | None]]  # org code -> (name, council type)


def _no_names(_code: str) -> tuple[str | None, str | None]:
    return None, None


def to_csv(query: AggregateQuery, rows: Iterable[AggregateRow], *,
           describe: Describe = _no_names) -> str:
    """The rows as CSV; grouped by `org`, the council's name and type follow its code
    (`org_name`, `org_type`) so a spreadsheet reader need not look codes up."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    at = query.group_by.index("org") + 1 if "org" in query.group_by else None
    header = [*query.group_by, "count", "orgs"]
    if at is not None:
        header[at:at] = ["org_name", "org_type"]
    writer.writerow(header)
    for row in rows:
        cells = [_cell(v) for v in row.keys] + [str(row.count), str(row.orgs)]
        if at is not None:
            cells[at:at] = [_cell(v) for v in describe(str(row.keys[at - 1] or ""))]
        writer.writerow(cells)
    return out.getvalue()


def with_names(rows: Iterable[dict[str, Any]], describe: Describe) -> Iterator[dict[str, Any]]:
    """Raw export rows with `org_name` added from the organisation code."""
    for row in rows:
        row["org_name"] = describe(str(row.get("org") or ""))[0]
        yield row


def rows_csv(header: Sequence[str], rows: Iterable[Mapping[str, object]]) -> Iterable[str]:
    """CSV text line by line, for streamed exports."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(h)) for h in header])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _cell(value: object) -> str:
    """Neutralise spreadsheet formulas: a label such as `=HYPERLINK(...)` stays text."""
    text = "" if value is None else value.isoformat() if isinstance(value, date) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _group_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    unknown = [k for k in keys if k not in KEYS]
    if unknown:
        raise QueryError(f"cannot group by {', '.join(unknown)}; expected any of {', '.join(KEYS)}")
    if len(set(keys)) != len(keys):
        raise QueryError("group_by names a key twice")
    return keys


def _values(name: str, raw: str) -> list[Value]:
    parts = raw.split(",") if raw else [""]
    if name == "day":
        return [_date(name, p) for p in parts]
    if name == "hour":
        return [_hour(p) for p in parts]
    if any(len(p) > 256 for p in parts):
        raise QueryError(f"{name}: value too long")
    return [p or None for p in parts]  # an empty value asks for rows where the key is absent


def _date(name: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise QueryError(f"{name}: expected a date YYYY-MM-DD") from None


def _hour(raw: str) -> int:
    if not (raw.strip().isascii() and raw.strip().isdigit()) or not 0 <= int(raw) <= 23:
        raise QueryError("hour: expected 0 to 23")
    return int(raw)
