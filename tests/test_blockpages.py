"""Block-page fingerprints: real and written samples, privacy of categories, validation.

Samples live in tests/fixtures/blockpages/ as raw HTTP responses (status line, headers, blank
line, body). The squid5-* and e2guardian5-* files were served by the real Squid 5.7 and
e2guardian 5.3.5 on a loopback-only network namespace; the rest are written from vendor
documentation (see docs/blockpages.md).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from access_probe.engine import blockpages
from access_probe.engine.blockpages import (
    Confidence,
    FingerprintError,
    Match,
    PageKind,
    clean_category,
    fingerprints,
    load_fingerprints,
    looks_like_block_page,
    match_dns_answer,
    match_page,
)
from access_probe.engine.probe import http as http_probe
from access_probe.engine.probe import proxy as proxy_probe
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import HTTPObservation, ProxyObservation

FIXTURES = Path(__file__).parent / "fixtures" / "blockpages"
USER, ADDRESS = "jsmith", "10.1.2.3"
B, W, A, C, N = (PageKind.BLOCK, PageKind.WARN, PageKind.AUTH, PageKind.CAPTIVE,
                 PageKind.BENIGN)


def parse_raw(raw: bytes) -> tuple[int, str, dict[str, str], bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = raw.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    parts = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body


def http_obs(name: str) -> HTTPObservation:
    status, reason, headers, body = parse_raw((FIXTURES / name).read_bytes())
    return HTTPObservation(url="http://www.facebook.com/", t0=0.0, t=0.1, status=status,
                           reason=reason, headers=headers, location=headers.get("location"),
                           body=body, body_length=len(body))


def proxy_obs(name: str) -> ProxyObservation:
    status, reason, headers, body = parse_raw((FIXTURES / name).read_bytes())
    return ProxyObservation(target="www.facebook.com:443", t0=0.0, t=0.1, status=status,
                            reason=reason, headers=headers, body=body, body_length=len(body))


# file, observed as (http | proxy), expected first match: vendor, kind, category
SAMPLES: list[tuple[str, str, str | None, PageKind, str | None]] = [
    ("squid5-err-access-denied.http", "http", "squid", B, None),
    ("squid5-connect-denied.http", "proxy", "squid", B, None),
    ("squid5-err-cache-access-denied.http", "http", "squid", A, None),
    ("squid5-connect-407.http", "proxy", "squid", A, None),
    ("squid5-deny-info-custom.http", "http", "squid", B, "Social Networking"),
    ("squid5-deny-info-redirect.http", "http", "squid", B, "social-networking"),
    ("squid5-err-read-error.http", "http", "squid", N, None),
    ("squidguard-redirect.http", "http", "squidguard", B, "socialnet"),
    ("squidguard-simple-cgi.http", "http", "squidguard", B, "socialnet"),
    # The package's full squidGuard.cgi, run with perl: it prints the client's address, name
    # and user, which must never become the category.
    ("squidguard-cgi-full.http", "http", "squidguard", B, "socialnet"),
    ("e2guardian5-template.http", "http", "e2guardian", B, "Social Networking"),
    ("e2guardian5-template-user-ip.http", "http", "e2guardian", B, "Social Networking"),
    ("e2guardian5-reportinglevel0.http", "http", "e2guardian", B, None),
    ("e2guardian5-reportinglevel2-redirect.http", "http", "e2guardian", B, "Social Networking"),
    ("e2guardian5-connect-redirect.http", "proxy", "e2guardian", B, None),
    ("e2guardian5-bypass.http", "http", "e2guardian", W, "Social Networking"),
    ("e2guardian4-classic.http", "http", "e2guardian", B, "Social Networking"),
    ("smoothwall-block.http", "http", "smoothwall", B, "Social Networking"),
    ("smoothwall-quota.http", "http", "smoothwall", W, "Social Networking"),
    ("sophos-xg-block.http", "http", "sophos", B, "Social Networking"),
    ("sophos-captive-portal.http", "http", "sophos", A, None),
    ("fortinet-ftgd-block.http", "http", "fortinet", B, "Social Networking"),
    ("fortinet-warning.http", "http", "fortinet", W, "Social Networking"),
    ("fortinet-auth-redirect.http", "http", "fortinet", A, None),
    ("zscaler-block.http", "http", "zscaler", B, "Social Networking"),
    ("zscaler-caution.http", "http", "zscaler", W, "Social Networking"),
    ("zscaler-redirect-block.http", "http", "zscaler", B, "Social Networking"),
    ("zscaler-redirect-caution.http", "http", "zscaler", W, "Streaming Media"),
    ("umbrella-block.http", "http", "cisco-umbrella", B, "Social Networking"),
    ("umbrella-redirect.http", "http", "cisco-umbrella", B, None),
    ("umbrella-warn.http", "http", "cisco-umbrella", W, None),
    ("paloalto-block.http", "http", "palo-alto", B, "social-networking"),
    ("paloalto-continue.http", "http", "palo-alto", W, "streaming-media"),
    ("forcepoint-block.http", "http", "forcepoint", B, None),
    ("forcepoint-blockpage.http", "http", "forcepoint", B, "Social Networking"),
    ("netsweeper-deny.http", "http", "netsweeper", B, None),
    ("censornet-block.http", "http", "censornet", B, None),
    ("lightspeed-block.http", "http", "lightspeed", B, "social.networking"),
    ("iboss-block.http", "http", "iboss", B, "Social Networking"),
    ("barracuda-block.http", "http", "barracuda", B, "Social Networking"),
    ("bluecoat-block.http", "http", "bluecoat", B, "Social Networking"),
    ("sonicwall-block.http", "http", "sonicwall", B, "Social Networking"),
    ("watchguard-block.http", "http", "watchguard", B, "Social Networking"),
    ("watchguard-auth.http", "http", "watchguard", A, None),
    ("mcafee-block.http", "http", "mcafee", B, "Social Networking"),
    ("mcafee-coaching.http", "http", "mcafee", W, "Streaming Media"),
    ("mcafee-auth.http", "http", "mcafee", A, None),
    ("bt-parental-controls.http", "http", "bt", B, None),
    ("sky-broadband-shield.http", "http", "sky", B, None),
    ("virgin-web-safe.http", "http", "virgin-media", B, None),
    ("talktalk-homesafe.http", "http", "talktalk", B, None),
    ("o2-over18.http", "http", "o2", B, None),
    ("ee-content-lock.http", "http", "ee", B, None),
    ("three-restricted.http", "http", "three", B, None),
    ("vodafone-restricted.http", "http", "vodafone", B, None),
    ("uk-court-order.http", "http", None, B, None),
    ("meraki-splash.http", "http", "cisco-meraki", C, None),
    ("aruba-portal.http", "http", "aruba", C, None),
    ("unifi-guest.http", "http", "ubiquiti", C, None),
    ("pfsense-portal.http", "http", "pfsense", C, None),
    ("generic-hotspot.http", "http", None, C, None),
    ("generic-proxy-407.http", "proxy", None, A, None),
    ("cloudflare-challenge.http", "http", "cloudflare", N, None),
    ("cloudflare-attention.http", "http", "cloudflare", N, None),
    ("akamai-denied.http", "http", "akamai", N, None),
    ("cloudfront-error.http", "http", "amazon-cloudfront", N, None),
    ("imperva-incident.http", "http", "imperva", N, None),
    ("google-unusual-traffic.http", "http", "google", N, None),
    ("parking-page.http", "http", None, N, None),
    ("nginx-502.http", "http", None, N, None),
]

ORDINARY = ["ordinary-news-article.http", "ordinary-login-page.http",
            "ordinary-short-forbidden.http"]
UNKNOWN_BLOCKS = ["unknown-filter-block.http", "unknown-filter-block-notitle.http"]


def observe(name: str, as_: str) -> HTTPObservation | ProxyObservation:
    return proxy_obs(name) if as_ == "proxy" else http_obs(name)


@pytest.mark.parametrize(("name", "as_", "vendor", "kind", "category"), SAMPLES,
                         ids=[s[0] for s in SAMPLES])
def test_sample_first_match(name: str, as_: str, vendor: str | None, kind: PageKind,
                            category: str | None) -> None:
    matches = match_page(observe(name, as_))
    assert matches, f"{name} matched nothing"
    first = matches[0]
    assert (first.vendor, first.kind) == (vendor, kind), matches
    categories = [m.category for m in matches if m.category]
    assert (categories[0] if categories else None) == category, matches
    assert looks_like_block_page(observe(name, as_)) is (kind is not PageKind.BENIGN)


def test_every_vendor_in_the_project_file_has_a_matching_sample() -> None:
    project = {fp.vendor for fp in fingerprints() if not fp.id.startswith(("cl-", "cp-"))}
    sampled = {v for _, _, v, _, _ in SAMPLES}
    assert project - sampled == set(), "vendors without a sample"
    required = {"squid", "squidguard", "e2guardian", "smoothwall", "sophos", "fortinet",
                "zscaler", "cisco-umbrella", "palo-alto", "forcepoint", "netsweeper",
                "censornet", "lightspeed", "iboss", "barracuda", "bluecoat", "sonicwall",
                "watchguard", "mcafee", "bt", "sky", "virgin-media", "talktalk", "o2", "ee",
                "three", "vodafone"}
    assert required <= sampled


def test_every_benign_sample_is_not_a_block() -> None:
    for name, as_, _, kind, _ in SAMPLES:
        if kind is PageKind.BENIGN:
            obs = observe(name, as_)
            assert match_page(obs)[0].kind is PageKind.BENIGN, name
            assert not looks_like_block_page(obs), name


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_pages_are_not_blocks(name: str) -> None:
    obs = http_obs(name)
    assert all(m.kind is PageKind.BENIGN for m in match_page(obs)), match_page(obs)
    assert not looks_like_block_page(obs)


@pytest.mark.parametrize("name", UNKNOWN_BLOCKS)
def test_unknown_block_pages_found_by_the_heuristic(name: str) -> None:
    obs = http_obs(name)
    assert match_page(obs) == ()
    assert looks_like_block_page(obs)


def test_news_article_mentions_blocked_and_policy_but_is_long() -> None:
    text = blockpages.visible_text(http_obs("ordinary-news-article.http").body.decode())
    assert "blocked" in text and "policy" in text and "administrator" in text
    assert len(text) > 2500


# ------------------------------------------------------------------ privacy

def _fields(m: Match) -> str:
    return " ".join(str(v) for v in (m.id, m.vendor, m.kind, m.category, m.confidence))


def test_e2guardian_user_and_ip_never_reach_a_match() -> None:
    obs = http_obs("e2guardian5-template-user-ip.http")
    assert USER.encode() in obs.body and ADDRESS.encode() in obs.body
    matches = match_page(obs)
    assert matches and matches[0].vendor == "e2guardian"
    assert matches[0].category == "Social Networking"
    for m in matches:
        assert USER not in _fields(m) and ADDRESS not in _fields(m)


def test_inline_user_and_ip_after_the_category_are_cut() -> None:
    body = (b"<html><head><title>e2guardian - Access Denied</title></head><body>"
            b"Category: Social Networking User: jsmith IP: 10.1.2.3 Group: staff</body></html>")
    obs = HTTPObservation(url="http://x.example/", t0=0, t=0, status=200, body=body)
    assert [m.category for m in match_page(obs)] == ["Social Networking"]


def test_no_sample_leaks_user_or_address() -> None:
    for name, as_, *_ in SAMPLES:
        for m in match_page(observe(name, as_)):
            text = _fields(m)
            assert USER not in text and ADDRESS not in text, (name, m)
            assert not re.search(r"\d+\.\d+\.\d+\.\d+", text), (name, m)


@pytest.mark.parametrize(("raw", "from_url", "expected"), [
    ("Social Networking", False, "Social Networking"),
    ("  <b>Gambling</b>&nbsp; ", False, "Gambling"),
    ("Social+Networking", True, "Social Networking"),
    ("Social%20Networking", True, "Social Networking"),
    ("Social Networking User: jsmith", False, "Social Networking"),
    ("Games IP address: 10.1.2.3", False, "Games"),
    ("10.1.2.3", False, None),
    ("fe80::1", False, None),
    ("jsmith@council.example", False, None),
    ("COUNCIL\\jsmith", False, None),
    ("http://www.facebook.com/", False, None),
    ("-CATEGORIES-", False, None),
    ("", False, None),
    ("x" * 200, False, "x" * 80),
])
def test_clean_category(raw: str, from_url: bool, expected: str | None) -> None:
    assert clean_category(raw, from_url=from_url) == expected


# ------------------------------------------------------------------ decoding and ordering

def test_body_decoded_with_declared_charset() -> None:
    body = "<title>Zugriff verweigert</title><p>e2guardian - Access Denied</p>" \
           "<p>Category: Soziale Netzwerke – Größe</p>"
    obs = HTTPObservation(url="http://x.example/", t0=0, t=0, status=200,
                          headers={"content-type": "text/html; charset=iso-8859-1"},
                          body=body.replace("–", "-").encode("iso-8859-1"))
    assert match_page(obs)[0].category == "Soziale Netzwerke - Größe"


def test_undecodable_bytes_and_unknown_charset_do_not_raise() -> None:
    obs = HTTPObservation(url="http://x.example/", t0=0, t=0, status=403,
                          headers={"content-type": "text/html; charset=x-no-such"},
                          body=b"\xff\xfe Access control configuration prevents your request"
                               b" from being allowed at this time \xc3")
    assert match_page(obs)[0].id == "squid-access-denied-text"


def test_empty_observation_matches_nothing() -> None:
    obs = HTTPObservation(url="http://x.example/", t0=0, t=0)
    assert match_page(obs) == ()
    assert not looks_like_block_page(obs)


def test_order_is_confidence_then_vendor_then_kind() -> None:
    matches = match_page(observe("squid5-err-cache-access-denied.http", "http"))
    ranks = [(["high", "medium", "low"].index(m.confidence), m.vendor is None)
             for m in matches]
    assert ranks == sorted(ranks)
    assert matches[0].confidence is Confidence.HIGH


def test_status_condition_is_honoured() -> None:
    body = b"<html><body>Smoothwall</body></html>"
    ok = HTTPObservation(url="http://x.example/", t0=0, t=0, status=403, body=body)
    moved = HTTPObservation(url="http://x.example/", t0=0, t=0, status=301, body=body)
    assert [m.id for m in match_page(ok)] == ["smoothwall-marker-body"]
    assert match_page(moved) == ()


# ------------------------------------------------------------------ the data

def test_packaged_data_loads_with_unique_ids() -> None:
    fps = fingerprints()
    assert len({fp.id for fp in fps}) == len(fps) > 500
    assert {fp.source.value for fp in fps} == {"citizenlab", "censoredplanet", "vendor-docs",
                                               "project"}


def test_imported_entries_keep_attribution() -> None:
    for fp in fingerprints():
        if fp.id.startswith("cl-"):
            assert fp.source.value == "citizenlab" and fp.ref and "http.csv" in fp.ref
        if fp.id.startswith("cp-"):
            assert fp.source.value == "censoredplanet" and fp.ref and ".json" in fp.ref


def _literal_of(fp: blockpages.Fingerprint) -> str | None:
    """Text the pattern matches as a whole: itself, or a regex with only escaped literals."""
    if not fp.regex:
        return fp.pattern
    text = re.sub(r"\\(.)", r"\1", fp.pattern)
    return text if re.fullmatch(fp.pattern, text) else None


def test_a_pattern_matched_as_text_means_exactly_that_text() -> None:
    """The matcher searches plain patterns as text and compiles them only on demand; the text
    it searches for must be what the pattern, compiled, would match — and every true regular
    expression must be compiled (so validated) at load."""
    as_text = [fp for fp in fingerprints() if blockpages._literal(fp, False) is not None]
    assert len(as_text) > 500
    for fp in fingerprints():
        text = blockpages._literal(fp, False)
        if text is None:
            assert fp.compiled_now is not None, fp.id
            continue
        assert fp.compiled_now is None, fp.id
        pattern = fp.pattern if fp.regex else re.escape(fp.pattern)
        assert re.fullmatch(pattern, text), fp.id
        assert text == _literal_of(fp), fp.id


def _page_for(fp: blockpages.Fingerprint, text: str) -> HTTPObservation:
    """A response holding `text` where the fingerprint looks."""
    status = min(fp.statuses) if fp.statuses else 200
    if fp.where == "body":
        return HTTPObservation(url="http://x.example/", t0=0, t=0, status=status,
                               body=text.encode())
    if fp.where == "headers":
        return HTTPObservation(url="http://x.example/", t0=0, t=0, status=302,
                               headers={"location": "http://gw.example/" + text},
                               location="http://gw.example/" + text)
    name = fp.where.split(":", 1)[1]
    return HTTPObservation(url="http://x.example/", t0=0, t=0, status=status,
                           headers={name: text})


LITERAL_IMPORTS = [(fp, text) for fp in fingerprints() if fp.id.startswith(("cl-", "cp-"))
                   for text in [_literal_of(fp)] if text is not None]


def test_most_imports_are_checked_as_literals() -> None:
    imported = [fp for fp in fingerprints() if fp.id.startswith(("cl-", "cp-"))]
    assert len(LITERAL_IMPORTS) > 0.8 * len(imported)


@pytest.mark.parametrize(("fp", "text"), LITERAL_IMPORTS,
                         ids=[fp.id for fp, _ in LITERAL_IMPORTS])
def test_imported_literal_matches_where_it_was_converted_to_look(
        fp: blockpages.Fingerprint, text: str) -> None:
    assert fp.id in {m.id for m in match_page(_page_for(fp, text))}


def test_dns_sinkhole_answers() -> None:
    assert [m.vendor for m in match_dns_answer(["146.112.61.106", "192.0.2.1"])] == [
        "cisco-umbrella"]
    assert match_dns_answer(["0.0.0.0"])[0].vendor is None
    assert match_dns_answer(["not-an-address", "198.51.100.7"]) == ()


# ------------------------------------------------------------------ validation

GOOD = """\
version: 1
fingerprints:
  - id: test-one
    vendor: squid
    kind: block
    where: body
    pattern: blocked here
    confidence: high
    source: project
