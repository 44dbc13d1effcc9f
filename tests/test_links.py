"""Links in pasted free text: found, cleaned, de-duplicated; and `check --links-from`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from access_probe.links import clean_link, find_links
from tests.servers import Page, WebServer

ROOT = Path(__file__).resolve().parents[1]

POST = """\
Hi all — great session today! Slides are on the hub (https://khub.net/group/comms/slides).
Also worth a read: https://www.gov.uk/guidance/social-media-use?utm_source=khub&utm_medium=email,
and the case study at <https://www.youtube.com/watch?v=abc123&feature=share#t=30>.
Our page: www.facebook.com/OurCouncil. Repeat: https://KHUB.net/group/comms/slides.
Markdown too: [the toolkit](https://example.org/toolkit_(2024)) "https://x.com/council".
Outlook wrapped this one: https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.linkedin.com%2Fcompany%2Flga%3Ffbclid%3Dabc&data=05%7C01
Broken: http://256.1.1.1/admin and http://[::1 and ftp://files.example.org/
"""


def test_every_link_in_a_post_found_cleaned_and_once() -> None:
    found = find_links(POST)
    assert found.links == (
        "https://khub.net/group/comms/slides",
        "https://www.gov.uk/guidance/social-media-use",
        "https://www.youtube.com/watch?v=abc123&feature=share",
        "https://www.facebook.com/OurCouncil",
        "https://example.org/toolkit_(2024)",
        "https://x.com/council",
        "https://www.linkedin.com/company/lga",
    )
    skipped = dict(found.skipped)
    assert "256.1.1.1" in skipped["http://256.1.1.1/admin"]
    assert len(found.skipped) == 2  # ftp:// is not a web link at all: not even a candidate


def test_clean_link_keeps_what_matters() -> None:
    assert clean_link("https://Example.ORG/a?id=7&utm_campaign=x&gclid=1#top") == \
        "https://example.org/a?id=7"
    assert clean_link("http://example.org") == "http://example.org/"
    assert find_links("no links here, just www and http talk").links == ()


def test_check_links_from_stdin_checks_each_link(tmp_path: Path) -> None:
    with WebServer({"/a": Page.html("A"), "/b": Page.html("B"), "/base": Page.html("Base")}) \
            as web:
        base = f"http://127.0.0.1:{web.port}"
        (tmp_path / "targets.yaml").write_text(
            "version: 1\nservices:\n  - id: lab\n    category: baseline\n"
            f"    endpoints: ['{base}/base']\n")
        (tmp_path / "config.yaml").write_text(
            f"targets: {tmp_path / 'targets.yaml'}\nproxy: none\n"
            f"spool:\n  dir: {tmp_path / 'data'}\n")
        text = f"See {base}/a, and ({base}/b?utm_source=x). Again: {base}/a.\n"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
        proc = subprocess.run(
            [sys.executable, "-m", "access_probe", "check", "--links-from", "-", "--json",
             "--no-submit", "--config", str(tmp_path / "config.yaml")],
            input=text, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert [r["url"] for r in doc["results"]] == [f"{base}/a", f"{base}/b"]
        assert {r["status"] for r in doc["results"]} == {"accessible"}
        # ... and the report reads the same run from the local history
        report = subprocess.run(
            [sys.executable, "-m", "access_probe", "report", "--out", str(tmp_path / "r"),
             "--config", str(tmp_path / "config.yaml")], env=env, capture_output=True,
            text=True, timeout=60, cwd=tmp_path)
        assert report.returncode == 0, report.stderr
        shown = json.loads((tmp_path / "r" / "results.json").read_text())
        assert [r["url"] for r in shown["results"]] == [f"{base}/a", f"{base}/b"]
