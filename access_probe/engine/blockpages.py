"""Block-page knowledge as data (data/blockpages*.yaml) and the matcher over it.

    match_page(obs)              -> tuple[Match, ...]   best first; empty when nothing matched
    looks_like_block_page(obs)   -> bool                 a cheap, conservative guess for the rest
    match_dns_answer(addresses)  -> tuple[Match, ...]    known sinkhole answers (DNS data file)
    fingerprints()               -> tuple[Fingerprint, ...]  the validated data, in file order
    used_headers()               -> frozenset[str]       header names the data looks at

The data files are read once (importlib.resources) and validated on first use: an unknown key,
a bad value or a regular expression that does not compile raises `FingerprintError`
(an `InputError`: `file:line: key: problem`). Matching never raises for what a server sent.

Privacy: a `Match` carries no page text except the filter's category, which is cleaned
(tags stripped, at most 80 characters) and dropped when it looks like a user name, an address
or a URL. Block pages print the user's name and IP next to the category; none of it leaves here.

Speed: fingerprints are grouped into families by (field, case-sensitivity); each family is one
precompiled alternation searched once per response. Only a family that hits is re-checked
fingerprint by fingerprint, so an ordinary page costs about one regex pass per family.
"""

from __future__ import annotations

import html
import ipaddress
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import _lru_cache_wrapper, cache
from importlib import resources
from typing import Any, TypeVar
from urllib.parse import unquote_plus, urlsplit

from access_probe.errors import InputError
from access_probe.model import HTTPObservation, ProxyObservation
from access_probe.yamlload import YAMLDocument, join, parse_yaml

__all__ = [
    "load",
    "release",
    "Confidence",
    "Fingerprint",
    "FingerprintError",
    "Match",
    "PageKind",
    "fingerprints",
    "looks_like_block_page",
    "match_dns_answer",
    "match_page",
    "offers_way_on",
    "stated_category",
    "upstream_failure",
    "used_headers",
]

_PACKAGE = "access_probe"
_DATA_DIR = "data"
_MAIN_FILE = "blockpages.yaml"
_DNS_FILE = "blockpages_dns.yaml"
_MAX_SCAN = 512 * 1024  # characters of body searched; block pages are a few KB
_CATEGORY_MAX = 80
_FIELDS = ("body", "title", "location", "status", "headers")
_E = TypeVar("_E", bound=StrEnum)


class FingerprintError(InputError):
    """A block-page data file is invalid."""


class PageKind(StrEnum):
    BLOCK = "block"  # a filter refused the page
    WARN = "warn"  # a filter warns; the user may continue
    AUTH = "auth"  # sign in first (proxy authentication, a filter's login page)
    CAPTIVE = "captive"  # a network portal stands in front of everything
    BENIGN = "benign"  # looks like a block, is not (CDN challenge, parking page, 5xx)


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Source(StrEnum):
    CITIZENLAB = "citizenlab"
    CENSOREDPLANET = "censoredplanet"
    VENDOR_DOCS = "vendor-docs"
    PROJECT = "project"


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """One fingerprint that matched one response."""

    id: str
    vendor: str | None
    kind: PageKind
    category: str | None
    confidence: Confidence


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprint:
    """One validated entry of a data file."""

    id: str
    vendor: str | None
    kind: PageKind
    where: str  # body | title | location | status | headers | header:<name>
    pattern: str
    regex: bool
    ignore_case: bool
    confidence: Confidence
    source: Source
    # Compiled at load when the pattern is a true regular expression (that validates it);
    # plain text, and regexes of escaped characters only, compile on first use (`compiled`):
    # the matcher finds those by substring, so most never need it.
    compiled_now: re.Pattern[str] | None = field(default=None, repr=False)
    also: re.Pattern[str] | None = field(default=None, repr=False)
    statuses: frozenset[int] = frozenset()
    category: re.Pattern[str] | None = field(default=None, repr=False)
    category_from: str = "body"
    ref: str | None = None
    note: str = ""
    order: int = 0

    @property
    def compiled(self) -> re.Pattern[str]:
        if self.compiled_now is not None:
            return self.compiled_now
        return re.compile(_as_regex(self.pattern, self.regex),
                          re.IGNORECASE if self.ignore_case else 0)

    def match(self, *, category: str | None) -> Match:
        return Match(id=self.id, vendor=self.vendor, kind=self.kind, category=category,
                     confidence=self.confidence)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Member:
    fp: Fingerprint
    literal: str | None  # the text a plain pattern stands for; lower-cased if case-blind


