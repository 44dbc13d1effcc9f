"""HTTP with requests, for a GET without a proved connection to ride: the connection
pinned to an address while the request still carries the site's name in SNI, certificate
check and Host (`PinnedAdapter`), or sent through a proxy (`proxies=`). Kept apart from
http.py so that a check, which never needs it, does not import requests.
"""

from __future__ import annotations

import hashlib
import ssl
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

import certifi
import requests
from requests.adapters import HTTPAdapter

from access_probe.engine.classify import Operation, classify
from access_probe.engine.probe.base import ProbeContext
from access_probe.engine.probe.http import kept_headers, title_of
from access_probe.model import Failure, HTTPObservation

__all__ = ["PinnedAdapter", "get"]

_CHUNK = 16384


class PinnedAdapter(HTTPAdapter):
    """Connect to `address` whatever the URL's host, with `ssl_context` and the URL's host as
    SNI and certificate name: requests' documented pool-key hook, so urllib3 keeps pooling,
    TLS and hostname checks as usual. With `address=None` only the TLS context is set; with
    `ssl_context=None` https is verified against certifi."""

    def __init__(self, *, address: str | None, ssl_context: ssl.SSLContext | None) -> None:
        self._address = address
        self._ssl_context = ssl_context
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None,
    ) -> Any:
        base_params, base_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        host_params: dict[str, Any] = dict(base_params)
        pool_kwargs: dict[str, Any] = dict(base_kwargs)
        hostname = host_params["host"]
        if self._address is not None:
            host_params["host"] = self._address
        if host_params["scheme"] == "https":
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = self._ssl_context or ssl.create_default_context(
                cafile=certifi.where())
            pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
            # server_hostname alone: OpenSSL checks the name during the handshake, and
            # urllib3 leaves the (shared) context untouched, as it would not with
            # assert_hostname.
            pool_kwargs["server_hostname"] = hostname
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Nothing to do: requests would load its own CA bundle into our context, and the
        context set in the pool key is the decision."""


def get(url: str, ctx: ProbeContext, *, address: str | None = None, proxy: str | None = None,
        tls: ssl.SSLContext | None = None) -> HTTPObservation:
    """GET `url` once. `address` pins the connection (direct route); `proxy` sends it through
    an explicit proxy; `tls` is the trust context the TLS step accepted."""
    t0 = ctx.clock.now()
    with _session(address=address, proxy=proxy, tls=tls) as session:
        try:
            response = session.get(url, headers=_headers(url, ctx, pinned=address is not None),
                                   allow_redirects=False, stream=True,
                                   timeout=(ctx.step_timeout(), ctx.step_timeout()))
        except (requests.RequestException, OSError, ValueError) as exc:
            return HTTPObservation(url=url, t0=t0, t=ctx.clock.now(),
                                   failure=classify(exc, Operation.HTTP_REQUEST))
        with response:
            body, failure = _read_body(response, ctx)
    return _observation(url, t0, ctx, response, body, failure)


def _session(*, address: str | None, proxy: str | None,
             tls: ssl.SSLContext | None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the route is decided by netenv and recorded, never ambient
    adapter = PinnedAdapter(address=address, ssl_context=tls)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if proxy is not None:
        session.proxies = {"http": proxy, "https": proxy}
    return session


def _headers(url: str, ctx: ProbeContext, *, pinned: bool) -> dict[str, str]:
    headers = {"User-Agent": ctx.user_agent, "Accept": "text/html,*/*;q=0.8"}
    if pinned:
        headers["Host"] = urlsplit(url).netloc.rsplit("@", 1)[-1]
    return headers


def _read_body(response: requests.Response, ctx: ProbeContext) -> tuple[bytes, Failure | None]:
    """Read at most ctx.max_body bytes, within one step timeout overall (a trickling server
    cannot hold the measurement)."""
    chunks: list[bytes] = []
    size = 0
    until = time.monotonic() + ctx.step_timeout()
    try:
        for chunk in response.iter_content(chunk_size=_CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size >= ctx.max_body or time.monotonic() >= until:
                break
    except (requests.RequestException, OSError, ValueError) as exc:
        return b"".join(chunks)[: ctx.max_body], classify(exc, Operation.READ_BODY)
    return b"".join(chunks)[: ctx.max_body], None


def _observation(url: str, t0: float, ctx: ProbeContext, response: requests.Response,
                 body: bytes, failure: Failure | None) -> HTTPObservation:
    headers = kept_headers(response.raw.headers if response.raw is not None else
                           response.headers)
    location = response.headers.get("location")
    absolute = urljoin(url, location) if location and response.is_redirect else None
    return HTTPObservation(
        url=url, t0=t0, t=ctx.clock.now(), failure=failure, status=response.status_code,
        reason=response.reason, headers=headers, location=absolute,
        title=title_of(body, response.headers.get("content-type")), body_length=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(), body=body)
