"""Enrolment and administrator tokens.

A token reads `ap_<id>_<secret>`: the id (public, 8 hex digits) finds the row, the secret
(32 random bytes) proves possession. Only the SHA-256 of the whole token is stored. A slow
password KDF buys nothing here: 256 random bits cannot be guessed offline, and a fast hash
keeps authentication cheap on every request. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from access_probe.collector.store.records import TokenRecord

PREFIX = "ap"
_TOKEN = re.compile(r"^ap_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewToken:
    id: str
    secret_hash: str
    token: str  # shown once, never stored


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is calling: an organisation's agent, or an administrator (org None)."""

    token_id: str
    org: str | None
    admin: bool


def new_token() -> NewToken:
    token_id = secrets.token_hex(4)
    token = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    return NewToken(id=token_id, secret_hash=hash_token(token), token=token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_id(token: str) -> str | None:
    """The id part of a well-formed token, else None (nothing to look up)."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


# Compared against when no row matches, so an unknown id costs the same hash and comparison.
NO_HASH = "0" * 64


def verify(token: str, stored_hash: str) -> bool:
    """Constant-time: the SHA-256 of what was presented against the stored one."""
    return hmac.compare_digest(hash_token(token), stored_hash)


class TokenCache:
    """Token rows by id, kept `seconds` per process so a busy agent does not cost a database
    read per request. Only rows that exist are kept (an unknown id is looked up every time,
    and charged to the failed-authentication throttle), and the secret is still verified
    against the kept hash on every request. The price: a token revoked in the database is
    still accepted by a process that read it less than `seconds` ago; `seconds` is the bound
    on how long a revocation takes to reach every replica (0 reads the database every time)."""

    def __init__(self, lookup: Callable[[str], TokenRecord | None], seconds: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lookup = lookup
        self.seconds = seconds
        self.clock = clock
        self._rows: dict[str, tuple[float, TokenRecord]] = {}

    def find(self, token_id: str) -> TokenRecord | None:
        if (fresh := self.kept(token_id)) is not None:
            return fresh
        now = self.clock()
        record = self.lookup(token_id)
        if record is None:
            self._rows.pop(token_id, None)
        elif self.seconds > 0:
            if len(self._rows) >= MAX_CACHED_TOKENS:  # bounded: ids are 8 hex digits
                self._rows.clear()
            self._rows[token_id] = (now, record)
        return record

    def kept(self, token_id: str) -> TokenRecord | None:
        """The row if it is in the cache and fresh, without reading the database (None
        otherwise): lets a caller skip a thread hop when no read is needed."""
        kept = self._rows.get(token_id)
        if kept is not None and self.clock() - kept[0] < self.seconds:
            return kept[1]
        return None


MAX_CACHED_TOKENS = 100_000