@dataclass(frozen=True, slots=True, kw_only=True)
class _Family:
    """Fingerprints searched together: same field, same case rule."""

    where: str
    lower: bool  # search the lower-cased view (the family ignores case)
    screen: re.Pattern[str] | None  # "does any plain member match?" in one pass
    members: tuple[_Member, ...]  # the plain ones (literal set), then the true regexes


# ------------------------------------------------------------------------- loading

_REQUIRED = frozenset({"id", "kind", "where", "pattern", "confidence", "source"})
_OPTIONAL = frozenset({"vendor", "regex", "ignore_case", "also", "status", "category",
                       "category_from", "ref", "note"})
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VENDOR = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_HEADER = re.compile(r"^header:([a-z0-9-]+)$")


def _data_files() -> list[tuple[str, str]]:
    folder = resources.files(_PACKAGE).joinpath(_DATA_DIR)
    names = sorted(p.name for p in folder.iterdir()
                   if p.name.startswith("blockpages") and p.name.endswith(".yaml"))
    names = [_MAIN_FILE] + [n for n in names if n not in (_MAIN_FILE, _DNS_FILE)]
    return [(f"{_DATA_DIR}/{n}", folder.joinpath(n).read_text(encoding="utf-8")) for n in names]


_T = TypeVar("_T")
_BUILD = threading.RLock()  # one thread builds the fingerprints; the others wait for them


def _built_once(build: Callable[[], _T]) -> _lru_cache_wrapper[_T]:
    """`functools.cache`, made single-flight: a check builds the fingerprints on its
    `prepare` thread while the first responses arrive on the probe threads; without the lock
    each of them built its own copy (the same CPU twice or more)."""
    cached = cache(build)

    def once() -> _T:
        with _BUILD:
            return cached()

    once.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    once.cache_info = cached.cache_info  # type: ignore[attr-defined]
    once.__doc__ = build.__doc__
    return once  # type: ignore[return-value]


@_built_once
def fingerprints() -> tuple[Fingerprint, ...]:
    """Every page fingerprint, validated, in file order (blockpages.yaml first)."""
    found: tuple[Fingerprint, ...] = ()
    seen: dict[str, str] = {}
    for file, text in _data_files():
        doc = parse_yaml(text, file=file, error=FingerprintError)
        found += _load(doc, start=len(found), seen=seen)
    return found


def load_fingerprints(text: str, *, file: str = "<text>") -> tuple[Fingerprint, ...]:
    """Validate one data file's text (for tests and tools); same rules as the packaged files."""
    doc = parse_yaml(text, file=file, error=FingerprintError)
    return _load(doc, start=0, seen={})


def _load(doc: YAMLDocument, *, start: int, seen: dict[str, str]) -> tuple[Fingerprint, ...]:
    found: list[Fingerprint] = []
    for path, entry in _entries(doc, "fingerprints"):
        fp = _fingerprint(doc, path, entry, order=start + len(found))
        if fp.id in seen:
            raise _error(doc, join(path, "id"), f"duplicate id (also in {seen[fp.id]})")
        seen[fp.id] = doc.file
        found.append(fp)
    return tuple(found)


def _entries(doc: YAMLDocument, key: str) -> list[tuple[str, Mapping[str, object]]]:
    data = doc.data
    if not isinstance(data, Mapping):
        raise _error(doc, "", "expected a mapping with `version` and `" + key + "`")
    for name in data:
        if name not in ("version", key) and not str(name).startswith("x-"):
            raise _error(doc, str(name), "unknown key")
    if data.get("version") != 1:
        raise _error(doc, "version", "must be 1")
    items = data.get(key)
    if not isinstance(items, list):
        raise _error(doc, key, "must be a list")
    out = []
    for i, item in enumerate(items):
        path = join(key, i)
        if not isinstance(item, Mapping):
            raise _error(doc, path, "each entry must be a mapping")
        out.append((path, item))
    return out


