"""Every filtering product the fingerprints can name has a display name in the report."""

from __future__ import annotations

from access_probe.engine import blockpages
from access_probe.engine.blockpages import PageKind, Source
from access_probe.report.explain import vendor_name


def test_every_project_vendor_has_a_display_name() -> None:
    vendors = {f.vendor for f in blockpages.fingerprints()
               if f.vendor and f.kind is not PageKind.BENIGN
               and f.source in (Source.PROJECT, Source.VENDOR_DOCS)}
    assert vendors  # the data names products at all
    missing = sorted(v for v in vendors if vendor_name(v) == v)
    assert missing == []
