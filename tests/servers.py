"""Real servers on loopback that misbehave on purpose: the engine's test fixtures.

Every server is a context manager that binds an ephemeral port on 127.0.0.1, serves from
daemon threads, and stops (threads joined, sockets closed) on exit, even when the test fails.
Nothing here talks to anything but loopback.

    CertAuthorities()                      trustme CAs: `public` (stands for the web PKI) and
                                           `inspection` (a council's TLS-inspection proxy)
    DNSServer({"site.test": Answer(...)})  UDP+TCP nameserver with per-name behaviour
    ResetServer(after_bytes=0|1)           RST on accept, or after the first bytes (ClientHello)
    SilentServer()                         accepts, reads, never answers
    BlackholeServer()                      a full accept queue: SYNs dropped, connect times out
    WebServer(routes, cert=...)            HTTP or HTTPS with configurable `Page`s per path
    serving(Handler)                       plain HTTP with a request handler of the test's own
    ProxyServer(policy=..., hosts=...)     explicit HTTP proxy: CONNECT allowed/denied (Squid
                                           403 page)/auth required (407); plain GET forwarding

Typical use:

    with CertAuthorities() as cas, WebServer({"/": Page.html("Hello")},
                                             cert=cas.public_cert("site.test")) as web:
        ...  # https://site.test:{web.port}/ with DNS answering site.test -> 127.0.0.1
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import select
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import trustme

from access_probe.engine.netenv import NetEnv, ProxyMode

LOOPBACK = "127.0.0.1"
_POLL = 0.05  # seconds between checks of a stop flag
_IO_TIMEOUT = 3.0  # a stuck client cannot hold a server thread longer than this


class _Background:
    """Context-manager plumbing shared by the servers: start on enter, stop on exit."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


# --- certificates -------------------------------------------------------------------------

