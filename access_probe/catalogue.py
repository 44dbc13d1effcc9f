"""The catalogue of services and the endpoints each needs (targets.yaml).

`targets.yaml` at the repository root is the one source of truth; it is shipped inside the
package as `access_probe/targets.yaml` (a symlink in the source tree, a copy in the wheel).
The format is described in docs/catalogue.md. Besides the full form (`version: 1`,
`services: [...]`) a file may be just a list of URLs, or `targets: [url, ...]`; such ad-hoc
URLs get their service from the packaged catalogue by host where it knows the host.

Every problem raises `CatalogueError` naming file, line and key (`services[3].endpoints[0].url`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from access_probe.errors import CatalogueError
from access_probe.yamlload import YAMLDocument, join, load_yaml, parse_yaml

__all__ = [
    "Catalogue", "Category", "Endpoint", "Role", "Service", "http_url_problem",
    "host_problem", "load_catalogue", "packaged_catalogue", "parse_catalogue",
]

MAX_URL_LENGTH = 2048
PACKAGED = "<packaged>"


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
    if parts.port == 0:
        return "port 0 cannot be connected to (ports run from 1 to 65535)"
    return host_problem(parts.hostname)


_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def host_problem(host: str) -> str | None:
    """Why `host` (as urlsplit gives it: lower case, no brackets) names no reachable host."""
    import ipaddress

    if ":" in host:
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"{host!r} is not a valid IPv6 address"
        return None
    if _DOTTED_NUMBERS.match(host):  # only digits and dots: an IPv4 address or nothing
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"{host!r} is not a valid IPv4 address"
        return None
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return f"{host!r} is not a valid host name"
    if not ascii_host or len(ascii_host) > 253 or not all(
            _HOST_LABEL.match(label) for label in ascii_host.split(".")):
        return f"{host!r} is not a valid host name"
    return None


class Role(StrEnum):
    SITE = "site"  # the service's own pages
    CDN = "cdn"  # a host the site loads from (static, media)
    BASELINE = "baseline"  # a site councils almost never block: tells offline from blocked


class Category(StrEnum):
    """The closed set of service categories (a `Service.category` is one of these)."""

    SOCIAL = "social"
    VIDEO = "video"
    MESSAGING = "messaging"
    BLOG = "blog"
    EVENTS = "events"
    COLLABORATION = "collaboration"
    GOVERNMENT = "government"
    BASELINE = "baseline"
    OTHER = "other"  # ad-hoc URLs of hosts the catalogue does not know


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    id: str  # unique across the catalogue, e.g. "facebook", "facebook/static.xx.fbcdn.net"
    url: str
    role: Role = Role.SITE
    login_redirect_ok: bool = True  # a redirect to a sign-in page means reachable


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    id: str  # e.g. "facebook"
    name: str  # e.g. "Facebook"
    category: str  # one of Category
    endpoints: tuple[Endpoint, ...]
    notes: str = ""
    # Hosts the service owns, subdomains included; empty: its endpoints' hosts without "www.".
    domains: tuple[str, ...] = ()

    def owns(self, host: str) -> int:
        """How specifically this service claims `host`: the length of the matching domain,
        0 when it does not claim it."""
        host = host.lower().rstrip(".")
        best = 0
        for domain in self.domains or _endpoint_domains(self):
            if host == domain or host.endswith("." + domain):
                best = max(best, len(domain))
        return best


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalogue:
    services: tuple[Service, ...]
    source: str = PACKAGED

    def endpoints(self) -> list[tuple[Service, Endpoint]]:
        return [(s, e) for s in self.services for e in s.endpoints]

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def service_for_host(self, host: str) -> Service | None:
        """The service that claims this host (the most specific claim wins)."""
        best: tuple[int, Service] | None = None
        for service in self.services:
            score = service.owns(host)
            if score and (best is None or score > best[0]):
                best = (score, service)
        return best[1] if best else None

    @classmethod
    def from_urls(cls, urls: Iterable[str], *, known: Catalogue | None = None,
                  source: str = "<command line>") -> Catalogue:
        """A catalogue of ad-hoc URLs: each endpoint's id is its host (plus the path where two
        URLs share a host); its service is the one `known` (default: the packaged catalogue)
        gives the host, else a service named after the host in category "other".
        Raises CatalogueError for a URL that is not http(s) with a host."""
        entries = [(url, f"urls[{i}]", None) for i, url in enumerate(urls)]
        return _adhoc(entries, known=known, file=source)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue in `path`, or the packaged one when None. Raises CatalogueError."""
    if path is None:
        return packaged_catalogue()
    return _from_document(load_yaml(path, error=CatalogueError), source=str(path))


