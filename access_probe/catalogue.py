"""The catalogue of services and the endpoints each needs (targets.yaml).

`targets.yaml` at the repository root is the one source of truth; it is shipped inside the
package as `access_probe/targets.yaml` (a symlink in the source tree, a copy in the wheel).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


def http_url_problem(text: str) -> str | None:
    """Why `text` is not an absolute http(s) URL with a host, or None when it is one."""
    if len(text) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    if any(c.isspace() or not c.isprintable() for c in text):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    return None


class Role(StrEnum):
    SITE = "site"  # the service's own pages
    CDN = "cdn"  # a host the site loads from (static, media)
    BASELINE = "baseline"  # a site councils almost never block: tells offline from blocked


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    id: str  # unique across the catalogue, e.g. "facebook", "facebook-static"
    url: str
    role: Role = Role.SITE
    login_redirect_ok: bool = True  # a redirect to a sign-in page means reachable


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    id: str  # e.g. "facebook"
    name: str  # e.g. "Facebook"
    category: str  # social, video, messaging, blog, events, collaboration, government, baseline
    endpoints: tuple[Endpoint, ...]
    notes: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    services: tuple[Service, ...]
    source: str = "<packaged>"

    def endpoints(self) -> list[tuple[Service, Endpoint]]:
        return [(s, e) for s in self.services for e in s.endpoints]

    def service_for_host(self, host: str) -> Service | None:
        """The service whose endpoints use this host (or a parent domain of it)."""
        from urllib.parse import urlsplit

        host = host.lower().rstrip(".")
        best: tuple[int, Service] | None = None
        for service in self.services:
            for endpoint in service.endpoints:
                ehost = (urlsplit(endpoint.url).hostname or "").lower()
                base = ehost[4:] if ehost.startswith("www.") else ehost
                if host == ehost or host == base or host.endswith("." + base):
                    if best is None or len(base) > best[0]:
                        best = (len(base), service)
        return best[1] if best else None
