"""The dashboard at GET /: names not codes, suppressed public view, everything escaped. The
pages in a real Chromium: tests/collector/test_browser.py."""

from __future__ import annotations

from tests.collector.conftest import ORGS, Collector, document, result

EVIL = '<script>document.title="pwned"</script>'


def _fill(collector: Collector) -> None:
    for org in ORGS[:3]:
        collector.submit(collector.token(org), document(org, [
            result("blocked"), result(service="govuk", category="baseline")], network=EVIL))
    collector.submit(collector.token(ORGS[3]), document(ORGS[3], [result(service="lonely")]))


def test_dashboard_escapes_names_and_suppresses(collector: Collector) -> None:
    _fill(collector)
    response = collector.http.get("/")
    page = response.text
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert EVIL not in page
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in page
    assert "Facebook" in page and "100%" in page  # names, and all three block it
    assert "lonely" not in page  # one organisation: not even named
    assert "GOV.UK</span>" not in page  # a baseline is no service
    assert "squid" in page
    assert ">none<" not in page
    page = collector.http.get("/", params={"network": EVIL}).text
    assert EVIL not in page and "Facebook" in page
    assert collector.http.get("/", params={"network": "nowhere"}).status_code == 200


def test_dashboard_refuses_bad_parameters(collector: Collector) -> None:
    for params in ({"group_by": "org"}, {"bogus": "1"}, {"period": "x"}, {"by": "org"},
                   {"status": "blocked"}, {"since": "yesterday"}):
        assert collector.http.get("/", params=params).status_code == 422, params


def test_dashboard_csv_has_codes_names_and_suppression(collector: Collector) -> None:
    _fill(collector)
    response = collector.http.get("/dashboard.csv", params={"by": "nation"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "service,service_name,nation,councils_blocked_or_restricted,councils,share"
    # England two councils, Scotland and Wales one: every cell is below k for the public
    assert lines[1:] == []
    admin = collector.token(None, admin=True)
    full = collector.http.get("/dashboard.csv", params={"by": "nation"},
                              headers={"Authorization": f"Bearer {admin}"}).text.splitlines()
    assert "facebook,Facebook,England,2,2,1.0" in full and not any("govuk" in x for x in full)
    assert any(x.startswith("lonely,lonely,Wales") for x in full)
    assert collector.http.get("/dashboard.csv", params={"by": "org"}).status_code == 422