def parse_catalogue(text: str, *, file: str = "<string>") -> Catalogue:
    """A catalogue from YAML text; `file` names it in errors and becomes its source."""
    return _from_document(parse_yaml(text, file=file, error=CatalogueError), source=file)


@functools.cache
def packaged_catalogue() -> Catalogue:
    """The catalogue shipped with the package (loaded once)."""
    resource = resources.files("access_probe").joinpath("targets.yaml")
    doc = parse_yaml(resource.read_text(encoding="utf-8"), file=str(resource),
                     error=CatalogueError)
    return _from_document(doc, source=PACKAGED)


# --- parsing ----------------------------------------------------------------------------------

_TOP_KEYS = ("version", "services", "targets")
_SERVICE_KEYS = ("id", "name", "category", "notes", "domains", "endpoints")
_ENDPOINT_KEYS = ("id", "url", "role", "login_redirect_ok")
_SERVICE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_ENDPOINT_ID = re.compile(r"[a-z0-9][a-z0-9._/-]{0,127}")
_DOMAIN = re.compile(r"(?=.{1,253}\Z)([a-z0-9-]{1,63}\.)+[a-z0-9-]{1,63}")


def _endpoint_domains(service: Service) -> list[str]:
    hosts = ((urlsplit(e.url).hostname or "").lower() for e in service.endpoints)
    return [h.removeprefix("www.") for h in hosts if h]