"""


def test_minimal_file_is_valid() -> None:
    (fp,) = load_fingerprints(GOOD)
    assert (fp.id, fp.kind, fp.regex, fp.ignore_case) == ("test-one", PageKind.BLOCK, False,
                                                          False)


@pytest.mark.parametrize(("change", "line", "message"), [
    (("    source: project\n", "    source: project\n    colour: red\n"), 10, "unknown key"),
    (("kind: block", "kind: blocked"), 5, "must be one of block, warn"),
    (("where: body", "where: cookie"), 6, "must be one of body"),
    (("pattern: blocked here", "pattern: 'blo(cked'\n    regex: true"), 7,
     "invalid regular expression"),
    (("    source: project\n", "    source: project\n    category: 'Category: (.*)'\n"), 10,
     "named group"),
    (("pattern: blocked here", "pattern: '(?P<category>x)'\n    regex: true"), 7,
     "named groups belong in `category`"),
    (("confidence: high", "confidence: certain"), 8, "must be one of high"),
    (("id: test-one", "id: Test_One"), 3, "lower-case"),
    (("    vendor: squid\n", ""), None, None),
    (("    pattern: blocked here\n", ""), 3, "missing required key `pattern`"),
    (("    source: project\n", "    source: project\n    status: [999]\n"), 10,
     "HTTP status codes"),
    (("    source: project\n", "    source: project\n    regex: yes please\n"), 10,
     "true or false"),
    (("version: 1", "version: 2"), 1, "must be 1"),
])
def test_invalid_files_are_rejected_with_location(change: tuple[str, str], line: int | None,
                                                  message: str | None) -> None:
    text = GOOD.replace(*change)
    if message is None:
        assert load_fingerprints(text)[0].vendor is None
        return
    with pytest.raises(FingerprintError) as info:
        load_fingerprints(text, file="bad.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith(f"bad.yaml:{line}:")


def test_duplicate_ids_are_rejected() -> None:
    text = GOOD + GOOD.split("fingerprints:\n", 1)[1]
    with pytest.raises(FingerprintError, match="duplicate id"):
        load_fingerprints(text, file="dup.yaml")


def test_public_api() -> None:
    assert set(blockpages.__all__) >= {"PageKind", "Match", "match_page",
                                       "looks_like_block_page", "fingerprints"}
    assert {"x-squid-error", "server", "location", "proxy-authenticate"} <= \
        blockpages.used_headers()


# ------------------------------------------------------------------ through the real probes

class ReplayServer:
    """A loopback TCP server answering every connection with one recorded response."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = self._sock.getsockname()[1]

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        for _ in range(50):
            if self._stop.is_set():
                return
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                self._read_request(conn)
                conn.sendall(self._raw)

    @staticmethod
    def _read_request(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk


@pytest.fixture
def ctx() -> Iterator[ProbeContext]:
    yield ProbeContext(timeout=3.0, user_agent="access-probe-test")


@pytest.mark.parametrize(("name", "vendor", "kind"), [
    ("squid5-err-access-denied.http", "squid", B),
    ("squid5-err-cache-access-denied.http", "squid", A),
    ("squid5-deny-info-redirect.http", "squid", B),
    ("e2guardian5-template-user-ip.http", "e2guardian", B),
    ("e2guardian5-reportinglevel2-redirect.http", "e2guardian", B),
])
def test_real_http_probe_observation_matches(name: str, vendor: str, kind: PageKind,
                                             ctx: ProbeContext) -> None:
    with ReplayServer((FIXTURES / name).read_bytes()) as server:
        def dial() -> socket.socket:
            return socket.create_connection(("127.0.0.1", server.port), timeout=2)

        conn = http_probe.Connection(dial(), dial)  # the GET on a proved connection, as measure's
        try:
            obs = http_probe.request(conn, f"http://127.0.0.1:{server.port}/", ctx)
        finally:
            conn.close()
    assert obs.failure is None, obs
    first = match_page(obs)[0]
    assert (first.vendor, first.kind) == (vendor, kind)


@pytest.mark.parametrize(("name", "vendor", "kind"), [
    ("squid5-connect-denied.http", "squid", B),
    ("squid5-connect-407.http", "squid", A),
    ("e2guardian5-connect-redirect.http", "e2guardian", B),
])
def test_real_proxy_probe_observation_matches(name: str, vendor: str, kind: PageKind,
                                              ctx: ProbeContext) -> None:
    with ReplayServer((FIXTURES / name).read_bytes()) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=3)
        obs, tunnel = proxy_probe.connect_tunnel(sock, "www.facebook.com", 443, ctx,
                                                 proxy_url=f"http://127.0.0.1:{server.port}")
    assert tunnel is None and obs.status is not None
    first = match_page(obs)[0]
    assert (first.vendor, first.kind) == (vendor, kind)


def test_fingerprints_are_built_once_however_many_threads_ask() -> None:
    """A check builds them on its prepare thread while the first responses are matched on the
    probe threads: one build, the others wait for it (it used to be one build each)."""
    import threading

    blockpages.release()
    start = threading.Barrier(4)

    def ask() -> None:
        start.wait()
        blockpages.load()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    info = blockpages.fingerprints.cache_info()  # type: ignore[attr-defined]
    assert (info.misses, info.currsize) == (1, 1)
    assert blockpages._families.cache_info().misses == 1  # type: ignore[attr-defined]
