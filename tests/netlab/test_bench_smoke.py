"""The side-by-side benchmark (bench/vs_blackbox.py) runs end to end with tiny parameters:
its lab comes up, all three clients measure, the report prints, and nothing is left behind.
The figures themselves belong to docs/benchmarks.md, not to a test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_runs_with_tiny_parameters() -> None:
    if shutil.which("prometheus-blackbox-exporter") is None:
        pytest.fail("prometheus-blackbox-exporter is missing (scripts/debian-packages-lab.txt)")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "vs_blackbox.py"),
                           "--endpoints", "3", "--rounds", "1", "--loss", "0"],
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()
            if line.split() and line.split()[0] in ("access-probe", "blackbox", "floor")
            and "wall" not in line}
    assert set(rows) == {"access-probe", "blackbox", "floor"}
    # every client reached all three endpoints: the last column is "not accessible" per run
    assert all(row[-1] == "0" for row in rows.values()), done.stdout
    assert "endpoints not accessible (worst run)" in done.stdout
