"""The dashboard at GET /: suppressed public view, everything escaped; rendered by a real
headless Chromium against a real server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.collector.conftest import ORGS, Collector, document, result

EVIL = '<script>document.title="pwned"</script>'


def _fill(collector: Collector) -> None:
    for org in ORGS[:3]:
        collector.submit(collector.token(org), document(org, [result("blocked")], network=EVIL))
    collector.submit(collector.token(ORGS[3]), document(ORGS[3], [result(service="lonely")]))


def test_dashboard_escapes_and_suppresses(collector: Collector) -> None:
    _fill(collector)
    page = collector.http.get("/", params={"network": EVIL}).text
    assert EVIL not in page  # in the filter form and the network table, always escaped
    assert page.count("&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;") == 2
    assert "squid" in page and "lonely" not in page  # one organisation: suppressed
    assert "row(s) suppressed" in page
    assert collector.http.get("/?group_by=bogus").status_code == 422


@pytest.mark.browser
def test_dashboard_in_headless_chromium(collector: Collector, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is needed for this test")
    _fill(collector)
    url = f"{collector.url}/?network={EVIL}"
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True, timeout=60, check=True).stdout.decode()
    assert "<title>access-probe: reachability from UK council networks</title>" in dom
    assert "pwned" not in dom.split("</title>")[0]  # the script never ran
    assert "Status by service" in dom and "facebook" in dom and "<svg" in dom
    assert "&lt;script&gt;" in dom