def _fingerprint(doc: YAMLDocument, path: str, e: Mapping[str, object], *,
                 order: int) -> Fingerprint:
    _check_keys(doc, path, e, _REQUIRED, _OPTIONAL)
    where = _where(doc, path, e)
    regex = _flag(doc, path, e, "regex")
    ignore_case = _flag(doc, path, e, "ignore_case")
    pattern = _text(doc, path, e, "pattern")
    return Fingerprint(
        id=_matching(doc, path, e, "id", _ID),
        vendor=_vendor(doc, path, e),
        kind=_enum(doc, path, e, "kind", PageKind),
        where=where, pattern=pattern, regex=regex, ignore_case=ignore_case,
        confidence=_enum(doc, path, e, "confidence", Confidence),
        source=_enum(doc, path, e, "source", Source),
        compiled_now=None if _plain(pattern, regex) else _compile(
            doc, join(path, "pattern"), pattern, ignore_case),
        also=_also(doc, path, e, ignore_case),
        statuses=_statuses(doc, path, e),
        category=_category(doc, path, e),
        category_from=_category_from(doc, path, e, where),
        ref=_optional_text(doc, path, e, "ref"),
        note=_optional_text(doc, path, e, "note") or "",
        order=order,
    )


def _check_keys(doc: YAMLDocument, path: str, e: Mapping[str, object],
                required: frozenset[str], optional: frozenset[str]) -> None:
    for key in e:
        if key not in required and key not in optional:
            raise _error(doc, join(path, str(key)), "unknown key")
    for key in sorted(required - set(e)):
        raise _error(doc, path, f"missing required key `{key}`")


def _where(doc: YAMLDocument, path: str, e: Mapping[str, object]) -> str:
    where = _text(doc, path, e, "where")
    if where in _FIELDS or _HEADER.match(where):
        return where
    raise _error(doc, join(path, "where"),
                 f"must be one of {', '.join(_FIELDS)} or header:<lower-case name>")


def _text(doc: YAMLDocument, path: str, e: Mapping[str, object], key: str) -> str:
    value = e.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise _error(doc, join(path, key), "must be a non-empty string")
    return str(value)


def _optional_text(doc: YAMLDocument, path: str, e: Mapping[str, object],
                   key: str) -> str | None:
    return None if e.get(key) is None else _text(doc, path, e, key)


def _matching(doc: YAMLDocument, path: str, e: Mapping[str, object], key: str,
              shape: re.Pattern[str]) -> str:
    value = _text(doc, path, e, key)
    if not shape.match(value):
        raise _error(doc, join(path, key), "use lower-case letters, digits and hyphens")
    return value


def _vendor(doc: YAMLDocument, path: str, e: Mapping[str, object]) -> str | None:
    return None if e.get("vendor") is None else _matching(doc, path, e, "vendor", _VENDOR)


def _flag(doc: YAMLDocument, path: str, e: Mapping[str, object], key: str) -> bool:
    value = e.get(key, False)
    if not isinstance(value, bool):
        raise _error(doc, join(path, key), "must be true or false")
    return value


def _enum(doc: YAMLDocument, path: str, e: Mapping[str, object], key: str,
          kind: type[_E]) -> _E:
    value = _text(doc, path, e, key)
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise _error(doc, join(path, key), f"must be one of {choices}") from None


def _statuses(doc: YAMLDocument, path: str, e: Mapping[str, object]) -> frozenset[int]:
    value = e.get("status")
    if value is None:
        return frozenset()
    codes = value if isinstance(value, list) else []
    if not codes or not all(_is_status(v) for v in codes):
        raise _error(doc, join(path, "status"), "must be a list of HTTP status codes")
    return frozenset(int(v) for v in codes)


