"""How light the agent is: start-up time and peak memory, as ratios to a bare interpreter.

Runs, in the same session and several times each (these machines are noisy):
  - `python -c pass` (the baseline),
  - `access-probe --version` (commands that do not probe must start fast),
  - `access-probe check --json --no-submit` over a loopback catalogue of 40 endpoints.
Prints the median wall time and the peak RSS (GNU time's %M) of each, and their
ratios to the baseline. Loopback only; bounded by the run count.

    .venv/bin/python -m bench.agent_footprint [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.servers import Page, WebServer

BIN = Path(sys.executable).parent
TIME = "/usr/bin/time"  # GNU time (Debian package `time`)


def measure(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median seconds and the largest peak RSS (MiB) over `runs` executions. GNU time reads
    the peak: a forked child's own rusage would count the (large) parent it was forked from."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.monotonic()
        done = subprocess.run([TIME, "-f", "%M", *argv], env=env, capture_output=True,
                              text=True, timeout=120, check=True)
        times.append(time.monotonic() - start)
        peaks.append(int(done.stderr.strip().splitlines()[-1]) / 1024)  # KiB
    return statistics.median(times), max(peaks)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as home, WebServer(
            {"/": Page.html("Site", "hello " * 2000)}) as web:
        base = f"http://127.0.0.1:{web.port}"
        targets = Path(home) / "targets.yaml"
        lines = ["version: 1", "services:", "  - id: lab-baseline", "    category: baseline",
                 f"    endpoints: ['{base}/']", "  - id: lab", "    category: social",
                 "    endpoints:"]
        lines += [f"      - '{base}/page{i}'" for i in range(40)]
        targets.write_text("\n".join(lines) + "\n")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "XDG_CONFIG_HOME": home,
               "XDG_DATA_HOME": home, "ACCESS_PROBE_PROXY": "none"}
        rows = [
            ("python -c pass (baseline)", [sys.executable, "-c", "pass"]),
            ("access-probe --version", [str(BIN / "access-probe"), "--version"]),
            ("access-probe check (40 endpoints)",
             [str(BIN / "access-probe"), "check", "--json", "--no-submit", "--targets",
              str(targets)]),
        ]
        results = [(name, *measure(argv, env, runs)) for name, argv in rows]
    base_time, base_rss = results[0][1], results[0][2]
    print(f"{'command':36} {'median s':>9} {'x base':>7} {'peak MiB':>9} {'x base':>7}")
    for name, seconds, rss in results:
        print(f"{name:36} {seconds:9.3f} {seconds / base_time:7.1f} {rss:9.1f} "
              f"{rss / base_rss:7.1f}")


if __name__ == "__main__":
    main()
