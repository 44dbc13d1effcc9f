"""probe.http against real servers: the pinned adapter, headers, titles, the body cap."""

from __future__ import annotations

import hashlib

from access_probe.engine.netenv import NetEnv
from access_probe.engine.probe import pinned
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Failure
from tests.servers import CertAuthorities, Page, ResetServer, SilentServer, WebServer

CTX = ProbeContext(timeout=1.0, max_body=1000, user_agent="probe-test/1")


def test_pinned_https_sends_site_name_in_sni_and_host(cas: CertAuthorities) -> None:
    """site.test resolves nowhere: only the pin reaches the server, and only the site's name
    in SNI and the certificate check lets the handshake pass."""
    env = NetEnv(public_roots=cas.public_bundle)
    routes = {"/": Page.html("Welcome &amp; hello")}
    with WebServer(routes, cert=cas.public_cert("site.test")) as web:
        obs = pinned.get(web.url("/"), CTX, address="127.0.0.1", tls=env.public_context())
    assert obs.failure is None and obs.status == 200
    assert obs.title == "Welcome & hello"
    assert web.requests == [("/", f"site.test:{web.port}")]
    assert obs.body_sha256 == hashlib.sha256(obs.body).hexdigest()


def test_pinned_https_rejects_certificate_for_other_name(cas: CertAuthorities) -> None:
    env = NetEnv(public_roots=cas.public_bundle)
    with WebServer(cert=cas.public_cert("other.test")) as web:
        obs = pinned.get(web.url("/"), CTX, address="127.0.0.1", tls=env.public_context())
    assert obs.failure is Failure.SSL_INVALID_HOSTNAME and obs.status is None


def test_context_decides_trust_not_requests_bundle(cas: CertAuthorities) -> None:
    env = NetEnv(public_roots=cas.public_bundle, local_cafile=cas.inspection_bundle)
    with WebServer(cert=cas.inspection_cert()) as web:
        refused = pinned.get(web.url("/"), CTX, address="127.0.0.1", tls=env.public_context())
        accepted = pinned.get(web.url("/"), CTX, address="127.0.0.1", tls=env.local_context())
    assert refused.failure is Failure.SSL_UNKNOWN_AUTHORITY
    assert accepted.failure is None and accepted.status == 200


def test_redirect_not_followed_and_made_absolute() -> None:
    routes = {"/old": Page.redirect("/new", 301)}
    with WebServer(routes) as web:
        obs = pinned.get(web.url("/old"), CTX, address="127.0.0.1")
    assert obs.status == 301 and obs.location == web.url("/new")
    assert web.requests == [("/old", f"site.test:{web.port}")]


def test_selected_headers_and_cookie_names_only() -> None:
    headers = (("Set-Cookie", "session=secret; Path=/"), ("Set-Cookie", "lang=en"),
               ("X-Filter-Category", "Social Networking"), ("Via", "1.1 filter"),
               ("X-Powered-By", "x"), ("Date-Ignored", "y"))
    routes = {"/": Page.html("Blocked", status=403, headers=headers)}
    with WebServer(routes) as web:
        obs = pinned.get(web.url("/"), CTX, address="127.0.0.1")
    assert obs.status == 403
    assert obs.headers["set-cookie"] == "session, lang"
    assert "secret" not in str(obs.headers)
    assert obs.headers["x-filter-category"] == "Social Networking"
    assert obs.headers["via"] == "1.1 filter"
    assert "date-ignored" not in obs.headers


def test_body_is_capped() -> None:
    with WebServer({"/": Page.large(50_000)}) as web:
        obs = pinned.get(web.url("/"), CTX, address="127.0.0.1")
    assert obs.failure is None and obs.body_length == 1000 == len(obs.body)
    assert obs.title == "Big"


def test_user_agent_sent() -> None:
    with WebServer() as web:
        pinned.get(web.url("/"), CTX, address="127.0.0.1")
    assert web.user_agents == ["probe-test/1"]


def test_reset_and_silence_are_failures() -> None:
    with ResetServer() as reset_server:
        obs = pinned.get(f"http://site.test:{reset_server.port}/", CTX, address="127.0.0.1")
    assert obs.failure in (Failure.CONNECTION_RESET, Failure.EOF)
    with SilentServer() as silent:
        obs = pinned.get(f"http://site.test:{silent.port}/", ProbeContext(timeout=0.4),
                       address="127.0.0.1")
    assert obs.failure is Failure.GENERIC_TIMEOUT
    assert obs.t - obs.t0 < 2.0


def test_reset_mid_response() -> None:
    with WebServer({"/": Page(reset=True)}) as web:
        obs = pinned.get(web.url("/"), CTX, address="127.0.0.1")
    assert obs.failure in (Failure.CONNECTION_RESET, Failure.EOF)
