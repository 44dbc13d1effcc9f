"""GET /reports/{org} and signing in: who may read which report, what it says."""

from __future__ import annotations

import re

import httpx

from access_probe.collector import councils
from tests.collector.conftest import ORGS, Collector, auth, document, result

ADUR = ORGS[0]


def _fill(collector: Collector) -> None:
    collector.submit(collector.token(ADUR), document(ADUR, [
        result("blocked", service="facebook"), result(service="twitter"),
        result(service="knowledge-hub", category="collaboration")]))
    collector.submit(collector.token(ADUR), document(ADUR, [result(service="facebook")],
                                                     network="members-wifi"))
    for org in ORGS[1:4]:
        collector.submit(collector.token(org), document(org, [result(service="facebook")]))


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_report_access(collector: Collector) -> None:
    _fill(collector)
    own = collector.token(ADUR)
    page = collector.http.get(f"/reports/{ADUR}", headers=auth(own))
    assert page.status_code == 200 and "Adur District Council" in page.text
    assert "Proxy" not in page.text and "Block page" in page.text and "squid" in page.text
    assert "<td>Social Networking</td>" in page.text  # the block page's category
    assert "whole calendar months" in page.text  # the open hours say what they read
    assert re.search(r'class="no">No</td>', page.text)  # staff cannot reach Facebook
    assert "Unknown" in page.text  # no public Wi-Fi agent
    lower = collector.http.get(f"/reports/{ADUR.lower()}", headers=auth(own))
    assert lower.status_code == 200
    other = collector.http.get(f"/reports/{ORGS[1]}", headers=auth(own))
    assert other.status_code == 403
    assert collector.http.get(f"/reports/{ADUR}").status_code == 401
    bad = collector.http.get(f"/reports/{ADUR}", headers=auth("ap_00000000_" + "x" * 43))
    assert bad.status_code == 401
    admin = collector.token(None, admin=True)
    assert collector.http.get(f"/reports/{ORGS[1]}", headers=auth(admin)).status_code == 200
    assert collector.http.get("/reports/%3Cx%3E", headers=auth(admin)).status_code == 404
    assert collector.http.get(f"/reports/{ADUR}?region=x", headers=auth(own)).status_code == 422


def test_peer_shares_are_suppressed_below_k(collector: Collector) -> None:
    _fill(collector)
    own = collector.token(ADUR)
    # Adur's peers of the same type (non-metropolitan districts): none reported -> dash
    page = collector.http.get(f"/reports/{ADUR}", headers=auth(own)).text
    assert "of 1<" not in page and "of 3<" not in page
    admin = collector.token(None, admin=True)
    page = collector.http.get(f"/reports/{ORGS[1]}", headers=auth(admin)).text
    assert "Westminster" in page


def test_peer_shares_come_from_councils_of_the_same_type(collector: Collector) -> None:
    """Peers are picked from one national question by the council table: three other
    non-metropolitan districts where Facebook works make Adur's 'same type' share."""
    table = councils.load()
    peers = sorted({c.code for c in table.by_code.values()
                    if c.current and c.type == "Non-metropolitan district" and c.code != ADUR})[:3]
    for org in peers:
        collector.submit(collector.token(org), document(org, [result(service="facebook")]))
    _fill(collector)
    page = collector.http.get(f"/reports/{ADUR}", headers=auth(collector.token(ADUR))).text
    assert '100% <span class="note">of 3</span>' in page


def test_sign_in_session_and_sign_out(collector: Collector) -> None:
    _fill(collector)
    own = collector.token(ADUR)
    with httpx.Client(base_url=collector.url, follow_redirects=False) as browser:
        form = browser.get("/signin")
        token = _csrf(form.text)
        assert "httponly" in form.headers["set-cookie"].lower()
        assert "samesite=strict" in form.headers["set-cookie"].lower()
        # no CSRF token, or the wrong one: refused
        assert browser.post("/signin", data={"token": own}).status_code == 403
        assert browser.post("/signin", data={"token": own, "csrf": "x" * 43}).status_code == 403
        cross = browser.post("/signin", data={"token": own, "csrf": token},
                             headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        wrong = browser.post("/signin", data={"token": "nope", "csrf": token})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        done = browser.post("/signin", data={"token": own, "csrf": token})
        assert done.status_code == 303 and done.headers["location"] == f"/reports/{ADUR}"
        cookie = done.headers["set-cookie"].lower()
        assert "ap_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert own not in done.headers["set-cookie"]
        assert browser.get(f"/reports/{ADUR}").status_code == 200
        assert browser.get(f"/reports/{ORGS[1]}").status_code == 403
        assert "Sign out" in browser.get("/").text
        out = browser.post("/signout", data={"csrf": token})
        assert out.status_code == 303
        assert browser.get(f"/reports/{ADUR}").status_code == 401
        # a forged or tampered cookie is nobody
        browser.cookies.set("ap_session", "deadbeef.9999999999.00")
        assert browser.get(f"/reports/{ADUR}").status_code == 401


def test_admin_session_sees_unsuppressed_dashboard(collector: Collector) -> None:
    _fill(collector)
    collector.submit(collector.token(ORGS[4]), document(ORGS[4], [result(service="lonely")]))
    admin = collector.token(None, admin=True)
    assert "lonely" not in collector.http.get("/").text
    with httpx.Client(base_url=collector.url, follow_redirects=True) as browser:
        token = _csrf(browser.get("/signin").text)
        page = browser.post("/signin", data={"token": admin, "csrf": token})
        assert page.status_code == 200 and "Administrator view" in page.text
        assert "lonely" in page.text
