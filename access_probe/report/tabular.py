"""The same results as JSON (the contract's document) and CSV, for IT and spreadsheets."""

from __future__ import annotations

import csv
import io
import json

from access_probe.schema import CheckDocument, iso

__all__ = ["CSV_COLUMNS", "render_csv", "render_json"]

CSV_COLUMNS = ("id", "measured_at", "service", "target", "url", "status", "layer", "method",
               "vendor", "filter_category", "interception_issuer", "control_status", "reason")


def render_json(doc: CheckDocument) -> str:
    return json.dumps(doc.to_json(), indent=2, sort_keys=False) + "\n"


def render_csv(doc: CheckDocument) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in doc.results:
        b = r.blocking
        writer.writerow([
            r.id, iso(r.measured_at) if r.measured_at else "", r.service or "", r.target,
            r.url, str(r.status), b.layer if b else "", b.method if b else "",
            (b.vendor or "") if b else "", (b.category or "") if b else "",
            r.interception.issuer if r.interception else "",
            (r.control or {}).get("status") or "", r.evidence.reason if r.evidence else "",
        ])
    return out.getvalue()
