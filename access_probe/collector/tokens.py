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
from dataclasses import dataclass

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