class _Parser:
    """Validates one document and builds the catalogue; keeps ids and URLs seen so far."""

    def __init__(self, doc: YAMLDocument) -> None:
        self.doc = doc
        self.endpoint_ids: dict[str, str] = {}  # id -> path that defined it
        self.service_ids: dict[str, str] = {}
        self.urls: dict[str, str] = {}

    def fail(self, problem: str, path: str, *, at_key: bool = False) -> CatalogueError:
        line = self.doc.key_line(path) if at_key else self.doc.line(path)
        return CatalogueError(problem, file=self.doc.file, line=line, key=path or None)

    def mapping(self, value: object, path: str, allowed: Sequence[str]) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(f"expected a mapping, got {_type_name(value)}", path)
        for key in value:
            if key not in allowed:
                raise self.fail(f"unknown key (expected one of: {', '.join(allowed)})",
                                join(path, key), at_key=True)
        return value

    def string(self, data: dict[str, object], key: str, path: str, *,
               pattern: re.Pattern[str] | None = None, default: str | None = None) -> str:
        where = join(path, key)
        value = data.get(key, default)
        if value is None:
            raise self.fail(f"missing required key {key!r}", path)
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {_type_name(value)}", where)
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(f"{value!r} is not a valid {key}: expected {pattern.pattern}", where)
        return value

    def sequence(self, value: object, path: str) -> list[object]:
        if not isinstance(value, list):
            raise self.fail(f"expected a list, got {_type_name(value)}", path)
        if not value:
            raise self.fail("must not be empty", path)
        return value

    def url(self, value: object, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"expected a URL string, got {_type_name(value)}", path)
        problem = http_url_problem(value)
        if problem:
            raise self.fail(f"{value!r}: {problem}", path)
        if urlsplit(value).username is not None:
            raise self.fail(f"{value!r}: must not carry credentials", path)
        if value in self.urls:
            raise self.fail(f"duplicate url (first at {self.urls[value]})", path)
        self.urls[value] = f"line {self.doc.line(path)}"
        return value

    def claim(self, table: dict[str, str], ident: str, what: str, path: str) -> str:
        if ident in table:
            raise self.fail(f"duplicate {what} {ident!r} (first at {table[ident]})", path)
        table[ident] = f"line {self.doc.line(path)}"
        return ident

    def service(self, value: object, path: str) -> Service:
        data = self.mapping(value, path, _SERVICE_KEYS)
        sid = self.string(data, "id", path, pattern=_SERVICE_ID)
        self.claim(self.service_ids, sid, "service id", join(path, "id"))
        category = self.string(data, "category", path, default=Category.OTHER)
        if category not in set(Category):
            raise self.fail(f"{category!r} is not a category (one of: {', '.join(Category)})",
                            join(path, "category"))
        domains = [self.domain(d, join(join(path, "domains"), i))
                   for i, d in enumerate(self.sequence(data["domains"], join(path, "domains")))
                   ] if "domains" in data else []
        service = Service(id=sid, name=self.string(data, "name", path, default=sid),
                          category=Category(category), endpoints=(),
                          notes=self.string(data, "notes", path, default=""),
                          domains=tuple(domains))
        items = self.sequence(data.get("endpoints"), join(path, "endpoints"))
        endpoints: list[Endpoint] = []
        for i, item in enumerate(items):
            endpoints.append(self.endpoint(item, join(join(path, "endpoints"), i), service,
                                           endpoints))
        return replace(service, endpoints=tuple(endpoints))

    def domain(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not _DOMAIN.fullmatch(value.lower()):
            raise self.fail(f"{value!r} is not a host name such as example.com", path)
        return value.lower()

    def endpoint(self, value: object, path: str, service: Service,
                 siblings: Sequence[Endpoint]) -> Endpoint:
        data: dict[str, object] = ({"url": value} if isinstance(value, str)
                                   else self.mapping(value, path, _ENDPOINT_KEYS))
        if "url" not in data:
            raise self.fail("missing required key 'url'", path)
        url = self.url(data["url"], path if isinstance(value, str) else join(path, "url"))
        if "id" in data:
            eid = self.string(data, "id", path, pattern=_ENDPOINT_ID)
        else:
            eid = _derived_id(service.id, url, siblings)
        self.claim(self.endpoint_ids, eid, "endpoint id", join(path, "id") if "id" in data
                   else path)
        default_role = Role.BASELINE if service.category == Category.BASELINE else Role.SITE
        role = self.string(data, "role", path, default=default_role)
        if role not in set(Role):
            raise self.fail(f"{role!r} is not a role (one of: {', '.join(Role)})",
                            join(path, "role"))
        redirect_ok = data.get("login_redirect_ok", True)
        if not isinstance(redirect_ok, bool):
            raise self.fail(f"expected true or false, got {_type_name(redirect_ok)}",
                            join(path, "login_redirect_ok"))
        return Endpoint(id=eid, url=url, role=Role(role), login_redirect_ok=redirect_ok)


def _derived_id(service_id: str, url: str, siblings: Sequence[Endpoint]) -> str:
    """The first endpoint is the service's front door and takes its id; the others are
    `<service>/<host>`, or `<service>/<host><path>` when the service already has that host."""
    if not siblings:
        return service_id
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    shared = any(urlsplit(e.url).hostname == host for e in siblings)
    return f"{service_id}/{host}" + (parts.path.rstrip("/") if shared else "")


def _from_document(doc: YAMLDocument, *, source: str) -> Catalogue:
    parser = _Parser(doc)
    data = doc.data
    if isinstance(data, list):
        return _adhoc(_url_entries(parser, data, ""), known=None, file=doc.file, source=source)
    top = parser.mapping(data if data is not None else {}, "", _TOP_KEYS)
    version = top.get("version", 1)
    if version != 1 or isinstance(version, bool):
        raise parser.fail(f"unsupported version {version!r} (this program reads version 1)",
                          "version")
    if ("services" in top) == ("targets" in top):
        raise parser.fail("expected either 'services:' or 'targets:' (or a list of URLs)",
                          "targets" if "targets" in top else "")
    if "targets" in top:
        entries = _url_entries(parser, parser.sequence(top["targets"], "targets"), "targets")
        return _adhoc(entries, known=None, file=doc.file, source=source)
    items = parser.sequence(top["services"], "services")
    services = [parser.service(item, join("services", i)) for i, item in enumerate(items)]
    return Catalogue(services=tuple(services), source=source)


def _url_entries(parser: _Parser, items: list[object],
                 path: str) -> list[tuple[str, str, int | None]]:
    entries = []
    for i, item in enumerate(items):
        where = join(path, i) if path else f"[{i}]"
        entries.append((parser.url(item, where), where, parser.doc.line(where)))
    return entries


def _adhoc(entries: Sequence[tuple[str, str, int | None]], *, known: Catalogue | None,
           file: str, source: str | None = None) -> Catalogue:
    """Services for ad-hoc URLs, grouped by the service `known` assigns to each host."""
    known = known if known is not None else packaged_catalogue()
    grouped: dict[str, tuple[Service, list[Endpoint]]] = {}
    ids: set[str] = set()
    for url, path, line in {e[0]: e for e in entries}.values():
        problem = http_url_problem(url)
        if problem:
            raise CatalogueError(f"{url!r}: {problem}", file=file, line=line, key=path)
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        service = known.service_for_host(host) or Service(
            id=host, name=host, category=Category.OTHER, endpoints=())
        match = next((e for _, e in known.endpoints() if e.url == url), None)
        eid = next(c for c in (host, host + parts.path.rstrip("/"), url) if c not in ids)
        ids.add(eid)
        endpoint = Endpoint(id=eid, url=url, role=match.role if match else Role.SITE,
                            login_redirect_ok=match.login_redirect_ok if match else True)
        grouped.setdefault(service.id, (service, []))[1].append(endpoint)
    services = tuple(replace(s, endpoints=tuple(eps)) for s, eps in grouped.values())
    return Catalogue(services=services, source=source or file)


def _type_name(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping", type(None): "nothing"}
    return names.get(type(value), type(value).__name__)
