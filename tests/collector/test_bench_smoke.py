"""The collector benchmarks run end to end with tiny sizes: the ingest benchmark through a real
`collector serve` on both engines (and its checks that every acknowledged result is stored and
counted once), the aggregate benchmark's SQL fill, its HTTP timings and its check that the
rollups answer as the raw results do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.postgres
def test_ingest_benchmark_smoke() -> None:
    out = _run("bench/collector_ingest.py", "--results", "1000", "--clients", "2",
               "--workers", "1")
    assert "sqlite: API" in out and "postgres: API" in out and "API/raw" in out


@pytest.mark.postgres
def test_aggregate_benchmark_smoke() -> None:
    out = _run("bench/collector_aggregate.py", "--results", "3000", "--orgs", "5",
               "--repeat", "2")
    assert "filled 3,000 results" in out
    for label in ("service x status", "hour x status", "GET / (dashboard)",
                  "export.csv?raw=1 first byte"):
        assert label in out