class CertAuthorities(_Background):
    """Two CAs and their bundles on disk: `public_bundle` stands for the public web roots
    (NetEnv.public_roots), `inspection_bundle` for a machine that trusts its council's
    inspection proxy (NetEnv.local_cafile)."""

    def __init__(self) -> None:
        self.public = trustme.CA(organization_name="Test Public Roots")
        self.inspection = trustme.CA(organization_name="Council Inspection CA")
        self.rogue = trustme.CA(organization_name="Nobody Trusts Me")
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="access-probe-cas-")
        self.public.cert_pem.write_to_path(str(self.public_bundle))
        self.inspection.cert_pem.write_to_path(str(self.inspection_bundle))
        self.rogue.cert_pem.write_to_path(str(self.rogue_bundle))

    def stop(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()

    @property
    def directory(self) -> Path:
        assert self._dir is not None, "use CertAuthorities as a context manager"
        return Path(self._dir.name)

    @property
    def public_bundle(self) -> Path:
        return self.directory / "public.pem"

    @property
    def inspection_bundle(self) -> Path:
        return self.directory / "inspection.pem"

    @property
    def rogue_bundle(self) -> Path:
        return self.directory / "rogue.pem"

    def public_cert(self, *names: str) -> trustme.LeafCert:
        return self.public.issue_cert(*(names or ("site.test",)), LOOPBACK)

    def inspection_cert(self, *names: str) -> trustme.LeafCert:
        return self.inspection.issue_cert(*(names or ("site.test",)), LOOPBACK,
                                          common_name=None)

    def rogue_cert(self, *names: str) -> trustme.LeafCert:
        return self.rogue.issue_cert(*(names or ("site.test",)), LOOPBACK)


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


# --- DNS ----------------------------------------------------------------------------------

class Rcode(StrEnum):
    NOERROR = "NOERROR"
    NXDOMAIN = "NXDOMAIN"
    REFUSED = "REFUSED"
    SERVFAIL = "SERVFAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """How the nameserver treats one name."""

    addresses: tuple[str, ...] = ()
    rcode: Rcode = Rcode.NOERROR
    cname: str | None = None  # answer with name CNAME cname, then cname's addresses
    drop: bool = False  # never reply (a DNS timeout)
    truncate: bool = False  # set TC over UDP; the full answer only over TCP
    drop_first: int = 0  # the first this many queries for the name get no reply (lost)
    servfail_first: int = 0  # the first this many queries for the name get SERVFAIL

    @classmethod
    def a(cls, *addresses: str) -> Answer:
        return cls(addresses=addresses)

    @classmethod
    def sinkhole(cls) -> Answer:
        return cls(addresses=("0.0.0.0",))


NXDOMAIN = Answer(rcode=Rcode.NXDOMAIN)
REFUSED = Answer(rcode=Rcode.REFUSED)
SERVFAIL = Answer(rcode=Rcode.SERVFAIL)
NO_REPLY = Answer(drop=True)


class DNSServer(_Background):
    """A nameserver on 127.0.0.1:port (UDP and TCP on the same port). Names not in `zone`
    get NXDOMAIN. `queries` records (qname, qtype, "udp"|"tcp") in order.

    Like a small forwarder under load: with `delay`, UDP replies leave that many seconds
    after the query (`max_outstanding` is the most queries it held unanswered at once), and
    with `servfail_above` a query arriving while more than that many are outstanding gets
    SERVFAIL, as dnsmasq does beyond its limit."""

    def __init__(self, zone: Mapping[str, Answer] | None = None, *, delay: float = 0.0,
                 servfail_above: int | None = None) -> None:
        self.zone: dict[str, Answer] = {k.lower().rstrip("."): v for k, v in (zone or {}).items()}
        self.queries: list[tuple[str, str, str]] = []
        self.delay = delay
        self.servfail_above = servfail_above
        self.max_outstanding = 0
        self.overload_servfails = 0
        self._pending: list[tuple[float, bytes, Any]] = []  # (due, reply, peer)
        self._asked: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.udp, self.tcp = _bind_udp_tcp()
        self.port: int = self.udp.getsockname()[1]
        self.address = LOOPBACK

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.udp.close()
        self.tcp.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for item in [p for p in self._pending if p[0] <= now]:
                self._pending.remove(item)
                with contextlib.suppress(OSError):
                    self.udp.sendto(item[1], item[2])
            wait = min([_POLL] + [max(0.0, p[0] - now) for p in self._pending])
            ready, _, _ = select.select([self.udp, self.tcp], [], [], wait)
            for sock in ready:
                with contextlib.suppress(OSError, dns.exception.DNSException):
                    if sock is self.udp:
                        self._serve_udp()
                    else:
                        self._serve_tcp()

    def _serve_udp(self) -> None:
        data, peer = self.udp.recvfrom(65535)
        overloaded = self.servfail_above is not None and \
            len(self._pending) >= self.servfail_above
        reply = self._reply(data, "udp", overloaded=overloaded)
        if reply is None:
            return
        if self.delay <= 0:
            self.udp.sendto(reply, peer)
            return
        self._pending.append((time.monotonic() + self.delay, reply, peer))
        self.max_outstanding = max(self.max_outstanding, len(self._pending))

    def _serve_tcp(self) -> None:
        conn, _ = self.tcp.accept()
        with conn:
            conn.settimeout(_IO_TIMEOUT)
            (length,) = struct.unpack("!H", _recv_exact(conn, 2))
            reply = self._reply(_recv_exact(conn, length), "tcp")
            if reply is not None:
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def _reply(self, data: bytes, transport: str, *, overloaded: bool = False) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        qname = question.name.to_text().lower().rstrip(".")
        self.queries.append((qname, dns.rdatatype.to_text(question.rdtype), transport))
        answer = self.zone.get(qname, NXDOMAIN)
        key = f"{qname}/{question.rdtype}"
        asked = self._asked[key] = self._asked.get(key, 0) + 1
        if answer.drop or asked <= answer.drop_first:
            return None
        response = dns.message.make_response(query)
        if overloaded or asked <= answer.drop_first + answer.servfail_first:
            self.overload_servfails += overloaded
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        response.set_rcode(dns.rcode.from_text(answer.rcode.value))
        if answer.truncate and transport == "udp":
            response.flags |= dns.flags.TC
            return response.to_wire()
        self._fill(response, question.name, question.rdtype, answer)
        return response.to_wire(want_shuffle=False)  # answers in the order the test gave

    def _fill(self, response: dns.message.Message, name: dns.name.Name,
              rdtype: dns.rdatatype.RdataType, answer: Answer) -> None:
        if answer.rcode is not Rcode.NOERROR:
            return
        owner = name
        if answer.cname is not None:
            target = dns.name.from_text(answer.cname)
            response.answer.append(dns.rrset.from_text(owner, 60, "IN", "CNAME",
                                                       target.to_text()))
            owner = target
        want = "AAAA" if rdtype == dns.rdatatype.AAAA else "A"
        matching = [a for a in answer.addresses if (":" in a) == (want == "AAAA")]
        if matching and rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            response.answer.append(dns.rrset.from_text(owner, 60, "IN", want, *matching))


def _bind_udp_tcp() -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same ephemeral port (retried if the TCP port is taken)."""
    for _attempt in range(20):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((LOOPBACK, 0))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind((LOOPBACK, udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(16)
        return udp, tcp
    raise RuntimeError("no free port for UDP and TCP together")


def _recv_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("short read")
        data += chunk
    return data


# --- raw TCP misbehaviour -----------------------------------------------------------------

class _AcceptLoop(_Background):
    """A listening socket whose accepted connections go to `handle` on worker threads."""

    def __init__(self) -> None:
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port: int = self.listener.getsockname()[1]
        self.address = LOOPBACK
        self.accepted = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.listener.settimeout(_POLL)
        thread = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            worker = threading.Thread(target=self._guarded, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _guarded(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(_POLL)
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def wait_stop(self, seconds: float) -> None:
        self._stop.wait(seconds)


def reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class ResetServer(_AcceptLoop):
    """RST right after accept (after_bytes=0), or once `after_bytes` bytes arrived — with 1,
    a reset of the TLS ClientHello, as SNI filters do."""

    def __init__(self, *, after_bytes: int = 0) -> None:
        super().__init__()
        self.after_bytes = after_bytes
        self.received = b""

    def handle(self, conn: socket.socket) -> None:
        got = b""
        while len(got) < self.after_bytes and not self._stop.is_set():
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                break
            got += chunk
        if got:  # the probe's bare TCP check sends nothing: keep what a request carried
            self.received = got
        reset(conn)


class SilentServer(_AcceptLoop):
    """Accepts, reads whatever comes, never answers (until the test ends)."""

    def handle(self, conn: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue


class BlackholeServer(_Background):
    """A port whose SYNs go unanswered: the listen queue is full (listen(0), never accepted,
    pre-filled), so Linux drops new SYNs and connect() times out like a silent filter."""

    def __init__(self, *, address: str = LOOPBACK, port: int = 0, max_fill: int = 8) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((address, port))
        self.port: int = self.listener.getsockname()[1]
        self.address = address
        self._max_fill = max_fill
        self._fillers: list[socket.socket] = []

    def start(self) -> None:
        self.listener.listen(0)
        for _ in range(self._max_fill):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.settimeout(0.2)
            try:
                filler.connect((self.address, self.port))
            except OSError:
                filler.close()
                return  # the queue is full: the next SYN is dropped
            self._fillers.append(filler)
        self.stop()
        raise RuntimeError("could not fill the listen queue")

    def stop(self) -> None:
        for filler in self._fillers:
            filler.close()
        self.listener.close()


# --- web server ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One route's answer."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)
    reset: bool = False  # RST instead of answering (an HTTP-level reset)

    @classmethod
    def html(cls, title: str, text: str = "", *, status: int = 200,
             headers: tuple[tuple[str, str], ...] = ()) -> Page:
        body = f"<html><head><title>{title}</title></head><body>{text}</body></html>"
        return cls(status=status, body=body.encode(),
                   headers=(("Content-Type", "text/html; charset=utf-8"), *headers))

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Page:
        return cls(status=status, headers=(("Location", location),))

    @classmethod
    def large(cls, size: int) -> Page:
        return cls(body=b"<html><title>Big</title>" + b"x" * size)


class WebServer(_Background):
    """HTTP(S) on 127.0.0.1:port serving `routes` (path -> Page; unknown paths 404).
    With `cert` it speaks TLS; `requests` records (path, Host header) in order, `user_agents`
    the User-Agent of each."""

    def __init__(self, routes: Mapping[str, Page] | None = None, *,
                 cert: trustme.LeafCert | None = None) -> None:
        self.routes: dict[str, Page] = dict(routes or {"/": Page.html("Hello")})
        self.requests: list[tuple[str, str | None]] = []
        self.user_agents: list[str | None] = []
        self.handshake_failures = 0
        self.connections = 0  # TCP connections accepted
        context = server_context(cert) if cert is not None else None
        self._server = _QuietHTTPServer((LOOPBACK, 0), _make_handler(self), context, self)
        self.port: int = self._server.server_address[1]
        self.address = LOOPBACK
        self.scheme = "https" if cert is not None else "http"
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/", host: str = "site.test") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": _POLL}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)


class _QuietHTTPServer(ThreadingHTTPServer):
    """Threads per connection; TLS handshakes happen on the worker, not the accept loop;
    errors are the client's business, never printed or raised in a thread."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # a whole catalogue connects at once; the default 5 drops SYNs

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 context: ssl.SSLContext | None, owner: WebServer) -> None:
        self.tls_context = context
        self.owner = owner
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.owner.connections += 1
        request.settimeout(_IO_TIMEOUT)
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        try:
            tls_request = self.tls_context.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            self.owner.handshake_failures += 1
            return
        with tls_request:  # the wrapper owns the descriptor now; socketserver won't close it
            super().finish_request(tls_request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _make_handler(owner: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            owner.requests.append((self.path, self.headers.get("Host")))
            owner.user_agents.append(self.headers.get("User-Agent"))
            page = owner.routes.get(urlsplit(self.path).path, Page.html("Not found", status=404))
            if page.reset:
                reset(self.connection)
                self.close_connection = True
                return
            _send_page(self, page)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def _send_page(handler: BaseHTTPRequestHandler, page: Page) -> None:
    handler.send_response(page.status)
    for name, value in page.headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(page.body)))
    handler.end_headers()
    with contextlib.suppress(OSError):
        handler.wfile.write(page.body)


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A plain-HTTP server on 127.0.0.1 with a handler of the test's own (for pages that
    depend on the request, such as a block page printing the client's address); yields the
    port and always stops."""
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": _POLL},
                              daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- explicit proxy -----------------------------------------------------------------------

class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"  # 403 with a Squid-like error page
    AUTH = "auth"  # 407 unless the right Proxy-Authorization came


SQUID_DENIED = (
    b"<html><head><title>ERROR: The requested URL could not be retrieved</title></head>"
    b"<body><h1>ERROR</h1><p>Access control configuration prevents your request from being "
    b"allowed at this time.</p><p>Generated by proxy (squid/6.10)</p></body></html>"
)


@dataclass(slots=True, kw_only=True)
class ProxyLog:
    method: str
    target: str
    authorization: str | None
    user_agent: str | None


class ProxyServer(_AcceptLoop):
    """An explicit HTTP proxy. `policy(host)` decides per target host; `hosts` is the proxy's
    own name resolution (site.test -> 127.0.0.1); `credentials` ("user:pass") is what AUTH
    accepts. `log` records every request.

    With `intercept` (a certificate, e.g. `cas.inspection_cert()`), an allowed CONNECT is not
    piped to the site: the proxy answers the TLS handshake itself, as an inspecting filter
    does, and serves `intercept_page` (the real content, or an HTTPS block page)."""

    def __init__(self, *, policy: Callable[[str], Decision] | None = None,
                 hosts: Mapping[str, str] | None = None,
                 credentials: str | None = None, intercept: trustme.LeafCert | None = None,
                 intercept_page: Page | None = None) -> None:
        super().__init__()
        self.policy = policy or (lambda _host: Decision.ALLOW)
        self.hosts = dict(hosts or {})
        self.credentials = credentials
        self.log: list[ProxyLog] = []
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._intercept = server_context(intercept) if intercept is not None else None
        self.intercept_page = intercept_page or Page.html("Intercepted")

    def handle(self, conn: socket.socket) -> None:
        conn.settimeout(_IO_TIMEOUT)
        reader = conn.makefile("rb")
        request_line = reader.readline(8192).decode("latin-1").strip()
        if not request_line:
            return  # a bare connection test, closed without a request
        headers = http.client.parse_headers(reader)
        method, target, _version = (request_line.split(" ", 2) + ["", ""])[:3]
        self.log.append(ProxyLog(method=method, target=target,
                                 authorization=headers.get("Proxy-Authorization"),
                                 user_agent=headers.get("User-Agent")))
        host = _target_host(method, target)
        decision = self._decide(host, headers.get("Proxy-Authorization"))
        if decision is Decision.DENY:
            _reply(conn, 403, "Forbidden", SQUID_DENIED,
                   ("Server", "squid/6.10"), ("X-Squid-Error", "ERR_ACCESS_DENIED 0"))
        elif decision is Decision.AUTH:
            _reply(conn, 407, "Proxy Authentication Required", SQUID_DENIED,
                   ("Server", "squid/6.10"), ("Proxy-Authenticate", 'Basic realm="council"'))
        elif method == "CONNECT" and self._intercept is not None:
            self._inspect(conn, self._intercept)
        elif method == "CONNECT":
            self._tunnel(conn, target)
        else:
            self._forward(conn, method, target, headers)

    def _decide(self, host: str, authorization: str | None) -> Decision:
        decision = self.policy(host)
        if decision is Decision.AUTH and self.credentials is not None and authorization:
            expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
            if authorization == expected:
                return Decision.ALLOW
        return decision

    def _resolve(self, host: str) -> str:
        return self.hosts.get(host, host)

    def _inspect(self, conn: socket.socket, context: ssl.SSLContext) -> None:
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            tls = context.wrap_socket(conn, server_side=True)
        except (OSError, ValueError):
            return  # the client refused our certificate: the probe's business
        with tls:
            reader = tls.makefile("rb")
            if not reader.readline(8192):
                return
            http.client.parse_headers(reader)
            page = self.intercept_page
            _reply(tls, page.status, "Intercepted", page.body, *page.headers)

    def _tunnel(self, conn: socket.socket, target: str) -> None:
        host, _, port = target.rpartition(":")
        try:
            upstream = socket.create_connection((self._resolve(host.strip("[]")), int(port)),
                                                timeout=_IO_TIMEOUT)
        except (OSError, ValueError):
            _reply(conn, 502, "Bad Gateway", b"")
            return
        with upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(conn, upstream, self._stop)

    def _forward(self, conn: socket.socket, method: str, target: str,
                 headers: http.client.HTTPMessage) -> None:
        parts = urlsplit(target)
        upstream = http.client.HTTPConnection(self._resolve(parts.hostname or ""),
                                              parts.port or 80, timeout=_IO_TIMEOUT)
        try:
            path = parts.path or "/"
            upstream.request(method, path + (f"?{parts.query}" if parts.query else ""),
                             headers={"Host": parts.netloc,
                                      "User-Agent": headers.get("User-Agent", "")})
            response = upstream.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            _reply(conn, 502, "Bad Gateway", b"")
            return
        finally:
            upstream.close()
        kept = [(k, v) for k, v in response.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        _reply(conn, response.status, response.reason, body, ("Via", "1.1 testproxy"), *kept)


def _target_host(method: str, target: str) -> str:
    if method == "CONNECT":
        return target.rpartition(":")[0].strip("[]")
    return urlsplit(target).hostname or ""


def _reply(conn: socket.socket, status: int, reason: str, body: bytes,
           *headers: tuple[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/html",
             f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() != "content-type"]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    if content_type is not None:
        lines[1] = f"Content-Type: {content_type}"
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _pipe(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    """Copy bytes both ways until either side closes or the server stops."""
    a.setblocking(False)
    b.setblocking(False)
    peers = {a: b, b: a}
    while not stop.is_set():
        ready, _, _ = select.select([a, b], [], [], _POLL)
        for sock in ready:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            if not data:
                return
            peers[sock].setblocking(True)
            peers[sock].settimeout(_IO_TIMEOUT)
            peers[sock].sendall(data)
            peers[sock].setblocking(False)


@contextlib.contextmanager
def running(*servers: _Background) -> Iterator[None]:
    """Start several servers together; all stop on exit, whatever happens."""
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.enter_context(server)
        yield


def lab_env(dns_server: DNSServer | None = None, cas: CertAuthorities | None = None, *,
            local_trusts_inspection: bool = False, proxy: str | None = None) -> NetEnv:
    """A NetEnv for the loopback lab: resolution through `dns_server` (loopback answers count
    as real), `cas.public` as the public roots, and the machine's own store being either the
    public bundle or, with `local_trusts_inspection`, the inspection CA's."""
    local = None
    if cas is not None:
        local = cas.inspection_bundle if local_trusts_inspection else cas.public_bundle
    return NetEnv(
        resolver=dns_server.address if dns_server else "system",
        nameservers=(dns_server.address,) if dns_server else (),
        dns_port=dns_server.port if dns_server else 53,
        proxy_mode=ProxyMode.EXPLICIT if proxy else ProxyMode.NONE, proxy_url=proxy,
        public_roots=cas.public_bundle if cas else None, local_cafile=local,
        lab_networks=("127.0.0.0/8", "::1/128"))
