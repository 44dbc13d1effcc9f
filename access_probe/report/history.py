"""The local history of recent check documents, for the officer's report and the tray.

Kept on this machine only, one JSON file per run written atomically (temporary file, fsync,
rename), so a crash leaves either the whole document or none. These are verdicts, not raw
observations: `CheckDocument.to_json()` carries no page text, bodies or addresses.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from access_probe.schema import CheckDocument

__all__ = ["History"]

log = logging.getLogger(__name__)

DEFAULT_KEEP = 60


class History:
    def __init__(self, directory: Path, *, keep: int = DEFAULT_KEEP) -> None:
        self.directory = directory
        self.keep = keep

    def add(self, doc: CheckDocument) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = doc.started_at.strftime("%Y%m%dT%H%M%S%f")
        first = doc.results[0].id[:8] if doc.results else "empty"
        path = self.directory / f"{stamp}-{first}.json"
        data = json.dumps(doc.to_json(), indent=1, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._prune()
        return path

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.glob("*.json") if not p.name.startswith("."))

    def _prune(self) -> None:
        files = self._files()
        for path in files[: max(0, len(files) - self.keep)]:
            path.unlink(missing_ok=True)

    def load(self, limit: int | None = None) -> list[CheckDocument]:
        """Oldest first; unreadable files are skipped (and logged), never fatal."""
        files = self._files()
        if limit is not None:
            files = files[-limit:]
        docs: list[CheckDocument] = []
        for path in files:
            try:
                docs.append(CheckDocument.from_json(json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("history: skipping unreadable %s (%s)", path.name, exc)
        return docs

    def latest(self) -> CheckDocument | None:
        docs = self.load(limit=1)
        return docs[-1] if docs else None
