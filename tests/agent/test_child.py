"""The headless agent's check in a forked child (agent/child.py).

Each case runs in a fresh interpreter of its own: forking is only done with no other thread
alive, and the pytest process may have server threads from other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import json, os, signal, sys, threading
from datetime import datetime, timezone
from access_probe.agent.child import CheckProcessError, in_child_process
from access_probe.errors import InputError
from access_probe.schema import CheckDocument, Context, Result, Status

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def document(note):
    now = datetime(2026, 12, 3, tzinfo=timezone.utc)
    result = Result(target="lab", url="http://lab.example/", service="lab",
                    status=Status.BLOCKED, measured_at=now)
    return CheckDocument(started_at=now, finished_at=now,
                         context=Context(org="E07000223", network=note), results=(result,))
"""


def run(body: str) -> dict[str, Any]:
    script = PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_the_check_runs_in_another_process_and_its_document_comes_back_whole() -> None:
    out = run("""
        doc = in_child_process(lambda urls: document(f"{os.getpid()} {urls}"))(["u1", "u2"])
        print(json.dumps({"parent": os.getpid(), "doc": doc.to_json()}))
    """)
    child_pid, urls = out["doc"]["context"]["network"].split(" ", 1)
    assert int(child_pid) != out["parent"]
    assert urls == "['u1', 'u2']"
    assert [r["status"] for r in out["doc"]["results"]] == ["blocked"]


def test_memory_the_check_used_is_not_kept_by_the_agent() -> None:
    out = run("""
        def heavy(urls):
            ballast = bytearray(300 * 1024 * 1024)
            ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
            return document(str(rss_mib()))
        before = rss_mib()
        doc = in_child_process(heavy)(None)
        print(json.dumps({"before": before, "after": rss_mib(),
                          "child": float(doc.context.network)}))
    """)
    assert out["child"] > out["before"] + 250  # the child really held the ballast
    assert out["after"] < out["before"] + 20


def test_an_error_in_the_check_is_raised_in_the_agent_as_it_was() -> None:
    out = run("""
        def broken(urls):
            raise InputError("unknown key", file="targets.yaml", line=3, key="services.0.x")
        try:
            in_child_process(broken)(None)
        except InputError as exc:
            print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
    """)
    assert out == {"type": "InputError", "message": "targets.yaml:3: services.0.x: unknown key"}


def test_a_killed_check_is_an_error_naming_the_signal_not_a_hang() -> None:
    out = run("""
        def dies(urls):
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            in_child_process(dies)(None)
        except CheckProcessError as exc:
            print(json.dumps({"message": str(exc)}))
    """)
    assert out["message"] == "the check process ended without a result (killed by SIGKILL)"


def test_with_another_thread_running_the_check_stays_in_process() -> None:
    out = run("""
        stop = threading.Event()
        threading.Thread(target=stop.wait, daemon=True).start()
        doc = in_child_process(lambda urls: document(str(os.getpid())))(None)
        stop.set()
        print(json.dumps({"parent": os.getpid(), "ran_in": int(doc.context.network)}))
    """)
    assert out["ran_in"] == out["parent"]
