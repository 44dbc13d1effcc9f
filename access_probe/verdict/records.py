"""The verdict's inputs and output: logic-free records.

`PageFacts`/`Pages` are what the block-page matcher found in each response of a measurement;
`Facts` bundles everything one rule reads (the measurement, the usable control, the page
facts, the context) so that every layer rule has the same signature; `Verdict` is the
answer. Nothing here judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access_probe.engine.blockpages import Match
from access_probe.model import Control, Measurement
from access_probe.schema import Blocking, Evidence, Interception, Status

__all__ = ["Facts", "PageFacts", "Pages", "Verdict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PageFacts:
    """What the matcher said about one response."""

    matches: tuple[Match, ...] = ()  # best first, as blockpages.match_page orders them
    suspicious: bool = False  # matched nothing, but reads like a block page
    upstream_failure: bool = False  # a proxy's own "could not reach the site" page
    way_on: bool = False  # offers Continue/Proceed/... on to the requested URL
    category: str | None = None  # the category the page itself states, cleaned


@dataclass(frozen=True, slots=True, kw_only=True)
class Pages:
    proxy: PageFacts = field(default_factory=PageFacts)  # the proxy's answer to CONNECT
    hops: tuple[PageFacts, ...] = ()  # one per HTTP observation, same order
    dns_answer: tuple[Match, ...] = ()  # known block-page/sinkhole addresses in the answer

    def hop(self, index: int) -> PageFacts:
        """The facts of HTTP observation `index` (negative from the end); none when absent."""
        try:
            return self.hops[index]
        except IndexError:
            return PageFacts()


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    status: Status
    blocking: Blocking | None = None
    interception: Interception | None = None
    evidence: Evidence = field(default_factory=Evidence)


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    """What a layer rule reads. `ctl` is the control only when it is usable."""

    m: Measurement
    ctl: Control | None
    pages: Pages
    known: bool  # the host belongs to a catalogue service
    evidence: Evidence  # the redacted facts, without a reason yet
