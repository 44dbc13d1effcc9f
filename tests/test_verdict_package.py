"""The verdict package is the only place a verdict is made, and its layer rules share one
shape."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import access_probe
from access_probe import verdict
from access_probe.verdict import dns, http, proxy, tcp, tls
from access_probe.verdict.records import Facts

ROOT = Path(access_probe.__file__).parent


def test_no_verdict_is_built_outside_the_package() -> None:
    made = re.compile(r"\bVerdict\(")
    outside = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
               if "verdict" not in p.relative_to(ROOT).parts[:1]
               and made.search(p.read_text(encoding="utf-8"))]
    assert outside == []


def test_every_layer_rule_has_the_same_shape() -> None:
    assert verdict.RULES == (proxy.judge, dns.judge, tcp.judge, tls.judge, http.judge)
    for module in (proxy, dns, tcp, tls, http):
        assert module.__all__ == ["judge"]
        params = list(inspect.signature(module.judge).parameters.values())
        assert [p.name for p in params] == ["f"], module.__name__
        assert params[0].annotation in (Facts, "Facts")
