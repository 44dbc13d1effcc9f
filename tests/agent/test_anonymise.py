"""Nothing identifying leaves the machine: a real block page that names the user and the
client's address is measured, judged, anonymised, spooled and submitted; neither the spool
file nor the bytes the collector received contain the name, the address, the host name or
the login name."""

from __future__ import annotations

import contextlib
import getpass
import re
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from access_probe.agent.anonymise import anonymise, clean_text, clean_url
from access_probe.agent.spool import Spool
from access_probe.agent.submit import Submitter, flush
from access_probe.config import Config
from access_probe.engine.blockpages import Confidence, Match, PageKind
from access_probe.engine.measure import Limits, measure, timings_ms
from access_probe.engine.netenv import NetEnv
from access_probe.schema import (
    Blocking,
    CheckDocument,
    Context,
    Evidence,
    Interception,
    Layer,
    Method,
    Result,
    Status,
    utc_now,
)
from access_probe.verdict import PageFacts, Pages, decide
from tests.servers import serving

from .docs import document
from .stub_collector import TOKEN, StubCollector

USER = "jsmith"


class BlockPage(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        client = self.client_address[0]
        body = (f"<html><head><title>Access Denied</title></head><body>"
                f"<h1>Web Page Blocked</h1><p>Category: Social Networking; User: {USER};"
                f" Client IP: {client}; Machine: {socket.gethostname()}</p>"
                f"<p>Contact {USER}@council.example.gov.uk</p></body></html>").encode()
        self.send_response(403)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Location", f"http://filter.example/block?user={USER}&ip={client}")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def block_server() -> Iterator[str]:
    with serving(BlockPage) as port:
        yield f"http://{USER}:secret@127.0.0.1:{port}/feed?user={USER}#me"


def _category_from(body: bytes) -> str:
    """What a naive fingerprint would lift from the page: everything after 'Category:'."""
    found = re.search(rb"Category: ([^<]*)", body)
    assert found is not None
    return found.group(1).decode()


def judged_document(url: str) -> CheckDocument:
    """The real engine and verdict over the real page; the page facts carry the filter's own
    category text, which here drags the user name and address along."""
    m = measure(url, env=NetEnv.from_config(Config(proxy="none")), limits=Limits(timeout=5))
    hop = m.http[-1]
    assert USER.encode() in hop.body and b"127.0.0.1" in hop.body  # the page really says so
    category = _category_from(hop.body)
    facts = PageFacts(matches=(Match(id="test-filter-block", vendor="squid", kind=PageKind.BLOCK,
                                     category=category, confidence=Confidence.HIGH),))
    verdict = decide(m, control=None, pages=Pages(hops=(facts,)), known_site=True)
    assert verdict.status is Status.BLOCKED
    blocking = verdict.blocking
    assert blocking is not None and blocking.category == category
    result = Result(target=url, url=url, service="facebook", status=verdict.status,
                    blocking=blocking, interception=Interception(issuer=f"{USER} 127.0.0.1"),
                    timings_ms=timings_ms(m), evidence=verdict.evidence,
                    measured_at=m.started_at, category="social")
    return CheckDocument(started_at=m.started_at, finished_at=utc_now(),
                         context=Context(org="E07000223", network="corporate-lan"),
                         results=(result,))


def forbidden_words() -> list[str]:
    return [w for w in (USER, "127.0.0.1", "secret", socket.gethostname(), getpass.getuser())
            if w != "root"]


def whole_word(word: str) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![A-Za-z0-9.])" + re.escape(word.lower().encode())
                      + rb"(?![A-Za-z0-9])")


def forbidden() -> list[re.Pattern[bytes]]:
    """Whole words only: a short host name such as "vm" may occur inside binary data."""
    return [whole_word(w) for w in forbidden_words()]


def leaks(directory: Path) -> list[str]:
    """Forbidden words in the spool on disk: searched in every database row as text (an SQL
    dump, where binary values are hex) and, for words of 4 characters or more, in the raw
    files too (journal, WAL). Two letters such as a host name "vm" occur by chance in raw
    binary pages, so the raw files cannot speak for those."""
    import sqlite3

    rows = []
    for path in directory.glob("*.sqlite3"):
        with contextlib.closing(sqlite3.connect(path)) as db:
            rows.extend(db.iterdump())
    text = "\n".join(rows).lower().encode()
    raw = b"".join(p.read_bytes() for p in directory.iterdir() if p.is_file()).lower()
    return [w for w in forbidden_words()
            if whole_word(w).search(text) or (len(w) >= 4 and whole_word(w).search(raw))]


def test_block_page_identity_never_reaches_spool_or_collector(
        block_server: str, tmp_path: Path, collector: StubCollector) -> None:
    doc = judged_document(block_server)
    path = tmp_path / "spool.sqlite3"
    with Spool(path) as spool:
        assert spool.enqueue(anonymise(doc)) == 1
        assert leaks(tmp_path) == []
        report = flush(spool, Submitter(collector.url, TOKEN))
    assert report.delivered == 1
    sent = b"".join(collector.bodies).lower()
    for word in forbidden():
        assert not word.search(sent), word
    (result,) = collector.stored.values()
    assert result["status"] == "blocked"
    assert result["blocking"]["vendor"] == "squid" and result["blocking"]["category"] is None
    assert result["url"].startswith("http://address.invalid:") and result["url"].endswith("/feed")
    assert "test-filter-block" in result["evidence"]["fingerprints"]