def _is_status(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _also(doc: YAMLDocument, path: str, e: Mapping[str, object],
          ignore_case: bool) -> re.Pattern[str] | None:
    if e.get("also") is None:
        return None
    return _compile(doc, join(path, "also"), _text(doc, path, e, "also"), ignore_case)


def _category(doc: YAMLDocument, path: str, e: Mapping[str, object]) -> re.Pattern[str] | None:
    if e.get("category") is None:
        return None
    key = join(path, "category")
    compiled = _compile(doc, key, _text(doc, path, e, "category"), True)
    if "category" not in compiled.groupindex:
        raise _error(doc, key, "needs a named group (?P<category>...)")
    return compiled


def _category_from(doc: YAMLDocument, path: str, e: Mapping[str, object], where: str) -> str:
    if e.get("category_from") is not None:
        value = _text(doc, path, e, "category_from")
        if value not in ("body", "title", "location"):
            raise _error(doc, join(path, "category_from"), "must be body, title or location")
        return value
    return where if where in ("body", "title", "location") else "body"


def _as_regex(pattern: str, regex: bool) -> str:
    return pattern if regex else re.escape(pattern)


def _compile(doc: YAMLDocument, key: str, pattern: str, ignore_case: bool) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise _error(doc, key, f"invalid regular expression: {exc}") from exc
    if compiled.groupindex and not key.endswith(".category"):
        raise _error(doc, key, "named groups belong in `category` only")
    return compiled


def _error(doc: YAMLDocument, path: str, problem: str) -> FingerprintError:
    return FingerprintError(problem, file=doc.file, line=doc.key_line(path), key=path or None)


@_built_once
def _families() -> tuple[_Family, ...]:
    groups: dict[tuple[str, bool], list[Fingerprint]] = {}
    for fp in fingerprints():
        groups.setdefault((fp.where, fp.ignore_case), []).append(fp)
    return tuple(_family(where, ic, tuple(members)) for (where, ic), members in groups.items())


def _family(where: str, lower: bool, fps: tuple[Fingerprint, ...]) -> _Family:
    members = tuple(_Member(fp=fp, literal=_literal(fp, lower)) for fp in fps)
    literals = [m.literal for m in members if m.literal is not None]
    # Plain patterns go into one trie-shaped expression, which re walks in a single pass
    # (a flat alternation of hundreds of strings is twenty times slower). True regular
    # expressions are searched one by one: each keeps re's own prefix and charset shortcuts,
    # which an alternation with the trie loses (together they took twice as long).
    screen = re.compile(_trie(literals)) if literals else None
    ordered = tuple(m for m in members if m.literal is not None) + tuple(
        m for m in members if m.literal is None)
    return _Family(where=where, lower=lower, screen=screen, members=ordered)


_ESCAPED = re.compile(r"\\([^A-Za-z0-9])")
_META = frozenset(".^$*+?{}[]|()\\")


def _plain(pattern: str, regex: bool) -> bool:
    """Plain text, or a regex of literal and escaped punctuation characters only (always a
    valid expression, without groups)."""
    return not regex or not any(c in _META for c in _ESCAPED.sub("", pattern))


def _literal(fp: Fingerprint, lower: bool) -> str | None:
    """The plain text a pattern stands for: itself, or a regex of escaped characters only."""
    if not _plain(fp.pattern, fp.regex):
        return None
    text = _ESCAPED.sub(r"\1", fp.pattern) if fp.regex else fp.pattern
    return text.lower() if lower else text


def _trie(words: list[str]) -> str:
    root: dict[str, dict[str, Any]] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _emit(root)


def _emit(node: dict[str, dict[str, Any]]) -> str:
    branches = [re.escape(char) + _emit(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


@_built_once
def used_headers() -> frozenset[str]:
    """Header names (lower-case) the fingerprints read; `headers` reads all of them."""
    return frozenset(fp.where.split(":", 1)[1] for fp in fingerprints()
                     if fp.where.startswith("header:")) | {"location", "content-type"}


# ------------------------------------------------------------------------- matching

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_CONFIDENCE_RANK = {Confidence.HIGH: 0, Confidence.MEDIUM: 1, Confidence.LOW: 2}
# A more specific kind first when one response matches several: a warn page repeats the
# vendor's block text and adds a continue button, an auth page is a refusal that asks for more.
_KIND_RANK = {PageKind.AUTH: 0, PageKind.CAPTIVE: 1, PageKind.WARN: 2, PageKind.BLOCK: 3,
              PageKind.BENIGN: 4}


class _Page:
    """The decoded views of one response, each computed at most once."""

    __slots__ = ("_obs", "_views")

    def __init__(self, obs: HTTPObservation | ProxyObservation) -> None:
        self._obs = obs
        self._views: dict[str, str] = {}

    @property
    def status(self) -> int | None:
        return self._obs.status

    def view(self, where: str, *, lower: bool = False) -> str:
        key = where + ":lower" if lower else where
        if key not in self._views:
            self._views[key] = self.view(where).lower() if lower else self._make(where)
        return self._views[key]

    def _make(self, where: str) -> str:
        headers = self._obs.headers
        if where == "body":
            return decode_body(self._obs.body, headers.get("content-type"))
        if where == "title":
            return self._obs.title or _title_of(self.view("body"))
        if where == "location":
            location = getattr(self._obs, "location", None)
            return location or headers.get("location", "")
        if where == "status":
            return "" if self._obs.status is None else str(self._obs.status)
        if where == "text":  # what a person reads (not a fingerprint field)
            return visible_text(self.view("body"))
        if where == "headers":
            return "\n".join(f"{k}: {v}" for k, v in headers.items())
        return headers.get(where.split(":", 1)[1], "")


_LAST = threading.local()  # the last response examined on this thread, with its views


def _page(obs: HTTPObservation | ProxyObservation) -> _Page:
    """The views of `obs`, shared by the matcher and the page rules that a check runs over
    the same response one after another (the body is decoded, lowered and stripped of tags
    once, not once per rule)."""
    last = getattr(_LAST, "page", None)
    if last is None or last._obs is not obs:
        last = _LAST.page = _Page(obs)
    return last


def decode_body(body: bytes, content_type: str | None) -> str:
    """The body as text: the declared charset, else UTF-8; undecodable bytes replaced."""
    declared = _CHARSET.search(content_type or "")
    data = body[:_MAX_SCAN]
    if declared:
        try:
            return data.decode(declared.group(1), "replace")
        except LookupError:
            pass  # an unknown charset name: fall back as if none were given
    return data.decode("utf-8", "replace")


def _title_of(text: str) -> str:
    found = _TITLE.search(text, 0, 65536)
    return " ".join(html.unescape(found.group(1)).split()) if found else ""


def match_page(obs: HTTPObservation | ProxyObservation) -> tuple[Match, ...]:
    """Every fingerprint matching this response, best first.

    Order: confidence; then vendor-specific before generic; then auth, captive, warn, block,
    benign; then matches that name a category; then file order. The first match is the
    matcher's answer; the rest are corroboration.
    """
    page = _page(obs)
    hits: list[tuple[Fingerprint, str | None]] = []
    for family in _families():
        text = page.view(family.where, lower=family.lower)
        if not text:
            continue
        plain = family.screen is not None and family.screen.search(text) is not None
        for member in family.members:
            if member.literal is not None and not plain:
                continue
            fp = member.fp
            if fp.statuses and page.status not in fp.statuses:
                continue
            found = (member.literal in text if member.literal is not None
                     else fp.compiled.search(text) is not None)
            if found and (fp.also is None or fp.also.search(text) is not None):
                hits.append((fp, _category_of(fp, page)))
    hits.sort(key=_rank)
    return tuple(fp.match(category=category) for fp, category in hits)


def _rank(hit: tuple[Fingerprint, str | None]) -> tuple[int, int, int, int, int]:
    fp, category = hit
    return (_CONFIDENCE_RANK[fp.confidence], fp.vendor is None, _KIND_RANK[fp.kind],
            category is None, fp.order)


def _category_of(fp: Fingerprint, page: _Page) -> str | None:
    if fp.category is None:
        return None
    found = fp.category.search(page.view(fp.category_from))
    if found is None or found.group("category") is None:
        return None
    return clean_category(found.group("category"), from_url=fp.category_from == "location")


# ------------------------------------------------------------------------- categories

_TAG = re.compile(r"<[^>]*>?")
# Labels block pages print beside the category; the category ends where one begins.
_LABEL = re.compile(
    r"\b(?:user(?:\s*name)?|login|account|ip(?:\s*address)?|client(?:\s*(?:ip|address|name))?"
    r"|(?:filter\s*)?group|host(?:\s*name)?|computer|machine|mac|url|reason|time|date)\s*[:=]",
    re.IGNORECASE)
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_IPV6 = re.compile(r"(?<![\w:])[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?![\w:])", re.IGNORECASE)
_PERSONAL = re.compile(r"@|\\|://|\bwww\.", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^(?:-[A-Z]+-|%%?\w+%%?|\$\w+|none|n/a|unknown|-+)$", re.IGNORECASE)


def clean_category(raw: str, *, from_url: bool = False) -> str | None:
    """A filter's category text fit to store, or None when it could be about the user."""
    text = unquote_plus(raw) if from_url else raw
    text = " ".join(html.unescape(_TAG.sub(" ", text)).split())
    text = _LABEL.split(text, maxsplit=1)[0].strip()
    if _PLACEHOLDER.match(text):  # a template variable the filter left unfilled
        return None
    text = text.strip(" \t-:;,.|\"'()[]")
    if not text:
        return None
    if _IPV4.search(text) or _IPV6.search(text) or _PERSONAL.search(text):
        return None
    return text[:_CATEGORY_MAX].rstrip() or None


# ------------------------------------------------------------------------- heuristic

_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE_WORDS = re.compile(
    r"\b(?:access\s+(?:is\s+)?(?:denied|blocked|restricted)|(?:web\s*)?(?:site|page)\s+"
    r"(?:is\s+|has\s+been\s+)?blocked|blocked\s+(?:site|page|url|website|content)|"
    r"url\s+blocked|content\s+(?:filter|blocked)|web\s+filter)\b", re.IGNORECASE)
_BLOCK_PHRASE = re.compile(
    r"\b(?:access\s+(?:to\s+[^<>]{0,80}?\s+)?(?:has\s+been\s+|is\s+|was\s+)?"
    r"(?:denied|blocked|restricted)|(?:web\s*site|web\s*page|site|page|url|content|request)\s+"
    r"(?:has\s+been\s+|is\s+|was\s+)?(?:blocked|denied|filtered)|blocked\s+by|"
    r"forbidden\s+by\s+(?:policy|(?:your|the)\s+(?:network\s+)?administrator))\b",
    re.IGNORECASE)
_POLICY_WORD = re.compile(
    r"\b(?:polic(?:y|ies)|administrator|categor(?:y|ies|ised|ized)|acceptable\s+use|"
    r"web\s+filter(?:ing)?|content\s+filter(?:ing)?|service\s+desk|it\s+support)\b",
    re.IGNORECASE)
_SHORT_TEXT = 2500  # characters of visible text; real block pages say little


def looks_like_block_page(obs: HTTPObservation | ProxyObservation, *,
                          matches: tuple[Match, ...] | None = None) -> bool:
    """Does this response read like a block page? For responses no fingerprint explains.

    True when the best fingerprint match is not benign; otherwise, with no match at all, when
    the title says "blocked"/"access denied", or when a short page both states a refusal and
    cites a policy, administrator or category. Long pages that mention "blocked" in passing
    (news, forums) never qualify on body text. `matches`: what `match_page` already said.
    """
    if matches is None:
        matches = match_page(obs)
    if matches:
        return matches[0].kind is not PageKind.BENIGN
    page = _page(obs)
    if _TITLE_WORDS.search(page.view("title")):
        return True
    text = page.view("text")
    return (len(text) <= _SHORT_TEXT and _BLOCK_PHRASE.search(text) is not None
            and _POLICY_WORD.search(text) is not None)


def visible_text(markup: str) -> str:
    """Text a person would read: scripts, styles and tags removed, whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", markup))).split())


# ------------------------------------------------------------------------- DNS answers

@dataclass(frozen=True, slots=True, kw_only=True)
class _Answer:
    id: str
    vendor: str | None
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    confidence: Confidence


_DNS_REQUIRED = frozenset({"id", "kind", "answer", "confidence", "source"})
_DNS_OPTIONAL = frozenset({"vendor", "ref", "note"})


@_built_once
def _answers() -> tuple[_Answer, ...]:
    file = f"{_DATA_DIR}/{_DNS_FILE}"
    text = resources.files(_PACKAGE).joinpath(_DATA_DIR, _DNS_FILE).read_text(encoding="utf-8")
    doc = parse_yaml(text, file=file, error=FingerprintError)
    return tuple(_answer(doc, path, e) for path, e in _entries(doc, "answers"))


def _answer(doc: YAMLDocument, path: str, e: Mapping[str, object]) -> _Answer:
    _check_keys(doc, path, e, _DNS_REQUIRED, _DNS_OPTIONAL)
    if _enum(doc, path, e, "kind", PageKind) is not PageKind.BLOCK:
        raise _error(doc, join(path, "kind"), "DNS answers are block only")
    _enum(doc, path, e, "source", Source)
    try:
        address = ipaddress.ip_address(_text(doc, path, e, "answer"))
    except ValueError:
        raise _error(doc, join(path, "answer"), "must be an IP address") from None
    return _Answer(id=_matching(doc, path, e, "id", _ID), vendor=_vendor(doc, path, e),
                   address=address, confidence=_enum(doc, path, e, "confidence", Confidence))


def match_dns_answer(addresses: Iterable[str]) -> tuple[Match, ...]:
    """Known block-page/sinkhole answers among a DNS response's addresses, best first."""
    wanted = set()
    for text in addresses:
        try:
            wanted.add(ipaddress.ip_address(text))
        except ValueError:
            continue  # not an address (a CNAME, garbage): nothing to match
    hits = [a for a in _answers() if a.address in wanted]
    hits.sort(key=lambda a: (_CONFIDENCE_RANK[a.confidence], a.vendor is None))
    return tuple(Match(id=a.id, vendor=a.vendor, kind=PageKind.BLOCK, category=None,
                       confidence=a.confidence) for a in hits)


def load() -> None:
    """Build the fingerprints and their compiled patterns now (a check does it while its
    first connections are still on the wire, instead of after the last one)."""
    fingerprints()
    _families()
    used_headers()
    _answers()


def release() -> None:
    """Forget the loaded fingerprints and their compiled patterns (a few MB). The agent calls
    this between scheduled checks: it waits an hour holding nothing the next run cannot
    rebuild in a fraction of a second."""
    for cached in (fingerprints, _families, used_headers, _answers):
        cached.cache_clear()
    _LAST.__dict__.clear()  # this thread's last response and its views


# ------------------------------------------------------------------------- general page rules
# Rules that hold whoever made the page: filters are often unnamed or re-branded, so these
# read what the page says and offers, not whose it is.

_SQUID_NETWORK_ERROR = re.compile(
    r"ERR_(?:CONNECT_FAIL|DNS_FAIL|READ_TIMEOUT|READ_ERROR|WRITE_ERROR|ZERO_SIZE_OBJECT|"
    r"LIFETIME_EXP|SOCKET_FAILURE|SECURE_CONNECT_FAIL|GATEWAY_FAILURE|CANNOT_FORWARD|"
    r"INVALID_RESP)\b")
# What proxies and filters say when they, not the site, failed to fetch the page.
_UPSTREAM_PHRASE = re.compile(
    r"\b(?:(?:unable|failed)\s+to\s+(?:connect|load|reach|resolve|retrieve|get\s+response)|"
    r"could\s+not\s+(?:be\s+retrieved|connect|resolve|reach|load)|"
    r"connection\s+(?:to\s+\S+\s+)?(?:failed|timed\s+out|refused)|"
    r"(?:network|connection|upstream|gateway)\s+(?:error|failure|timeout|time-out)|"
    r"(?:dns|name)\s+(?:lookup|resolution)\s+(?:failed|failure|error)|"
    r"unable\s+to\s+determine\s+ip\s+address|read\s+timeout|"
    r"upstream\s+(?:proxy|server)\s+is\s+not\s+responding)\b", re.IGNORECASE)
_SQUID_COMMENT = re.compile(r"<!--\s*" + _SQUID_NETWORK_ERROR.pattern + r"\s*-->")
_PROXY_STATUSES = frozenset({502, 503, 504})


def upstream_failure(obs: HTTPObservation | ProxyObservation) -> bool:
    """Is this a proxy's or filter's own page saying it could not reach the site (Squid's
    ERR_CONNECT_FAIL/ERR_DNS_FAIL/ERR_READ_TIMEOUT, e2guardian's network-error page, any
    short 502/503/504 that says the connection failed)? Such a page is not the site."""
    page = _page(obs)
    if _SQUID_NETWORK_ERROR.match(page.view("header:x-squid-error")):
        return True
    if _SQUID_COMMENT.search(page.view("body")):
        return True
    text = page.view("text")
    if len(text) > _SHORT_TEXT:
        return False
    said = _UPSTREAM_PHRASE.search(page.view("title")) or _UPSTREAM_PHRASE.search(text)
    return said is not None and (obs.status in _PROXY_STATUSES or "guardian" in text.lower())


_WAY_ON_WORDS = re.compile(
    r"^\W*(?:continue|proceed|i\s+understand|acknowledge|i\s+accept|accept\s+and\s+continue|"
    r"continue\s+(?:anyway|to\s+(?:the\s+)?site|to\s+page)|proceed\s+anyway|"
    r"visit\s+(?:the\s+)?site\s+anyway)\b", re.IGNORECASE)
_BYPASS_TOKEN = re.compile(
    r"bypass|continue|proceed|override|acknowledge|accept|coach|warn|\bgbypass\b",
    re.IGNORECASE)
_A_TAG = re.compile(r"<a\b([^>]*)>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form\s*>", re.IGNORECASE | re.DOTALL)
_BUTTON = re.compile(r"<button\b[^>]*>(.*?)</button\s*>|<input\b([^>]*)>",
                     re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(r"""\b(href|action|value|type)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""",
                   re.IGNORECASE)


def _attrs(markup: str) -> dict[str, str]:
    return {m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
            for m in _ATTR.finditer(markup)}


def offers_way_on(obs: HTTPObservation | ProxyObservation, url: str) -> bool:
    """Does the page offer a way on to the requested URL: a Continue / Proceed /
    I understand / Acknowledge link, button or form that leads to that URL or carries a
    bypass token? (A warn-and-continue page, whoever made it.)"""
    body = _page(obs).view("body")
    if len(body) > _MAX_SCAN:
        body = body[:_MAX_SCAN]
    host = (urlsplit(url).hostname or "").lower()

    def leads_on(target: str) -> bool:
        if not target.strip():  # a form without an action posts back to the requested URL
            return True
        target = unquote_plus(target).lower()
        return bool(host and host in target) or _BYPASS_TOKEN.search(target) is not None

    for link in _A_TAG.finditer(body):
        label = visible_text(link.group(2))
        href = _attrs(link.group(1)).get("href", "")
        # An empty href is a template's unfilled bypass link (e2guardian without bypass).
        if _WAY_ON_WORDS.match(label) and href.strip() and leads_on(href):
            return True
    for form in _FORM.finditer(body):
        action = _attrs(form.group(1)).get("action", "")
        inner = form.group(2)
        labels = [visible_text(b.group(1)) if b.group(1) is not None
                  else _attrs(b.group(2) or "").get("value", "")
                  for b in _BUTTON.finditer(inner)]
        fields = " ".join(_attrs(i.group(2) or "").get("value", "")
                          for i in _BUTTON.finditer(inner) if i.group(2) is not None)
        if any(_WAY_ON_WORDS.match(label) for label in labels) and (
                leads_on(action) or leads_on(fields)):
            return True
    return False


_STATED_CATEGORY = re.compile(
    r"\b(?:categor(?:y|ies)\s*[:=]|categori[sz]ed\s+(?:as|under)|classified\s+(?:as|under))"
    r"\s*(?P<category>(?:[^<>\n.;|]|\.(?=\S)){1,120})", re.IGNORECASE)  # \s* may cross a tag
_CATEGORY_END = re.compile(
    r"\s+(?:and|which|that|is|are|has|have|by|for|so|so\s+it|because)\b.*$|,.*$",
    re.IGNORECASE)
_CATEGORY_PARAM = re.compile(r"[?&;](?:cat|category|categories)=([^&#;]+)", re.IGNORECASE)


def stated_category(obs: HTTPObservation | ProxyObservation) -> str | None:
    """The category a block or warn page prints ("Category: X", "categorised as X",
    "classified as X") or a redirect carries (cat=/category=), cleaned of anything about the
    user; None when it states none."""
    page = _page(obs)
    found = _CATEGORY_PARAM.search(page.view("location"))
    if found is not None:
        return clean_category(found.group(1), from_url=True)
    # Tags become line ends: a category ends with the element that holds it.
    text = html.unescape(_TAG.sub("\n", _SCRIPT.sub(" ", page.view("body")[:_MAX_SCAN])))
    said = _STATED_CATEGORY.search(text)
    if said is None:
        return None
    return clean_category(_CATEGORY_END.sub("", said.group("category")))
