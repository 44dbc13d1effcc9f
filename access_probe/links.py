"""Links in free text: what an officer pastes (a Knowledge Hub post, an e-mail, a Teams message).

`find_links(text)` returns every http(s) link in the order it first appears, cleaned the way
a person would clean it by hand before checking it:

- punctuation the prose put around it is not part of it: a trailing full stop, comma, colon,
  quote, or a closing bracket that the link itself did not open (`(see https://x.org/a)`);
- HTML entities from a copied page are decoded (`&amp;`);
- Outlook "Safe Links" wrappers are unwrapped to the link they carry;
- tracking parameters (`utm_*`, `fbclid`, `gclid`, ...) and the `#fragment` are dropped:
  neither changes whether a site is reachable, and both carry campaign or personal ids;
- a bare `www.` host gets `https://`;
- duplicates (same link after cleaning, host case ignored) are kept once.

A candidate that still is not a usable URL (`http://256.1.1.1/`) is returned in `skipped`
with the reason, so the caller can say so instead of silently dropping it. Pure functions.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from access_probe.catalogue import http_url_problem

__all__ = ["FoundLinks", "clean_link", "find_links"]

# Up to the first character that cannot sit inside a link in running text.
_CANDIDATE = re.compile(r"(?i)(?:\bhttps?://|(?<![\w.@/-])www\.)[^\s<>\"'`{}|\\^]+")
_TRAILING = ".,;:!?*'\"’”…"
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}
_TRACKING = re.compile(
    r"(?i)^(utm_[a-z_]+|fbclid|gclid|gclsrc|dclid|msclkid|yclid|mc_cid|mc_eid|_hsenc|_hsmi"
    r"|igshid|mkt_tok|oly_anon_id|oly_enc_id|vero_id|wickedid|__s|_ga|_gl)$")
_SAFELINKS = re.compile(r"(?i)^[a-z0-9-]+\.safelinks\.protection\.outlook\.com$")


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundLinks:
    links: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()  # (what was found, why it cannot be checked)


def _strip_prose(candidate: str) -> str:
    """Drop trailing punctuation and closing brackets the link did not open."""
    while candidate:
        last = candidate[-1]
        if last in _TRAILING:
            candidate = candidate[:-1]
        elif last in _PAIRS and candidate.count(last) > candidate.count(_PAIRS[last]):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def clean_link(url: str) -> str:
    """One link without tracking parameters or fragment, Safe Links unwrapped, host lower
    case and an explicit `/` path. Raises ValueError for text urlsplit cannot read."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _SAFELINKS.match(host):
        wrapped = dict(parse_qsl(parts.query)).get("url")
        if wrapped and wrapped.lower().startswith(("http://", "https://")):
            return clean_link(wrapped)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not _TRACKING.match(k)]
    netloc = parts.netloc
    userinfo, _, hostport = netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + hostport.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/",
                       urlencode(query, doseq=True) if query else "", ""))


def find_links(text: str) -> FoundLinks:
    links: list[str] = []
    seen: set[str] = set()
    skipped: list[tuple[str, str]] = []
    for match in _CANDIDATE.finditer(text):
        raw = _strip_prose(html.unescape(_strip_prose(match.group(0))))
        candidate = raw if "://" in raw else "https://" + raw
        problem = http_url_problem(candidate)
        if problem is None:
            try:
                candidate = clean_link(candidate)
            except ValueError as exc:
                problem = f"not a valid URL ({exc})"
            else:
                problem = http_url_problem(candidate)
        if problem is not None:
            skipped.append((raw, problem))
            continue
        if candidate not in seen:
            seen.add(candidate)
            links.append(candidate)
    return FoundLinks(links=tuple(links), skipped=tuple(skipped))
