"""POST /api/v1/control: measurements from the collector, and the SSRF attempts it refuses.

The "public Internet" of these tests is 127.0.0.1, opened with --control-allow as a lab
network; 127.0.0.3 stands for an internal service the collector must never reach. A recording
server listens there, so a refusal that let a connection through would be seen.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network

import pytest

from access_probe.collector.control import refusal
from access_probe.engine.control import fetch_controls
from access_probe.engine.netenv import NetEnv
from tests.collector.conftest import Collector, auth
from tests.servers import Answer, DNSServer, Page, SilentServer, WebServer

INTERNAL = "127.0.0.3"
LAB = (ip_network("127.0.0.1/32"),)


class _Recording(ThreadingHTTPServer):
    daemon_threads = True
    hits: int = 0


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.hits += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"internal secrets")

    def log_message(self, *_args: object) -> None:
        pass


@contextlib.contextmanager
def internal_service() -> Iterator[_Recording]:
    server = _Recording((INTERNAL, 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def internal() -> Iterator[_Recording]:
    with internal_service() as server:
        yield server


def lab_env(dns: DNSServer) -> NetEnv:
    return NetEnv(resolver=dns.address, nameservers=(dns.address,), dns_port=dns.port)


def control(collector: Collector, *urls: str, token: str | None = None) -> list[dict[str, object]]:
    answer = collector.http.post("/api/v1/control", json={"urls": list(urls)},
                                 headers=auth(token or collector.token()))
    assert answer.status_code == 200, answer.text
    results: list[dict[str, object]] = answer.json()["results"]
    return results


@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "127.0.0.1",
    "0.0.0.0", "224.0.0.1", "255.255.255.255", "240.0.0.1", "198.51.100.7", "203.0.113.9",
    "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "2001:db8::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::a00:1", "not-an-ip"])
def test_guard_refuses_every_non_global_address(address: str) -> None:
    assert refusal(address) is not None
    assert address not in (refusal(address) or "")  # the reason never echoes the address


def test_guard_allows_public_and_lab_addresses() -> None:
    assert refusal("8.8.8.8") is None and refusal("2606:4700::1111") is None
    assert refusal("198.51.100.7", (ip_network("198.51.100.0/24"),)) is None
    assert refusal("198.51.100.7", (ip_network("2001:db8::/32"),)) is not None


def test_lab_site_is_measured_and_cached(make_collector: Callable[..., Collector]) -> None:
    with WebServer({"/": Page.html("Hello lab")}) as web, \
            DNSServer({"site.test": Answer.a(web.address)}) as dns:
        collector = make_collector(control_allow=LAB, netenv=lab_env(dns))
        url = web.url("/")
        (first,) = control(collector, url)
        (again,) = control(collector, url)
    assert first["status"] == "accessible"
    page = Page.html("Hello lab").body
    assert first["http"] == {"status": 200, "title": "Hello lab", "body_length": len(page),
                             "failure": None, "server": first["http"]["server"]}  # type: ignore[index]
    assert first["dns"]["addresses"] == ["127.0.0.1"]  # type: ignore[index]
    assert again == first and len(web.requests) == 1  # the second answer came from the cache


def test_refuses_loopback_literal_and_localhost(make_collector: Callable[..., Collector],
                                                internal: _Recording) -> None:
    # "localhost" is answered by the test's own nameserver, so no lookup leaves the machine.
    with DNSServer({"localhost": Answer.a("127.0.0.1")}) as dns:
        collector = make_collector(netenv=lab_env(dns))
        port = internal.server_address[1]
        answers = control(collector, f"http://{INTERNAL}:{port}/", f"http://localhost:{port}/",
                          f"http://[::ffff:{INTERNAL}]:{port}/")
    assert all("not globally routable" in str(a.get("refused")) for a in answers), answers
    assert internal.hits == 0


def test_refuses_a_name_that_resolves_internal(make_collector: Callable[..., Collector],
                                               internal: _Recording) -> None:
    """DNS rebinding: whatever the name said before, the answer used now is internal."""
    with DNSServer({"rebind.test": Answer.a(INTERNAL),
                    "mixed.test": Answer.a("127.0.0.1", INTERNAL)}) as dns:
        collector = make_collector(control_allow=LAB, netenv=lab_env(dns))
        port = internal.server_address[1]
        answers = control(collector, f"http://rebind.test:{port}/", f"http://mixed.test:{port}/")
    assert [a.get("refused") is not None for a in answers] == [True, True], answers
    assert internal.hits == 0


def test_refuses_redirects_to_internal(make_collector: Callable[..., Collector],
                                       internal: _Recording) -> None:
    port = internal.server_address[1]
    routes = {"/literal": Page.redirect(f"http://{INTERNAL}:{port}/"),
              "/name": Page.redirect(f"http://rebind.test:{port}/"),
              "/v6": Page.redirect(f"http://[::1]:{port}/")}
    with WebServer(routes) as web, DNSServer({"site.test": Answer.a(web.address),
                                              "rebind.test": Answer.a(INTERNAL)}) as dns:
        collector = make_collector(control_allow=LAB, netenv=lab_env(dns))
        answers = control(collector, *(web.url(path) for path in routes))
    assert all(a.get("refused") for a in answers), answers
    assert len(web.requests) == 3 and internal.hits == 0


def test_catalogue_only_refuses_other_hosts_before_any_lookup(
        make_collector: Callable[..., Collector]) -> None:
    with DNSServer({"site.test": Answer.a("127.0.0.1")}) as dns:
        collector = make_collector(catalogue_only=True, control_allow=LAB, netenv=lab_env(dns))
        (answer,) = control(collector, "http://site.test/")
    assert "catalogue" in str(answer["refused"]) and dns.queries == []


def test_control_rate_limit_counts_measurements(make_collector: Callable[..., Collector]) -> None:
    with WebServer() as web, DNSServer({"site.test": Answer.a(web.address)}) as dns:
        collector = make_collector(control_allow=LAB, netenv=lab_env(dns),
                                   control_per_minute=1, control_burst=2)
        token = collector.token()
        control(collector, web.url("/a"), web.url("/b"), token=token)
        control(collector, web.url("/a"), "http://127.0.0.3/", token=token)  # cached, refused
        limited = collector.http.post("/api/v1/control", json={"urls": [web.url("/c")]},
                                      headers=auth(token))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_deadline_bounds_the_answer(make_collector: Callable[..., Collector]) -> None:
    with SilentServer() as silent:
        collector = make_collector(control_allow=LAB, control_deadline_seconds=0.5)
        started = time.monotonic()
        (answer,) = control(collector, f"http://127.0.0.1:{silent.port}/")
        elapsed = time.monotonic() - started
    assert answer["status"] == "inconclusive" and "time" in str(answer["error"])
    assert elapsed < 5


@pytest.mark.parametrize("body", [{"urls": []}, {"urls": "http://a.example/"},
                                  {"urls": ["ftp://a.example/"]}, {"url": ["http://a/"]},
                                  {"urls": [f"http://a.example/{i}" for i in range(101)]}])
def test_bad_control_requests_422(collector: Collector, body: object) -> None:
    answer = collector.http.post("/api/v1/control", json=body, headers=auth(collector.token()))
    assert answer.status_code == 422


def test_agent_client_reads_the_answers(make_collector: Callable[..., Collector]) -> None:
    with WebServer({"/": Page.html("Hello lab"), "/gone": Page.html("Oops", status=503)}) as web, \
            DNSServer({"site.test": Answer.a(web.address)}) as dns:
        collector = make_collector(control_allow=LAB, netenv=lab_env(dns))
        urls = [web.url("/"), web.url("/gone"), "http://10.0.0.1/"]
        controls = fetch_controls(urls, url=collector.url, token=collector.token(), timeout=20)
    ok, gone, refused = (controls[u] for u in urls)
    assert ok.usable and ok.status == "accessible" and ok.http and ok.http.title == "Hello lab"
    assert gone.status == "unreachable" and gone.http and gone.http.status == 503
    assert refused.refused and not refused.usable


def test_every_spelling_of_an_internal_address_is_refused(
        make_collector: Callable[..., Collector], internal: _Recording) -> None:
    # 127.0.0.3 written as the C library's inet_aton would also read it, IPv6 forms that
    # embed it, a zone id and a trailing dot: none may reach the internal service.
    port = internal.server_address[1]
    spellings = ["2130706435", "0x7f000003", "0x7f.0.0.3", "0177.0.0.3", "127.3", "127.0.3",
                 "127.0.0.3.", "[::ffff:7f00:3]", "[::ffff:127.0.0.3]", "[64:ff9b::7f00:3]",
                 "[::127.0.0.3]", "[fe80::1%25lo]"]
    with DNSServer({}) as dns:
        collector = make_collector(netenv=lab_env(dns))
        answers = control(collector, *(f"http://{s}:{port}/" for s in spellings))
    assert len(answers) == len(spellings)
    assert all(a.get("refused") or a.get("status") != "accessible" for a in answers), answers
    assert internal.hits == 0


@pytest.mark.parametrize("url", ["http://[", "http://[::1", "https://[zz]/", "http://a:99999/",
                                 "http://%zz/", "http://\u0000/", "http://[::1]x/"])
def test_malformed_urls_are_answered_not_crashed(collector: Collector, url: str) -> None:
    answer = collector.http.post("/api/v1/control", json={"urls": [url]},
                                 headers=auth(collector.token()))
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 200:
        (result,) = answer.json()["results"]
        assert result["url"] == url and (result.get("refused") or result.get("status"))
