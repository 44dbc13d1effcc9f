"""Text renderers for people at a terminal: the progress bar and the results table.

Functions return strings (or write to a given stream); the CLI decides where they go.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from typing import TextIO

from access_probe.schema import CheckDocument, Result, Status

SYMBOL = {
    Status.ACCESSIBLE: "ok",
    Status.BLOCKED: "BLOCKED",
    Status.RESTRICTED: "RESTRICTED",
    Status.UNREACHABLE: "site down",
    Status.OFFLINE: "offline",
    Status.INCONCLUSIVE: "can't tell",
}
COLOUR = {
    Status.ACCESSIBLE: "\033[32m",
    Status.BLOCKED: "\033[31;1m",
    Status.RESTRICTED: "\033[33;1m",
    Status.UNREACHABLE: "\033[90m",
    Status.OFFLINE: "\033[90m",
    Status.INCONCLUSIVE: "\033[36m",
}
RESET = "\033[0m"


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; silent when the stream is not one."""

    def __init__(self, stream: TextIO = sys.stderr, label: str = "Checking") -> None:
        self.stream = stream
        self.label = label
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        width = max(10, min(40, shutil.get_terminal_size().columns - 30))
        filled = int(width * done / total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def how(result: Result) -> str:
    """Short description of the mechanism: 'http-blockpage (squid: Social Networking)'."""
    b = result.blocking
    if b is None:
        if result.interception is not None:
            return f"TLS inspected by {result.interception.issuer}"
        return ""
    text = f"{b.layer}/{b.method}"
    product = ", ".join(x for x in (b.vendor, b.category) if x)
    return f"{text} ({product})" if product else text


def table(doc: CheckDocument, *, colour: bool = False) -> str:
    rows = [("SERVICE", "TARGET", "STATUS", "HOW", "MS")]
    for r in sorted(doc.results, key=lambda r: (r.service or "~", r.target)):
        total = r.timings_ms.get("total")
        rows.append((r.service or "-", r.target, str(r.status), how(r),
                     f"{total:.0f}" if total is not None else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        status_cell = row[2].ljust(widths[2])
        if colour and index > 0:
            status = Status(row[2])
            status_cell = f"{COLOUR[status]}{SYMBOL[status].ljust(widths[2])}{RESET}"
        elif index > 0:
            status_cell = SYMBOL[Status(row[2])].ljust(widths[2])
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), status_cell,
                                row[3].ljust(widths[3]), row[4]]).rstrip())
    lines.append("")
    reasons = [f"  {r.target}: {r.evidence.reason}" for r in sorted(doc.results,
                                                                      key=lambda r: r.target)
               if r.status is not Status.ACCESSIBLE and r.evidence and r.evidence.reason]
    if reasons:
        lines += ["Why:", *reasons, ""]
    lines.append(summary(doc))
    lines += [f"Warning: {w}" for w in doc.warnings]
    return "\n".join(lines) + "\n"


def summary(doc: CheckDocument) -> str:
    counts = Counter(r.status for r in doc.results)
    parts = [f"{counts[s]} {s}" for s in Status if counts[s]]
    return f"{len(doc.results)} checked: " + ", ".join(parts) if parts else "nothing checked"
