"""The officer's report as HTML: one row per service, a history chart, the unblock request.

string.Template plus html.escape on every value (the agent's base install has no Jinja2).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from importlib import resources
from string import Template

from access_probe import __version__
from access_probe.report.explain import (
    Standing,
    explain,
    service_counts,
    service_standing,
    standing,
)
from access_probe.report.unblock import unblock_request
from access_probe.schema import CheckDocument, Result

__all__ = ["blocked_chart_svg", "render_html", "service_rows"]

_CSS = {Standing.WORKING: "working", Standing.BLOCKED: "blocked",
        Standing.RESTRICTED: "restricted", Standing.DOWN: "down", Standing.UNKNOWN: "unknown"}
_ROW_ORDER = [Standing.BLOCKED, Standing.RESTRICTED, Standing.UNKNOWN, Standing.DOWN,
              Standing.WORKING]
_CHART_W, _CHART_H, _PAD = 600, 120, 18


def _template() -> Template:
    text = resources.files(__package__).joinpath("templates/index.html").read_text("utf-8")
    return Template(text)


def service_rows(doc: CheckDocument) -> list[tuple[str, list[Result]]]:
    """Results grouped by service (ad-hoc links by their own target), worst first."""
    groups: dict[str, list[Result]] = {}
    for r in doc.results:
        groups.setdefault(r.service or r.target, []).append(r)
    return sorted(groups.items(),
                  key=lambda kv: (_ROW_ORDER.index(service_standing([r.status for r in kv[1]])),
                                  kv[0]))


def _row(key: str, results: list[Result], names: Mapping[str, str]) -> str:
    name = names.get(key, key)
    kinds = [standing(r.status) for r in results]
    overall = service_standing([r.status for r in results])
    shown = [r for r in results if standing(r.status) is overall] or results
    exp = explain(shown[0], name=name)
    how = html.escape(exp.how)
    if exp.ask:
        how += f'<br><span class="ask">{html.escape(exp.ask)}</span>'
    if len(results) > 1 and overall is not Standing.WORKING and Standing.WORKING in kinds:
        how += "<br>Some parts of the site load; others do not."
    elif overall is Standing.WORKING and len(set(kinds)) > 1:
        how += "<br>Some of its other addresses did not answer, from outside either."
    badge = f'<span class="badge {_CSS[overall]}">{html.escape(str(overall))}</span>'
    return f"<tr><td>{html.escape(name)}</td><td>{badge}</td><td>{how}</td></tr>"


def _counts(doc: CheckDocument) -> tuple[int, int]:
    """(blocked, restricted) services in one run."""
    counts = service_counts(doc.results)
    return counts.blocked, counts.restricted


def blocked_chart_svg(history: Sequence[CheckDocument]) -> str:
    """Stacked bars: blocked and restricted services per run, oldest left."""
    if len(history) < 2:  # one bar is not a trend
        return "<p>The chart appears after the second check.</p>"
    counts = [_counts(d) for d in history]
    top = max([b + r for b, r in counts] + [1])
    slot = (_CHART_W - 2 * _PAD) / len(counts)
    scale = (_CHART_H - 2 * _PAD) / top
    bars = []
    for i, (b, r) in enumerate(counts):
        x = _PAD + i * slot + slot * 0.15
        w = max(1.0, slot * 0.7)
        hb, hr = b * scale, r * scale
        base = _CHART_H - _PAD
        title = html.escape(f"{history[i].started_at:%d %b %H:%M}: {b} blocked, {r} restricted")
        bars.append(f'<g><title>{title}</title>'
                    f'<rect x="{x:.1f}" y="{base - hb:.1f}" width="{w:.1f}" height="{hb:.1f}"'
                    f' fill="#c62828"/>'
                    f'<rect x="{x:.1f}" y="{base - hb - hr:.1f}" width="{w:.1f}"'
                    f' height="{hr:.1f}" fill="#f9a825"/></g>')
    first = html.escape(f"{history[0].started_at:%d %b %H:%M}")
    last = html.escape(f"{history[-1].started_at:%d %b %H:%M}")
    return (f'<svg role="img" aria-label="Blocked services over time" width="{_CHART_W}"'
            f' height="{_CHART_H}" viewBox="0 0 {_CHART_W} {_CHART_H}">'
            f'<text x="{_PAD}" y="12">max {top}</text>' + "".join(bars)
            + f'<text x="{_PAD}" y="{_CHART_H - 4}">{first}</text>'
            f'<text x="{_CHART_W - _PAD}" y="{_CHART_H - 4}" text-anchor="end">{last}</text>'
            "</svg>")


def _history_section(history: Sequence[CheckDocument]) -> str:
    if len(history) < 2:
        return ""
    return ("<h2>Recent checks</h2>\n<p class=\"meta\">Blocked (red) and restricted (amber)"
            f" services at each of the last {len(history)} checks.</p>\n"
            + blocked_chart_svg(history))


def _summary(doc: CheckDocument) -> str:
    counts = service_counts(doc.results)
    if counts.offline:
        return "This computer was offline: nothing could be checked."
    if not counts.blocked and not counts.restricted:
        return f"All {counts.total} services checked are reachable or not blocked here."
    return counts.summary + "."


def render_html(doc: CheckDocument, history: Sequence[CheckDocument] = (), *,
                names: Mapping[str, str] | None = None,
                files: Sequence[str] = ("results.json", "results.csv")) -> str:
    """`files`: the names written beside the page, for its footer."""
    names = names or {}
    request = unblock_request(doc, names=names)
    unblock = (f"<pre>{html.escape(request)}</pre>" if request
               else "<p>Nothing is blocked: there is nothing to ask.</p>")
    return _template().substitute(
        summary=html.escape(_summary(doc)),
        when=html.escape(f"Checked {doc.finished_at:%d %B %Y, %H:%M} UTC"),
        network=html.escape(doc.context.network or "network not named"),
        rows="\n".join(_row(k, rs, names) for k, rs in service_rows(doc)),
        history=_history_section(history),
        unblock=unblock,
        warnings="".join(f'<p class="warning">{html.escape(w)}</p>' for w in doc.warnings),
        files=html.escape(", ".join(files)),
        version=html.escape(__version__),
    )
