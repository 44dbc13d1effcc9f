"""The durable queue between a check and the collector: SQLite in WAL mode.

A result is committed here (synchronous=FULL) before anyone tries to send it, and deleted
only after the collector acknowledged it, so a crash at any point loses nothing; ids are the
results' own UUIDs (INSERT OR IGNORE), so re-enqueueing or re-sending never duplicates.
Only anonymised documents (`anonymise.anonymise`) are ever written here.

Several processes may share one spool (a service and a tray agent): SQLite's locking keeps
them consistent, and the collector's idempotence absorbs a batch two of them sent at once.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import platformdirs

from access_probe.schema import CHECK_SCHEMA, iso, utc_now

__all__ = ["Batch", "Spool", "SpoolLimits", "SpoolStatus", "default_data_dir"]

log = logging.getLogger(__name__)

APP_NAME = "access-probe"
SPOOL_FILE = "spool.sqlite3"
MAX_BATCH = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    context TEXT NOT NULL,
    body TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    rejected TEXT
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def default_data_dir() -> Path:
    """The platform's per-user data directory for this application."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


AGENT_KEY = "~agent"  # in a spooled context: the document's agent field, not a context key


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolLimits:
    max_results: int = 100000
    max_age_days: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolStatus:
    pending: int
    oldest: datetime | None
    rejected: int = 0
    attempts: int = 0
    next_attempt: datetime | None = None
    path: str = ""
    last_error: str | None = None  # why the last delivery failed, in plain words

    def to_json(self) -> dict[str, Any]:
        return {
            "last_error": self.last_error,
            "pending": self.pending,
            "oldest": iso(self.oldest) if self.oldest else None,
            "rejected": self.rejected,
            "attempts": self.attempts,
            "next_attempt": iso(self.next_attempt) if self.next_attempt else None,
            "path": self.path,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Batch:
    """Results sharing one context, ready to be posted as one check document."""

    context: dict[str, Any]
    results: tuple[dict[str, Any], ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(str(r["id"]) for r in self.results)

    def document(self) -> dict[str, Any]:
        stamps = sorted(str(r.get("measured_at") or "") for r in self.results)
        stamps = [s for s in stamps if s] or [iso(utc_now())]
        context = {k: v for k, v in self.context.items() if k != AGENT_KEY}
        doc = {
            "schema": CHECK_SCHEMA,
            "started_at": stamps[0],
            "finished_at": stamps[-1],
            "context": context,
            "results": list(self.results),
        }
        if isinstance(self.context.get(AGENT_KEY), str):
            doc["agent"] = self.context[AGENT_KEY]
        return doc

    def split(self) -> tuple[Batch, Batch]:
        half = len(self.results) // 2
        return (Batch(context=self.context, results=self.results[:half]),
                Batch(context=self.context, results=self.results[half:]))


def _ts(dt: datetime) -> float:
    return dt.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Spool:
    """A queue of anonymised results in one SQLite file. Thread-safe; usable as a context
    manager. `clock` is injectable so tests can age results without waiting."""

    def __init__(self, path: Path, *, limits: SpoolLimits | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self.limits = limits or SpoolLimits()
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit survives power loss, not only a crash of this process
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, directory: Path | None, **kwargs: Any) -> Spool:
        return cls((directory or default_data_dir()) / SPOOL_FILE, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params))

    # -- queue -------------------------------------------------------------------------

    def enqueue(self, document: dict[str, Any]) -> int:
        """Store every result of an anonymised check document; returns how many were new."""
        # The document's agent ("access-probe/0.1.0") travels with the context, so the batch
        # posted later names the agent version that measured its results.
        context = dict(document.get("context") or {})
        if isinstance(document.get("agent"), str):
            context[AGENT_KEY] = document["agent"]
        context_json = json.dumps(context, sort_keys=True)
        now = _ts(self.clock())
        rows = [(str(r["id"]), context_json, json.dumps(r, sort_keys=True), now)
                for r in document.get("results") or ()]
        with self._write() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO results (id, context, body, enqueued_at)"
                           " VALUES (?, ?, ?, ?)", rows)
            added = db.total_changes - before
        self.prune()
        return added

    def next_batch(self, limit: int = MAX_BATCH) -> Batch | None:
        """The oldest pending results that share the oldest pending result's context."""
        first = self._read("SELECT context FROM results WHERE rejected IS NULL"
                           " ORDER BY seq LIMIT 1")
        if not first:
            return None
        context = first[0][0]
        rows = self._read("SELECT body FROM results WHERE rejected IS NULL AND context = ?"
                          " ORDER BY seq LIMIT ?", (context, min(limit, MAX_BATCH)))
        return Batch(context=json.loads(context),
                     results=tuple(json.loads(body) for (body,) in rows))

    def acknowledge(self, ids: Sequence[str]) -> int:
        """Forget results the collector has stored."""
        with self._write() as db:
            before = db.total_changes
            db.executemany("DELETE FROM results WHERE id = ?", [(i,) for i in ids])
            return db.total_changes - before

    def reject(self, ids: Sequence[str], reason: str) -> None:
        """Keep results the collector refused, but stop offering them (see `requeue`)."""
        with self._write() as db:
            db.executemany("UPDATE results SET rejected = ? WHERE id = ?",
                           [(reason[:200], i) for i in ids])

    def requeue_rejected(self) -> int:
        with self._write() as db:
            return int(db.execute("UPDATE results SET rejected = NULL"
                                  " WHERE rejected IS NOT NULL").rowcount)

    def pending(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM results WHERE rejected IS NULL")[0][0])

    def oldest(self) -> datetime | None:
        row = self._read("SELECT MIN(enqueued_at) FROM results WHERE rejected IS NULL")[0][0]
        return _dt(row) if row is not None else None

    def ids(self) -> set[str]:
        return {str(i) for (i,) in self._read("SELECT id FROM results")}

    def status(self) -> SpoolStatus:
        rejected = self._read("SELECT COUNT(*) FROM results WHERE rejected IS NOT NULL")[0][0]
        return SpoolStatus(pending=self.pending(), oldest=self.oldest(), rejected=int(rejected),
                           attempts=self.attempts(), next_attempt=self.next_attempt(),
                           path=str(self.path), last_error=self.last_error())

    def prune(self) -> int:
        """Enforce the age and size bounds, oldest first, saying so in the log."""
        cutoff = _ts(self.clock() - timedelta(days=self.limits.max_age_days))
        with self._write() as db:
            aged = db.execute("DELETE FROM results WHERE enqueued_at < ?", (cutoff,)).rowcount
            total = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            excess = max(0, total - self.limits.max_results)
            if excess:
                db.execute("DELETE FROM results WHERE seq IN"
                           " (SELECT seq FROM results ORDER BY seq LIMIT ?)", (excess,))
        if aged:
            log.warning("spool: dropped %d undelivered results older than %g days"
                        " (the collector has not accepted them in time)",
                        aged, self.limits.max_age_days)
        if excess:
            log.warning("spool: dropped the %d oldest undelivered results to stay within"
                        " spool.max_results=%d", excess, self.limits.max_results)
        return int(aged + excess)

    # -- state: backoff and agent memory survive restarts --------------------------------

    def get_state(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM state WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_state(self, key: str, value: str | None) -> None:
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM state WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                           (key, value))

    def attempts(self) -> int:
        return int(self.get_state("backoff.attempts") or 0)

    def next_attempt(self) -> datetime | None:
        value = self.get_state("backoff.next_attempt")
        return _dt(float(value)) if value else None

    def last_error(self) -> str | None:
        return self.get_state("delivery.last_error")

    def record_failure(self, delay: timedelta, error: str | None = None) -> datetime:
        """Count a failed submission, persist when the next may be tried and why it failed
        (for `spool status` and the tray, in another process or after a restart)."""
        when = self.clock() + delay
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES"
                       " ('backoff.attempts', ?), ('backoff.next_attempt', ?)",
                       (str(self.attempts_unlocked(db) + 1), repr(_ts(when))))
            if error:
                db.execute("INSERT OR REPLACE INTO state (key, value) VALUES"
                           " ('delivery.last_error', ?)", (error,))
        return when

    @staticmethod
    def attempts_unlocked(db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM state WHERE key = 'backoff.attempts'").fetchone()
        return int(row[0]) if row else 0

    def record_success(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM state WHERE key IN"
                       " ('backoff.attempts', 'backoff.next_attempt', 'delivery.last_error')")
