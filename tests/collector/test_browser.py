"""The dashboard and the evidence report in a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright; no browser download), against a real collector filled with demo data:
no console errors, charts drawn from the data, filters change them, Tab reaches every control,
stored markup shows as text, sign-in/out, no reading another council's report, and axe-core
finds no serious or critical accessibility violations. Screenshots go to tests/artifacts/.

These tests fail, never skip, when Chromium, Playwright or the axe-core file is missing
(`scripts/setup --dev` fetches axe-core from the npm registry into .cache/).
"""

from __future__ import annotations

import glob
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from access_probe.collector import councils, demo
from access_probe.collector.app import create_app
from access_probe.collector.settings import Settings
from access_probe.collector.store import repo
from tests.collector.conftest import auth, document, make_token, migrate_db, result, running

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
EVIL = '<img src=x onerror="window.__xss=1"><script>__xss=2</script>'
EVIL_CATEGORY = '<b onmouseover="window.__xss=3">Social</b>'


class Site:
    def __init__(self, url: str, db_url: str, orgs: list[str]) -> None:
        self.url = url
        self.db_url = db_url
        self.orgs = orgs
        self.admin = make_token(db_url, None, admin=True)
        self.own = make_token(db_url, orgs[0])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'demo.sqlite3'}"
    migrate_db(db_url)
    engine = repo.make_engine(db_url)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    demo.load(engine, councils.load(), councils=12, days=3, seed=3, end=end)
    with engine.connect() as conn:
        orgs = list(conn.execute(sa.text("SELECT DISTINCT org FROM results ORDER BY org"))
                    .scalars())
    engine.dispose()
    with running(create_app(replace(Settings(db_url=db_url), k=3))) as url:
        # Markup in a network label and a block page's category, from three councils.
        for org in orgs[:3]:
            token = make_token(db_url, org)
            blocked = result("blocked", service="example-forum")
            blocked["blocking"]["category"] = EVIL_CATEGORY
            httpx.post(f"{url}/api/v1/submissions", headers=auth(token), timeout=30,
                       json=document(org, [blocked], network=EVIL)).raise_for_status()
        yield Site(url, db_url, orgs)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which("chromium") is None or not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium (/usr/bin/chromium) is needed for the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is needed: scripts/setup --dev")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--disable-background-networking"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    found = sorted(glob.glob(str(ROOT / ".cache" / "axe-core-*" / "axe.min.js")))
    if not found:
        pytest.fail("axe-core is missing: run scripts/setup --dev (it fetches axe-core from "
                    "the npm registry into .cache/)")
    return Path(found[-1]).read_text(encoding="utf-8")


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, **headers: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           extra_http_headers=headers or None)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser)
    yield page
    page.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page: Any, source: str) -> list[str]:
    # The page's CSP forbids scripts; Playwright's evaluate runs outside it.
    page.evaluate(source)
    report = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, n: v.nodes.length,
            first: v.nodes[0] && v.nodes[0].target.join(' ')}));
    }""")
    return [f"{v['id']} ({v['impact']}, {v['n']} nodes, e.g. {v['first']})" for v in report
            if v["impact"] in ("serious", "critical")]


def headline(page: Any) -> list[str]:
    return page.locator("#chart-headline svg .bar title").all_text_contents()


def test_dashboard_renders_charts_accessibly(site: Site, tab: Page, axe_source: str) -> None:
    response = tab.page.goto(site.url + "/")
    assert response is not None and response.status == 200
    assert tab.page.title().startswith("access-probe")
    bars = tab.page.locator("#chart-headline svg rect")
    assert bars.count() >= 10  # one bar per service with enough councils
    widths = [float(bars.nth(i).get_attribute("width") or 0) for i in range(bars.count())]
    assert max(widths) > 0
    assert tab.page.locator("#heatmap tbody tr").count() >= 10
    assert tab.page.locator("#chart-trend polyline").count() == 1
    assert tab.page.locator("#chart-hours circle").count() >= 10
    assert "Demonstration data" in tab.page.inner_text("body")
    assert "Facebook" in tab.page.inner_text("#heatmap")
    assert "govuk" not in tab.page.inner_text("#heatmap").lower()  # baselines are no service
    shot(tab.page, "dashboard")
    assert tab.errors == []
    assert axe_violations(tab.page, axe_source) == []


def test_a_filter_changes_the_charts(site: Site, tab: Page) -> None:
    tab.page.goto(site.url + "/")
    before = headline(tab.page)
    tab.page.select_option("#f-network", "corporate-lan")
    tab.page.select_option("#f-by", "nation")
    with tab.page.expect_navigation():
        tab.page.click("button[type=submit]")
    assert "network=corporate-lan" in tab.page.url
    after = headline(tab.page)
    assert after and after != before
    assert tab.page.locator("#f-network").input_value() == "corporate-lan"
    assert "England" in tab.page.inner_text("#heatmap thead")
    shot(tab.page, "dashboard-filtered")
    assert tab.errors == []


def test_tab_reaches_every_control(site: Site, tab: Page) -> None:
    tab.page.goto(site.url + "/")
    controls = tab.page.evaluate("""() => Array.from(document.querySelectorAll(
        'a[href], select, button, input:not([type=hidden]), summary, [tabindex="0"]'))
        .filter(e => e.getClientRects().length
                && !(e.tagName !== 'SUMMARY' && e.closest('details:not([open])'))).length""")
    reached = set()
    for _ in range(controls + 5):
        tab.page.keyboard.press("Tab")
        reached.add(tab.page.evaluate("""() => { const e = document.activeElement;
            const all = Array.from(document.querySelectorAll(
              'a[href], select, button, input:not([type=hidden]), summary, [tabindex="0"]'));
            return all.indexOf(e); }"""))
    reached.discard(-1)
    missed = tab.page.evaluate("""(reached) => Array.from(document.querySelectorAll(
        'a[href], select, button, input:not([type=hidden]), summary, [tabindex="0"]'))
        .filter((e, i) => e.getClientRects().length && !reached.includes(i)
                && !(e.tagName !== 'SUMMARY' && e.closest('details:not([open])')))
        .map(e => e.outerHTML.slice(0, 80))""", sorted(reached))
    assert missed == []
    assert len(reached) == controls
    # The skip link comes first and is shown when focused.
    tab.page.goto(site.url + "/")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.className") == "skip"
    assert tab.errors == []


def test_stored_markup_is_shown_as_text(site: Site, browser: Any) -> None:
    page = Page(browser, Authorization=f"Bearer {site.admin}")
    try:
        page.page.goto(site.url + "/")
        assert page.page.evaluate("window.__xss") is None
        assert EVIL in page.page.inner_text("#networks thead")
        options = page.page.locator("#f-network option").all_text_contents()
        assert EVIL in options
        page.page.goto(f"{site.url}/reports/{site.orgs[0]}")
        assert EVIL_CATEGORY in page.page.inner_text("main")
        page.page.hover("main")
        assert page.page.evaluate("window.__xss") is None
        assert page.page.locator("main img, main b").count() == 0
        shot(page.page, "report-with-markup")
        assert page.errors == []
    finally:
        page.close()


def test_admin_sign_in_and_out(site: Site, tab: Page) -> None:
    tab.page.goto(site.url + "/")
    assert "Administrator view" not in tab.page.inner_text("main")
    tab.page.click("text=Sign in")
    tab.page.fill("#token", site.admin)
    with tab.page.expect_navigation():
        tab.page.click("main button[type=submit]")
    assert "Administrator view" in tab.page.inner_text("main")
    cookies = {c["name"]: c for c in tab.context.cookies()}
    assert cookies["ap_session"]["httpOnly"] and cookies["ap_session"]["sameSite"] == "Strict"
    assert site.admin not in cookies["ap_session"]["value"]
    assert tab.page.evaluate("document.cookie") == ""  # nothing readable by script
    shot(tab.page, "dashboard-admin")
    with tab.page.expect_navigation():
        tab.page.click("text=Sign out")
    assert "Administrator view" not in tab.page.inner_text("main")
    assert tab.page.locator("text=Sign in").count() == 1
    assert tab.errors == []


def test_council_report_for_its_own_token_only(site: Site, tab: Page, axe_source: str) -> None:
    tab.page.goto(site.url + "/signin")
    tab.page.fill("#token", site.own)
    with tab.page.expect_navigation():
        tab.page.click("main button[type=submit]")
    assert tab.page.url.endswith(f"/reports/{site.orgs[0]}")
    name = councils.load().lookup(site.orgs[0])
    assert name is not None and tab.page.locator("h1").inner_text() == name.name
    checklist = tab.page.locator("#checklist tbody tr")
    assert checklist.count() == 4
    answers = {tab.page.locator("#checklist tbody tr td").nth(2 * i).inner_text()
               for i in range(4)}
    assert answers <= {"Yes", "No", "Unknown"}
    assert tab.page.locator("#reach-staff tbody tr").count() >= 10
    shot(tab.page, "report")
    assert tab.errors == []
    assert axe_violations(tab.page, axe_source) == []
    tab.page.emulate_media(media="print")
    shot(tab.page, "report-print")
    tab.page.emulate_media(media="screen")
    other = tab.page.goto(f"{site.url}/reports/{site.orgs[1]}")
    assert other is not None and other.status == 403
    other_name = councils.load().lookup(site.orgs[1])
    assert other_name is not None and other_name.name not in tab.page.content()
