"""HTTP: one GET, no redirects followed (measure.py follows them by hand).

`request` sends it on a `Connection`: the socket the TCP (http://) or TLS (https://) step
proved, so the GET goes exactly where DNS, TCP and TLS were measured and costs no second
handshake; the site's name is in SNI, certificate check and Host. When the server closes the
connection, the next request on it reopens one along the same path.

`probe/pinned.py` is the stand-alone form with requests (an address pinned, or a proxy).
"""

from __future__ import annotations

import base64
import hashlib
import html
import http.client
import re
import socket
import time
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from access_probe.engine.classify import Operation, classify
from access_probe.engine.probe.base import ProbeContext
from access_probe.model import Failure, HTTPObservation

__all__ = ["Connection", "kept_headers", "proxy_authorization", "request", "title_of"]

_KEPT = frozenset({"server", "location", "content-type", "content-length", "via", "x-cache",
                   "x-squid-error", "www-authenticate", "proxy-authenticate", "refresh"})
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_TITLE_MAX = 200
_CHUNK = 16384
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What requests sent, so servers and filters answer as they always did; bodies are decoded.
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS,
              "deflate": zlib.MAX_WBITS}


class Connection(http.client.HTTPConnection):
    """HTTP over a socket the earlier steps proved (TCP, or TLS on top of it). It never dials
    on its own: when the server closed it, or a body was cut short, `reopen` gives a fresh
    socket along the same path (same address, same trust context, same proxy tunnel)."""

    def __init__(self, sock: socket.socket, reopen: Callable[[], socket.socket]) -> None:
        super().__init__("proved.invalid")  # never resolved: connect() is reopen()
        self.sock = sock
        self._reopen = reopen

    def connect(self) -> None:
        self.sock = self._reopen()


def request(conn: Connection, url: str, ctx: ProbeContext, *,
            proxy: str | None = None) -> HTTPObservation:
    """GET `url` on `conn`. With `proxy` (plain HTTP through an explicit proxy, `conn` being
    the connection to it) the request line carries the absolute URL, as proxies expect."""
    t0 = ctx.clock.now()
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": netloc, "User-Agent": ctx.user_agent, "Accept": "text/html,*/*;q=0.8",
               "Accept-Encoding": "gzip, deflate", "Connection": "keep-alive"}
    if proxy is not None:
        target = parts._replace(netloc=netloc, fragment="").geturl()
        authorization = proxy_authorization(proxy)
        if authorization is not None:
            headers["Proxy-Authorization"] = authorization
    try:
        if conn.sock is not None:
            conn.sock.settimeout(ctx.step_timeout())
        conn.request("GET", target, headers=headers)
        response = conn.getresponse()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        conn.close()
        return HTTPObservation(url=url, t0=t0, t=ctx.clock.now(),
                               failure=classify(exc, Operation.HTTP_REQUEST))
    body, failure = _read_response(response, ctx)
    if not response.isclosed():
        # Cut short (the cap, a trickle, an error): what is left on the wire is not for the
        # next GET. The response may own the socket by now (Connection: close), so both go.
        response.close()
        conn.close()
    content_type = response.getheader("content-type")
    location = response.getheader("location")
    absolute = urljoin(url, location) if location and response.status in _REDIRECTS else None
    return HTTPObservation(
        url=url, t0=t0, t=ctx.clock.now(), failure=failure, status=response.status,
        reason=response.reason, headers=kept_headers(response.headers), location=absolute,
        title=title_of(body, content_type), body_length=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(), body=body)


def proxy_authorization(proxy_url: str) -> str | None:
    """The Basic Proxy-Authorization for the credentials in a proxy URL, if it has any."""
    parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    if parts.username is None:
        return None
    secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(secret.encode()).decode()


def kept_headers(headers: Any) -> dict[str, str]:
    """The headers that identify a filter or a redirect, lower-cased; cookie names only."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in _KEPT or key.startswith("x-"):
            kept[key] = value
    # urllib3's headers have getlist, http.client's get_all (None when absent)
    many = getattr(headers, "getlist", None) or getattr(headers, "get_all", None)
    cookies = (many("set-cookie") or []) if many is not None else []
    if cookies:
        kept["set-cookie"] = ", ".join(c.split("=", 1)[0].strip() for c in cookies)
    return kept


def title_of(body: bytes, content_type: str | None = None) -> str | None:
    found = _TITLE.search(body)
    if found is None:
        return None
    charset = _CHARSET.search(content_type or "")
    try:
        text = found.group(1).decode(charset.group(1) if charset else "utf-8", "replace")
    except LookupError:
        text = found.group(1).decode("utf-8", "replace")
    return " ".join(html.unescape(text).split())[:_TITLE_MAX] or None


def _read_response(response: http.client.HTTPResponse,
                   ctx: ProbeContext) -> tuple[bytes, Failure | None]:
    """Read at most ctx.max_body decoded bytes, within one step timeout overall (a trickling
    server cannot hold the measurement). Reading stops at the cap: the rest is not fetched."""
    encoding = (response.getheader("content-encoding") or "").strip().lower()
    wbits = _ENCODINGS.get(encoding)
    decoder = zlib.decompressobj(wbits) if wbits is not None else None
    chunks: list[bytes] = []
    size = 0
    until = time.monotonic() + ctx.step_timeout()
    try:
        while size < ctx.max_body and time.monotonic() < until:
            raw = response.read1(_CHUNK)
            if not raw:
                break
            chunk = decoder.decompress(raw, ctx.max_body - size) if decoder else raw
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, http.client.HTTPException, ValueError, zlib.error) as exc:
        return b"".join(chunks)[: ctx.max_body], classify(exc, Operation.READ_BODY)
    if response.length == 0:
        response.close()  # all of it read (read1 leaves that unsaid): the next GET may follow
    return b"".join(chunks)[: ctx.max_body], None
