"""Benchmark: the whole fingerprint set against one substring search, over the same pages.

    .venv/bin/python bench/blockpages_bench.py [--seconds S]

Pages: every sample in tests/fixtures/blockpages/ (block pages, benign pages, ordinary pages)
plus ordinary pages padded to 100 KB, the size of a typical social-media landing page. The
baseline decodes each body and does one `in` test, the least any matcher must do; the ratio
says how many baseline searches one full match_page() costs.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from access_probe.engine import blockpages
from access_probe.model import HTTPObservation

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "blockpages"


def load_pages() -> list[HTTPObservation]:
    pages = []
    for path in sorted(FIXTURES.glob("*.http")):
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").splitlines()
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:])}
        pages.append(HTTPObservation(url="http://x.example/", t0=0, t=0,
                                     status=int(lines[0].split()[1]), headers=headers,
                                     location=headers.get("location"), body=body))
    for name in ("ordinary-news-article.http", "ordinary-login-page.http"):
        body = (FIXTURES / name).read_bytes().partition(b"\r\n\r\n")[2]
        big = body * (100_000 // len(body) + 1)
        pages.append(HTTPObservation(url="http://x.example/", t0=0, t=0, status=200,
                                     headers={"content-type": "text/html; charset=utf-8"},
                                     body=big))
    return pages


def rate(fn: Callable[[HTTPObservation], object], pages: list[HTTPObservation],
         seconds: float) -> float:
    """Pages per second, over whole passes of the page list, for about `seconds`."""
    done, start = 0, time.perf_counter()
    for _ in range(100_000):  # bounded whatever the clock does
        for page in pages:
            fn(page)
        done += len(pages)
        if time.perf_counter() - start >= seconds:
            break
    return done / (time.perf_counter() - start)


def baseline(page: HTTPObservation) -> bool:
    return "Access control configuration prevents" in blockpages.decode_body(page.body, None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    count = len(blockpages.fingerprints())
    load = time.perf_counter() - t0
    pages = load_pages()
    blockpages.match_page(pages[0])  # build the families outside the timing
    full = rate(blockpages.match_page, pages, args.seconds)
    base = rate(baseline, pages, args.seconds)
    size = sum(len(p.body) for p in pages) / len(pages)
    print(f"fingerprints: {count} (load and validate {load * 1000:.0f} ms)")
    print(f"pages: {len(pages)}, mean body {size / 1024:.1f} KiB")
    print(f"match_page (all fingerprints): {full:10.0f} pages/s")
    print(f"baseline (one substring):      {base:10.0f} pages/s")
    print(f"ratio: one match_page costs {base / full:.1f} baseline searches")


if __name__ == "__main__":
    main()
