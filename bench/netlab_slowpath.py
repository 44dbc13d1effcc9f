"""Benchmark: the product on the lab's slow, lossy path against the open network beside it.

    sudo .venv/bin/python bench/netlab_slowpath.py [--rounds N]

Builds the lab's Internet, the open council and the slow council (150 ms each way, 5 % TCP
loss, 1 Mbit/s), starts the collector, then runs the same `access-probe check --json` in both
N times. It prints, per network, how often each status came back (on both, every live site
must be accessible: any "blocked" on the slow path is a false block), the median total time
per URL, and the ratio slow/open. Also the lab's own build and teardown times.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.netlab import world  # noqa: E402
from tests.netlab.lab import build_world, new_lab, start_collector  # noqa: E402
from tests.netlab.runner import Outcome, run_all  # noqa: E402
from tests.netlab.scenarios import RUNS  # noqa: E402

LIVE = tuple(world.url(h) for h in ("www.gov.uk", "www.facebook.com", "www.youtube.com",
                                    "x.com", "khub.net", "www.instagram.com"))


def summarise(name: str, outcomes: list[Outcome]) -> float:
    statuses: Counter[str] = Counter()
    totals: list[float] = []
    for outcome in outcomes:
        for result in (outcome.doc or {}).get("results", []):
            statuses[result["status"]] += 1
            total = (result.get("timings_ms") or {}).get("total")
            if total is not None:
                totals.append(float(total))
        if outcome.doc is None:
            statuses["no-document"] += 1
    median = statistics.median(totals) if totals else float("nan")
    print(f"{name:5} statuses {dict(statuses)}  median total per URL {median:7.1f} ms")
    return median


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    t0 = time.monotonic()
    lab = new_lab()
    try:
        w = build_world(lab, ["open", "slow"])
        token = start_collector(w)
        print(f"lab built (Internet, 2 councils, collector) in {time.monotonic() - t0:.1f} s")
        base = {r.id: r for r in RUNS}
        runs = (replace(base["open"], urls=LIVE, timeout=8.0), replace(base["slow"], urls=LIVE))
        results: dict[str, list[Outcome]] = {"open": [], "slow": []}
        for _ in range(args.rounds):
            for rid, outcome in run_all(w, runs, token).items():
                results[rid].append(outcome)
        open_ms = summarise("open", results["open"])
        slow_ms = summarise("slow", results["slow"])
        print(f"ratio slow/open (median total per URL): {slow_ms / open_ms:.1f}x")
    finally:
        t1 = time.monotonic()
        lab.close()
        shutil.rmtree(lab.workdir, ignore_errors=True)
        left = lab.leftovers() or "nothing"
        print(f"teardown {time.monotonic() - t1:.1f} s; left behind: {left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
