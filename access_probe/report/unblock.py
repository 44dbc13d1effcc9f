"""The ready-to-send request to IT naming what is blocked, how, and by what. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from access_probe.report.explain import vendor_name
from access_probe.schema import CheckDocument, Result, Status

__all__ = ["unblock_request"]


def _host(result: Result) -> str:
    try:
        return urlsplit(result.url).hostname or result.url
    except ValueError:
        return result.url


def _how(result: Result) -> str:
    b = result.blocking
    if b is None:
        return str(result.status)
    parts = [f"{result.status} at the {b.layer.upper()} layer ({b.method})"]
    product = vendor_name(b.vendor)
    if product:
        parts.append(f"by {product}")
    if b.category:
        parts.append(f"category “{b.category}”")
    return ", ".join(parts)


def _line(key: str, results: list[Result], names: Mapping[str, str]) -> str:
    """One service: its name, every affected host, and how (each different way once)."""
    name = names.get(key, key) if results[0].service else ""
    hosts = ", ".join(dict.fromkeys(_host(r) for r in results))
    label = f"{name} ({hosts})" if name else hosts
    return f"- {label}: " + "; ".join(dict.fromkeys(_how(r) for r in results))


def unblock_request(doc: CheckDocument, *, names: Mapping[str, str] | None = None,
                    network: str | None = None) -> str | None:
    """Plain text asking IT to allow the blocked and restricted services, or None when
    nothing is blocked. Names the network label, never the person or the machine."""
    names = names or {}
    affected: dict[str, list[Result]] = {}
    for r in doc.results:
        if r.status in (Status.BLOCKED, Status.RESTRICTED):
            affected.setdefault(r.service or r.target, []).append(r)
    if not affected:
        return None
    where = network or doc.context.network
    when = doc.finished_at.strftime("%d %B %Y at %H:%M UTC")
    lines = [
        "Subject: Request to allow access to sites needed for work",
        "",
        "Hello IT team,",
        "",
        f"An access check on {when}" + (f" from the “{where}” network" if where else "")
        + " found these sites blocked or restricted:",
        "",
        *(_line(key, results, names) for key, results in affected.items()),
        "",
        "They are used for council communications and the Knowledge Hub. Please allow them"
        " for work use, or tell me how to request an exception.",
        "",
        "This request was prepared by access-probe; the technical details above come from"
        " its automatic check.",
        "",
        "Thank you.",
    ]
    return "\n".join(lines) + "\n"
