"""The local report for officers: renderers return strings; `write_reports` writes the files.

    reports/index.html          each service working / blocked / restricted / can't tell,
                                how, what to ask IT, a chart of recent runs
    reports/results.json        the latest check document (contract section 2)
    reports/results.csv         one row per result
    reports/unblock-request.txt the ready-to-send request to IT (when something is blocked)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from access_probe.report.explain import Explanation, Standing, explain
from access_probe.report.html import blocked_chart_svg, render_html
from access_probe.report.tabular import render_csv, render_json
from access_probe.report.unblock import unblock_request
from access_probe.schema import CheckDocument

__all__ = [
    "Explanation", "ReportFiles", "Standing", "blocked_chart_svg", "explain", "render_csv",
    "render_html", "render_json", "unblock_request", "write_reports", "write_unblock_request",
]

UNBLOCK_FILE = "unblock-request.txt"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFiles:
    html: Path
    json: Path
    csv: Path
    unblock: Path | None


def _write(path: Path, text: str) -> Path:
    """Atomically, so a browser refreshing the report never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_unblock_request(out_dir: Path, doc: CheckDocument, *,
                          names: Mapping[str, str] | None = None) -> Path | None:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = unblock_request(doc, names=names)
    path = out_dir / UNBLOCK_FILE
    if text is None:
        path.unlink(missing_ok=True)
        return None
    return _write(path, text)


def write_reports(out_dir: Path, doc: CheckDocument, history: Sequence[CheckDocument] = (),
                  *, names: Mapping[str, str] | None = None) -> ReportFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = _write(out_dir / "results.json", render_json(doc))
    csv_path = _write(out_dir / "results.csv", render_csv(doc))
    unblock = write_unblock_request(out_dir, doc, names=names)
    written = [json_path.name, csv_path.name] + ([unblock.name] if unblock else [])
    page = render_html(doc, history, names=names, files=written)
    return ReportFiles(html=_write(out_dir / "index.html", page), json=json_path, csv=csv_path,
                       unblock=unblock)
