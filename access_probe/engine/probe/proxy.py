"""An explicit proxy's CONNECT, made by hand so that the proxy's own refusal (its status,
headers and error page) is recorded; requests would hide it behind a ProxyError."""

from __future__ import annotations

import hashlib
import http.client
import socket
import time
from urllib.parse import urlsplit

from access_probe.engine.classify import Operation, classify
from access_probe.engine.probe.base import ProbeContext
from access_probe.engine.probe.http import kept_headers, proxy_authorization, title_of
from access_probe.model import Failure, ProxyObservation

__all__ = ["connect_tunnel", "proxy_address"]

_CHUNK = 16384


def proxy_address(proxy_url: str) -> tuple[str, int]:
    """(host, port) of a proxy URL; port 8080 when absent, as most filters listen there."""
    parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
    if not parts.hostname:
        raise ValueError(f"proxy URL without a host: {proxy_url!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 8080)


def connect_tunnel(sock: socket.socket, host: str, port: int, ctx: ProbeContext, *,
                   proxy_url: str) -> tuple[ProxyObservation, socket.socket | None]:
    """Ask the proxy on `sock` for a tunnel to host:port. On 2xx the socket is returned as
    the tunnel; otherwise it is closed and the answer kept (PROXY_CONNECT_FAILED)."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    t0 = ctx.clock.now()
    sock.settimeout(ctx.step_timeout())
    response = http.client.HTTPResponse(sock, method="CONNECT")
    try:
        sock.sendall(_request(target, proxy_url, ctx.user_agent))
        response.begin()
    except (OSError, http.client.HTTPException) as exc:
        sock.close()
        return ProxyObservation(target=target, t0=t0, t=ctx.clock.now(),
                                failure=classify(exc, Operation.PROXY_CONNECT)), None
    if 200 <= response.status < 300:
        obs = ProxyObservation(target=target, t0=t0, t=ctx.clock.now(), status=response.status,
                               reason=response.reason, headers=kept_headers(response.headers))
        return obs, sock  # nothing follows a 2xx until we speak, so no bytes are buffered
    body = _read_body(response, ctx)
    sock.close()
    return ProxyObservation(
        target=target, t0=t0, t=ctx.clock.now(), failure=Failure.PROXY_CONNECT_FAILED,
        status=response.status, reason=response.reason, headers=kept_headers(response.headers),
        title=title_of(body, response.getheader("content-type")), body_length=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(), body=body), None


def _request(target: str, proxy_url: str, user_agent: str) -> bytes:
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", f"User-Agent: {user_agent}"]
    authorization = proxy_authorization(proxy_url)
    if authorization is not None:
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _read_body(response: http.client.HTTPResponse, ctx: ProbeContext) -> bytes:
    """The proxy's error page, capped in size and time. The refusal is already certain from
    the status line, so a page that breaks off keeps what arrived."""
    chunks: list[bytes] = []
    size = 0
    until = time.monotonic() + ctx.step_timeout()
    try:
        while size < ctx.max_body and time.monotonic() < until:
            chunk = response.read1(min(_CHUNK, ctx.max_body - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (OSError, http.client.HTTPException):
        pass
    return b"".join(chunks)
