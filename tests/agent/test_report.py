"""The officer's report: plain English, escaped, with history and the unblock request."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from access_probe.report import (
    blocked_chart_svg,
    explain,
    render_csv,
    render_html,
    unblock_request,
    write_reports,
)
from access_probe.report.explain import Standing
from access_probe.report.history import History
from access_probe.schema import Blocking, Layer, Method, Status

from .docs import T0, document, result

ROOT = Path(__file__).resolve().parents[2]


def test_explanations_say_how_and_what_to_ask() -> None:
    blocked = result("facebook", Status.BLOCKED)
    exp = explain(blocked, name="Facebook")
    assert exp.standing is Standing.BLOCKED
    assert "block page" in exp.how and "Squid" in exp.how and "Social Networking" in exp.how
    assert exp.ask is not None and "www.facebook.com" in exp.ask and "Squid" in exp.ask
    reset = result("x", Status.BLOCKED, blocking=Blocking(layer=Layer.TCP, method=Method.TCP_RESET))
    assert "cuts every connection" in explain(reset).how
    assert explain(result("x", Status.UNREACHABLE)).standing is Standing.DOWN
    assert explain(result("x", Status.ACCESSIBLE)).ask is None


def test_unblock_request_names_services_method_and_product() -> None:
    doc = document(Status.BLOCKED, Status.ACCESSIBLE, Status.RESTRICTED)
    text = unblock_request(doc, names={"facebook": "Facebook", "x": "X (Twitter)"})
    assert text is not None
    assert "- Facebook (www.facebook.com): blocked at the HTTP layer (http-blockpage)" in text
    assert "by Squid" in text and "Social Networking" in text
    assert "X (Twitter) (www.x.com): restricted" in text
    assert "youtube" not in text  # the working one is not mentioned
    assert "corporate-lan" in text
    assert unblock_request(document(Status.ACCESSIBLE)) is None


def test_html_escapes_everything_and_shows_history() -> None:
    evil = result("facebook", Status.BLOCKED, blocking=Blocking(
        layer=Layer.HTTP, method=Method.HTTP_BLOCKPAGE, vendor="<b>x</b>",
        category="<script>alert(1)</script>"))
    doc = document(Status.BLOCKED)
    doc = type(doc)(started_at=doc.started_at, finished_at=doc.finished_at,
                    context=doc.context, results=(evil,))
    history = [document(Status.BLOCKED, Status.ACCESSIBLE, at=T0 + timedelta(hours=h))
               for h in range(5)] + [doc]
    page = render_html(doc, history, names={"facebook": "Facebook"})
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page
    assert "Facebook" in page and 'class="badge blocked"' in page
    assert page.count("<rect") == 2 * len(history)
    assert "1 of 1 services blocked" in page


def test_chart_scales_to_the_worst_run() -> None:
    runs = [document(*([Status.BLOCKED] * n), targets=("a", "b", "c", "d"))
            for n in (1, 4, 2)]
    svg = blocked_chart_svg(runs)
    assert "max 4" in svg and svg.startswith("<svg")
    assert blocked_chart_svg([]).startswith("<p>")


def test_csv_has_one_row_per_result() -> None:
    doc = document(Status.BLOCKED, Status.ACCESSIBLE)
    rows = list(csv.DictReader(io.StringIO(render_csv(doc))))
    assert [r["status"] for r in rows] == ["blocked", "accessible"]
    assert rows[0]["vendor"] == "squid" and rows[0]["method"] == "http-blockpage"


def test_write_reports_and_the_report_command(tmp_path: Path) -> None:
    files = write_reports(tmp_path / "a", document(Status.BLOCKED), [document(Status.BLOCKED)])
    assert files.unblock is not None and files.unblock.read_text().startswith("Subject:")
    assert json.loads(files.json.read_text())["schema"] == "access-probe/check/1"
    # the real command, reading the history a run left behind
    data = tmp_path / "data"
    History(data / "history").add(document(Status.BLOCKED, Status.ACCESSIBLE))
    config = tmp_path / "config.yaml"
    config.write_text(f"spool:\n  dir: {data}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "access_probe.cli", "report", "--config",
                           str(config), "--out", str(out)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {"index.html", "results.json", "results.csv",
                                               "unblock-request.txt"}
    assert "Facebook" in (out / "index.html").read_text()


def test_a_service_is_judged_by_its_endpoints() -> None:
    from access_probe.report.explain import service_standing

    assert service_standing([Status.ACCESSIBLE, Status.UNREACHABLE]) is Standing.WORKING
    assert service_standing([Status.UNREACHABLE, Status.UNREACHABLE]) is Standing.DOWN
    assert service_standing([Status.ACCESSIBLE, Status.BLOCKED]) is Standing.BLOCKED
    assert service_standing([Status.RESTRICTED, Status.UNREACHABLE]) is Standing.RESTRICTED
    assert service_standing([Status.UNREACHABLE, Status.INCONCLUSIVE]) is Standing.UNKNOWN
    down = document(Status.UNREACHABLE, targets=("gone",))
    page = render_html(down, [down])
    assert 'class="badge down">site down<' in page and "can&#x27;t tell" not in page
    mixed = type(down)(started_at=down.started_at, finished_at=down.finished_at,
                       context=down.context, results=(
                           result("facebook", Status.ACCESSIBLE),
                           result("facebook", Status.UNREACHABLE, url="https://cdn.fb.example/")))
    assert 'class="badge working"' in render_html(mixed)


def test_unblock_request_has_one_line_per_service() -> None:
    doc = document(Status.BLOCKED, targets=("facebook",))
    two = type(doc)(started_at=doc.started_at, finished_at=doc.finished_at, context=doc.context,
                    results=(result("facebook", Status.BLOCKED),
                             result("facebook", Status.BLOCKED, url="https://static.fb.example/")))
    text = unblock_request(two, names={"facebook": "Facebook"})
    assert text is not None
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    assert lines == ["- Facebook (www.facebook.com, static.fb.example): blocked at the HTTP layer"
                     " (http-blockpage), by Squid, category “Social Networking”"]


def test_history_chart_waits_for_a_second_run_and_footer_names_written_files(
        tmp_path: Path) -> None:
    one = document(Status.ACCESSIBLE)
    assert "Recent checks" not in render_html(one, [one])
    assert "Recent checks" in render_html(one, [one, one])
    files = write_reports(tmp_path, one, [one])
    page = files.html.read_text()
    assert files.unblock is None and "unblock-request.txt" not in page
    assert "Files: results.json, results.csv." in page