def test_only_allow_listed_fields_survive() -> None:
    doc = anonymise(document(Status.BLOCKED))
    assert set(doc) == {"schema", "started_at", "finished_at", "context", "results", "agent"}
    assert set(doc["context"]) == {"org", "network", "asn"}
    assert set(doc["results"][0]) == {
        "id", "target", "url", "service", "category", "status", "blocking", "interception",
        "timings_ms", "control", "evidence", "measured_at"}
    assert set(doc["results"][0]["evidence"]) == {
        "route", "pac", "dns", "tcp", "tls", "http", "http_status", "proxy_status",
        "fingerprints", "reason"}


def test_pac_decision_travels_without_the_proxy_address() -> None:
    """What PAC decided is kept (DIRECT or PROXY), never where it pointed."""
    for given, kept in (("PROXY", "PROXY"), ("DIRECT", "DIRECT"), ("PROXY 10.1.2.3:8080", None)):
        result = Result(target="x", url="https://x.com/", service="twitter",
                        status=Status.ACCESSIBLE, evidence=Evidence(route="proxy", pac=given))
        now = utc_now()
        doc = anonymise(CheckDocument(started_at=now, finished_at=now, context=Context(),
                                      results=(result,)))
        assert doc["results"][0]["evidence"]["pac"] == kept
        assert "10.1.2.3" not in repr(doc)


def test_filter_category_and_issuer_kept_when_clean() -> None:
    result = Result(target="facebook", url="https://www.facebook.com/?fbclid=x", service="facebook",
                    status=Status.BLOCKED,
                    blocking=Blocking(layer=Layer.HTTP, method=Method.HTTP_BLOCKPAGE,
                                      vendor="fortinet", category="Social Networking"),
                    interception=Interception(issuer="Council Inspection CA"),
                    control={"status": "accessible", "title": "Facebook", "addresses": ["x"]},
                    evidence=Evidence(reason="A FortiGuard block page answered.",
                                      fingerprints=("fortinet-block", "bad id with spaces")))
    out = anonymise(CheckDocument(started_at=utc_now(), finished_at=utc_now(),
                                  context=Context(org="E07000223"), results=(result,)))
    r = out["results"][0]
    assert r["url"] == "https://www.facebook.com/"
    assert r["blocking"]["category"] == "Social Networking"
    assert r["interception"] == {"issuer": "Council Inspection CA"}
    assert r["control"] == {"status": "accessible"}
    assert r["evidence"]["fingerprints"] == ["fortinet-block"]
    assert r["evidence"]["reason"] == "A FortiGuard block page answered."


@pytest.mark.parametrize("text", [
    "User: jsmith", "Blocked for 10.1.2.3", "client fe80::1:2:3", "jane.doe@council.gov.uk",
    "MAC 00:1a:2b:3c:4d:5e", "logged in as J Smith", socket.gethostname(), "x" * 500,
])
def test_identifying_text_is_dropped(text: str) -> None:
    assert clean_text(text) is None


@pytest.mark.parametrize("url, expected", [
    ("https://u:p@www.example.com:443/a/b?q=1#f", "https://www.example.com/a/b"),
    ("http://Example.COM:8080", "http://example.com:8080/"),
    ("https://10.0.0.5/intranet?user=x", "https://address.invalid/intranet"),
    ("ftp://example.com/", ""),
    ("https://[::1]:99999/", ""),
])
def test_clean_url(url: str, expected: str) -> None:
    assert clean_url(url) == expected


def test_real_check_path_keeps_identity_local(block_server: str, tmp_path: Path,
                                              collector: StubCollector) -> None:
    """The same page through check.run_check (engine, block-page matcher, verdict)."""
    from access_probe.catalogue import Catalogue, Endpoint, Role, Service
    from access_probe.engine.check import run_check

    base = block_server.split("@", 1)[1].split("/", 1)[0]
    # A loopback baseline, so the packaged (Internet) baselines are never measured.
    lab = Service(id="lab", name="Lab", category="baseline", endpoints=(
        Endpoint(id="lab", url=f"http://{base}/baseline", role=Role.BASELINE),))
    doc = run_check([block_server], config=Config(proxy="none"),
                    catalogue=Catalogue(services=(lab,)))
    assert [r.status for r in doc.results] == [Status.BLOCKED]
    with Spool(tmp_path / "spool.sqlite3") as spool:
        spool.enqueue(anonymise(doc))
        assert leaks(tmp_path) == []
        assert flush(spool, Submitter(collector.url, TOKEN)).delivered == 1
    sent = b"".join(collector.bodies).lower()
    for word in forbidden():
        assert not word.search(sent), word


def test_leak_detector_finds_a_planted_name(tmp_path: Path) -> None:
    """The spool check above would see a user name or the host name if one were written."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "spool.sqlite3")) as db:
        db.execute("create table t (v text)")
        db.execute("insert into t values (?)", (f"user {USER} on {socket.gethostname()}",))
        db.commit()
    found = leaks(tmp_path)
    assert USER in found and socket.gethostname() in found
