"""The control endpoint's logic: measure URLs from the collector's own vantage point with the
agent's engine (`measure.measure`), safely.

Safety by construction:
- `refusal(address, allow)` is the SSRF guard. `measure` asks it before every connection,
  after every resolution and every redirect, so a name that resolves (or rebinds) to an
  internal address, or a redirect to one, is refused before anything is sent there.
- A name whose DNS answer holds such an address is refused as a whole, as the contract says,
  even where the engine would have skipped that answer as a sinkhole.
- The control never goes through a proxy (a proxy would resolve names beyond the guard).
- Catalogue-only mode refuses hosts outside the catalogue before any lookup.
- Bounded: URLs per request (models_in), step timeouts, body size, redirects, a total deadline
  per request, a thread pool of fixed size, a per-token rate limit, and a short result cache
  (both shared by every collector process on the database: `shared.py`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from access_probe.catalogue import Catalogue
from access_probe.collector.settings import Network
from access_probe.engine.addresses import parse_address
from access_probe.engine.control import control_to_json
from access_probe.engine.measure import Limits, measure
from access_probe.engine.netenv import NetEnv
from access_probe.model import Measurement
from access_probe.verdict import summarise

Answer = dict[str, Any]

_NOT_GLOBAL = "not globally routable"
_KINDS = (("is_loopback", "loopback"), ("is_link_local", "link-local"),
          ("is_multicast", "multicast"), ("is_unspecified", "unspecified"),
          ("is_reserved", "reserved"), ("is_private", "private or documentation"))


def refusal(address: str, allow: Sequence[Network] = ()) -> str | None:
    """Why the collector must not connect to `address`, or None when it may.

    Stricter than `is_global` alone: multicast and reserved space count as internal, and an
    IPv4 address embedded in IPv6 (mapped, 6to4, NAT64) is judged too. The reason names the
    kind of address, never the address (it could describe the collector's own network).
    """
    ip = parse_address(address)
    if ip is None:
        return "not an IP address"
    if any(ip.version == net.version and ip in net for net in allow):
        return None
    for view in _views(ip):
        kind = next((label for attr, label in _KINDS if getattr(view, attr)), None)
        if kind is not None or not view.is_global:
            return f"resolves to a {kind or 'shared or special-purpose'} address, {_NOT_GLOBAL}"
    return None


def _views(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[Any]:
    if isinstance(ip, ipaddress.IPv4Address):
        return [ip]
    embedded = [ip.ipv4_mapped, ip.sixtofour]
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [ip, *(e for e in embedded if e is not None)]


_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


def _is_dns_name(host: str) -> bool:
    """A name the resolver can be asked about: IDNA-encodable, LDH labels (underscores
    allowed, as real DNS has them), at most 253 characters. Anything else ('%zz', a NUL)
    is refused before any lookup, so no odd spelling reaches a resolver."""
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    return (0 < len(ascii_host) <= 253
            and all(_LABEL.fullmatch(label) for label in ascii_host.split(".")))


class AnswerCache(Protocol):
    """Recent control answers by URL (agents of many councils ask about the same sites):
    `shared.SharedCache`, one for every collector process on the database."""

    def get_many(self, urls: Sequence[str]) -> dict[str, Answer]: ...

    def put(self, url: str, answer: Answer) -> None: ...


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class ControlService:
    def __init__(self, *, env: NetEnv, limits: Limits, allow: Sequence[Network],
                 catalogue: Catalogue | None, cache: AnswerCache, executor: Executor,
                 deadline: float) -> None:
        # The lab's allowed networks must also count as real answers inside the engine,
        # which otherwise drops private answers as sinkholes before the guard sees them.
        self.env = replace(env, lab_networks=tuple(str(n) for n in allow))
        self.limits = limits
        self.allow = tuple(allow)
        self.catalogue = catalogue
        self.cache = cache
        self.executor = executor
        self.deadline = deadline

    def guard(self, address: str) -> str | None:
        return refusal(address, self.allow)

    async def answer(self, urls: Sequence[str], *, take: Callable[[int], float]) -> list[Answer]:
        """One answer per URL, in order. `take(n)` charges n measurements to the caller's rate
        limit and returns the seconds to wait if it cannot (then RateLimited is raised).
        The cache and the limit are database rows: both are asked from a worker thread."""
        urls = list(dict.fromkeys(urls))
        ready: dict[str, Answer] = {}
        for url in urls:
            early = self._refuse_early(url)
            if early is not None:
                ready[url] = early
        rest = [u for u in urls if u not in ready]
        if rest:
            ready.update(await asyncio.to_thread(self.cache.get_many, rest))
        todo = [u for u in urls if u not in ready]
        wait = await asyncio.to_thread(take, len(todo)) if todo else 0.0
        if wait > 0:
            raise RateLimited(wait)
        ready.update(await self._measure_all(todo))
        return [ready[u] for u in urls]

    def _refuse_early(self, url: str) -> Answer | None:
        try:
            host = (urlsplit(url).hostname or "").rstrip(".")
        except ValueError:  # an unterminated IPv6 literal ('http://[') and its kin
            return {"url": url, "refused": "not a valid URL"}
        if not host:
            return {"url": url, "refused": "URL without a host"}
        if parse_address(host) is None and not _is_dns_name(host):
            return {"url": url, "refused": "host is not a DNS name or an IP address"}
        literal = refusal(host, self.allow) if parse_address(host) is not None else None
        if literal is not None:
            return {"url": url, "refused": literal}
        if self.catalogue is not None and self.catalogue.service_for_host(host) is None:
            return {"url": url, "refused": "host is not in the collector's catalogue"}
        return None

    async def _measure_all(self, urls: list[str]) -> dict[str, Answer]:
        if not urls:
            return {}
        loop = asyncio.get_running_loop()
        futures = {loop.run_in_executor(self.executor, self.measure_one, u): u for u in urls}
        done, _late = await asyncio.wait(futures, timeout=self.deadline)
        out = {futures[f]: f.result() for f in done}
        for url in urls:
            out.setdefault(url, {"url": url, "status": "inconclusive",
                                 "error": "the control measurement ran out of time"})
        return out

    def measure_one(self, url: str) -> Answer:
        try:
            m = measure(url, env=self.env, limits=self.limits, guard=self.guard)
        except ValueError:
            return {"url": url, "refused": "not a measurable http(s) URL"}
        answer = control_to_json(summarise(self._dns_refusal(m)))
        self.cache.put(url, answer)
        return answer

    def _dns_refusal(self, m: Measurement) -> Measurement:
        if m.refused:
            return m
        reason = next((r for obs in m.dns for a in obs.addresses
                       if (r := self.guard(a)) is not None), None)
        return replace(m, refused=reason) if reason else m
