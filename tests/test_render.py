"""The terminal renderers: the results table and the progress bar."""

from __future__ import annotations

import io

from access_probe.render import ProgressBar, table
from access_probe.schema import (
    Blocking,
    CheckDocument,
    Context,
    Evidence,
    Interception,
    Layer,
    Method,
    Result,
    Status,
    utc_now,
)


def document() -> CheckDocument:
    now = utc_now()
    results = (
        Result(target="facebook", url="https://www.facebook.com/", service="facebook",
               status=Status.BLOCKED, timings_ms={"total": 120.0},
               blocking=Blocking(layer=Layer.HTTP, method=Method.HTTP_BLOCKPAGE,
                                 vendor="e2guardian", category="Social Networking"),
               evidence=Evidence(reason="A web filter served its block page.")),
        Result(target="khub", url="https://khub.net/", service="knowledge-hub",
               status=Status.ACCESSIBLE, interception=Interception(issuer="Council CA"),
               evidence=Evidence(reason="The site's own content arrived.")),
    )
    return CheckDocument(started_at=now, finished_at=now, context=Context(), results=results)


def test_table_says_what_is_blocked_how_and_by_what() -> None:
    text = table(document())
    lines = text.splitlines()
    assert lines[0].split() == ["SERVICE", "TARGET", "STATUS", "HOW", "MS"]
    facebook = next(line for line in lines if line.startswith("facebook"))
    assert "BLOCKED" in facebook and "http/http-blockpage" in facebook
    assert "(e2guardian, Social Networking)" in facebook and facebook.endswith("120")
    khub = next(line for line in lines if line.startswith("knowledge-hub"))
    assert " ok " in khub and "TLS inspected by Council CA" in khub
    assert "Why:" in lines and "  facebook: A web filter served its block page." in lines
    assert not any("khub:" in line for line in lines)  # only what is not accessible
    assert lines[-1] == "2 checked: 1 accessible, 1 blocked"
    assert "\033[" not in text


def test_colour_only_when_asked() -> None:
    assert "\033[31;1m" in table(document(), colour=True)


def test_progress_bar_is_silent_off_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar(1, 2)
    bar.close()
    assert stream.getvalue() == ""
