"""The headless agent's resident memory while it waits for its next run, after a check.

    sudo .venv/bin/python bench/agent_idle.py [--endpoints 40]

Starts `access-probe run` (the headless agent: first run at once, no collector) twice:
- online: over a loopback catalogue of `--endpoints` HTTP endpoints plus a baseline;
- offline: the packaged catalogue in a network namespace of its own with nothing but a
  loopback that is down (`unshare --net`), the issue's "after an offline check";
and, beside them, a bare interpreter that imports nothing (the baseline). Once the agent's
CPU time stops growing (its check is over and it sleeps), it reads VmRSS (idle) and VmHWM
(peak) from /proc and prints them with their ratio to the bare interpreter's. Target: idle
RSS after a check <= 45 MB. Bounded: each agent gets at most 90 s.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import Page, WebServer  # noqa: E402

AGENT = str(ROOT / ".venv" / "bin" / "access-probe")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
LIMIT_S = 90.0
QUIET_S = 3.0  # no CPU used for this long: the check is over


def _status(pid: int) -> dict[str, float]:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB -> MiB
    return fields


def _cpu(pid: int) -> float:
    """CPU seconds of the process and of its children that have ended (the agent runs each
    check in a child process)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(stat[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(kid) for kid in path.read_text().split()]
    except OSError:
        return []


def _child_peak(pid: int) -> float:
    """The largest peak RSS (MiB) among the process's live children, 0 if none."""
    peaks = [0.0]
    for kid in _children(pid):
        try:
            peaks.append(_status(kid).get("VmHWM", 0.0))
        except OSError:  # it ended between the listing and the read
            pass
    return max(peaks)


def idle_memory(argv: list[str], env: dict[str, str], *, min_cpu: float) -> tuple[float, float]:
    """(idle RSS, peak RSS) in MiB once the process has used `min_cpu` s and then rests with
    no child running. The peak is the larger of the agent's own and its check child's
    (sampled every 0.1 s, so a child's last moments may be missed)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + LIMIT_S
        last, since, child_peak = -1.0, time.monotonic(), 0.0
        pid = _target_pid(proc.pid)
        while time.monotonic() < deadline:
            time.sleep(0.1)
            child_peak = max(child_peak, _child_peak(pid))
            used = _cpu(pid)
            if used != last or _children(pid):
                last, since = used, time.monotonic()
            elif used >= min_cpu and time.monotonic() - since >= QUIET_S:
                fields = _status(pid)
                return fields["VmRSS"], max(fields["VmHWM"], child_peak)
        raise RuntimeError(f"{argv[:3]} never went idle within {LIMIT_S:.0f} s")
    finally:
        proc.terminate()
        proc.wait(10)


def _target_pid(pid: int) -> int:
    """Where unshare forked the command, follow it to the agent process itself (and never
    to the agent's own check child)."""
    time.sleep(0.3)
    if Path(f"/proc/{pid}/comm").read_text().strip() != "unshare":
        return pid
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[0]) if kids else pid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, WebServer(
            {"/": Page.html("Site", "hello " * 2000)}) as web:
        base = f"http://127.0.0.1:{web.port}"
        targets = Path(home) / "targets.yaml"
        lines = ["version: 1", "services:", "  - id: lab-baseline", "    category: baseline",
                 f"    endpoints: ['{base}/']", "  - id: lab", "    category: social",
                 "    endpoints:"]
        lines += [f"      - '{base}/page{i}'" for i in range(args.endpoints)]
        targets.write_text("\n".join(lines) + "\n")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "XDG_CONFIG_HOME": home,
               "XDG_DATA_HOME": home, "XDG_STATE_HOME": home, "ACCESS_PROBE_PROXY": "none",
               "ACCESS_PROBE_SCHEDULE_JITTER_MINUTES": "0"}
        bare = idle_memory([PYTHON, "-c", "import time; sum(range(10**6)); time.sleep(600)"],
                           env, min_cpu=0.0)
        online = idle_memory([AGENT, "run"], {**env, "ACCESS_PROBE_TARGETS": str(targets)},
                             min_cpu=0.3)
        offline = idle_memory(["unshare", "--net", AGENT, "run"], env, min_cpu=0.3)
    print(f"{'process':44} {'idle RSS MiB':>12} {'x bare':>7} {'peak MiB':>9}")  # noqa: T201
    for name, (rss, peak) in (("bare interpreter (baseline)", bare),
                              (f"agent after a check of {args.endpoints} endpoints", online),
                              ("agent after an offline check", offline)):
        print(f"{name:44} {rss:12.1f} {rss / bare[0]:7.1f} {peak:9.1f}")  # noqa: T201
    worst = max(online[0], offline[0]) * 1024 * 1024 / 1e6
    print(f"\nidle RSS after a check, worst: {worst:.1f} MB "  # noqa: T201
          f"(target <= 45 MB: {'met' if worst <= 45 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
