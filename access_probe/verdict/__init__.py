"""From facts to a verdict: the only place a verdict is made (rules in docs/verdicts.md).

    decide(measurement | None, *, control, pages, known_site, online) -> Verdict
        the agent's verdict for one URL: `check`, the scenario tests and the netlab all call it
    summarise(measurement) -> Control
        the control vantage point's own reading of a URL it measured (the collector's answer)

`decide()` reads a local `Measurement`, the control vantage point's `Control` (when there is
one), what the block-page matcher found in each response (`Pages`), and two facts about
context (is this a catalogue site; is this machine online). It walks the layers in order
(`RULES`: proxy, dns, tcp, tls, http — one module each, each `judge(Facts) -> Verdict | None`)
and stops at the first one where the local path diverged from the open Internet. It never
looks at the network. Failure names are grouped once, in `failures.py`.

The rule that runs through the table: a local failure is only called `blocked` when something
shows it is local — the control succeeded where we failed, or the failure is one that an open
network does not produce for a well-known site (a reset, a bogon answer, a block page). A
failure the control sees too is `unreachable`; a bare timeout with no control is
`inconclusive`. A down site is never called blocked.

Modules: `records` (PageFacts, Pages, Facts, Verdict: data only), `failures` (failure name ->
meaning), `common` (outcome builders, the comparison with the control), `proxy`, `dns`,
`tcp`, `tls`, `http` (the layer rules), `decide` (the walk), `control` (the control's reading).
"""

from __future__ import annotations

from access_probe.verdict.control import control_status, summarise
from access_probe.verdict.decide import RULES, decide
from access_probe.verdict.records import Facts, PageFacts, Pages, Verdict

__all__ = ["RULES", "Facts", "PageFacts", "Pages", "Verdict", "control_status", "decide",
           "summarise"]
