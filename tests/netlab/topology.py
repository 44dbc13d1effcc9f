"""Network namespaces, links and the processes that run in them, with certain teardown.

Every namespace this module makes is named `<prefix>-<short>` with a prefix unique to the
test run (`nl<pid>`), so parallel runs never meet. Every process is started in the
foreground under Popen and remembered; `close()` stops them, then kills whatever else is
still inside our namespaces (`ip netns pids`), deletes the namespaces and their
/etc/netns/<name>/ directories. `close()` is idempotent and also runs from atexit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

NETNS_ETC = Path("/etc/netns")


class LabError(RuntimeError):
    """The lab could not be built: a command failed or a service never came up."""


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 30,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False, env=env)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} -> {proc.returncode}: {proc.stderr.strip()}")
    return proc


@dataclass
class Lab:
    prefix: str
    workdir: Path
    namespaces: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _closed: bool = False

    def __post_init__(self) -> None:
        atexit.register(self.close)

    # --- namespaces and links --------------------------------------------------------------

    def ns(self, short: str, *, forward: bool = False) -> str:
        name = f"{self.prefix}-{short}"
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)
        self.ip(name, "link", "set", "lo", "up")
        if forward:
            self.sh(name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        return name

    def ip(self, ns: str, *args: str) -> None:
        run(["ip", "-n", ns, *args])

    def sh(self, ns: str, *argv: str, check: bool = True, timeout: float = 30,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run(["ip", "netns", "exec", ns, *argv], check=check, timeout=timeout, env=env)

    def link(self, a: str, a_if: str, a_addr: str, b: str, b_if: str, b_addr: str) -> None:
        """A veth pair made directly inside the two namespaces: the host never sees it."""
        self.ip(a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b)
        for ns, ifname, addr in ((a, a_if, a_addr), (b, b_if, b_addr)):
            self.ip(ns, "addr", "add", addr, "dev", ifname)
            self.ip(ns, "link", "set", "dev", ifname, "up")

    def resolv_conf(self, ns: str, nameserver: str) -> None:
        directory = NETNS_ETC / ns
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "resolv.conf").write_text(f"nameserver {nameserver}\noptions timeout:2\n")

    def iptables(self, ns: str, rules: Sequence[str]) -> None:
        for rule in rules:
            self.sh(ns, "iptables", *rule.split())

    # --- processes ---------------------------------------------------------------------------

    def spawn(self, ns: str, name: str, argv: Sequence[str], *,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a foreground daemon in `ns`; its output goes to workdir/logs/<name>.log."""
        logs = self.workdir / "logs"
        logs.mkdir(exist_ok=True)
        log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        path = self.workdir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_listening(self, ns: str, name: str, address: str, port: int, *,
                       udp: bool = False, timeout: float = 20) -> None:
        """Poll `ss` inside the namespace until the socket is bound, or fail with its log."""
        flag = "-Hlun" if udp else "-Hltn"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.sh(ns, "ss", flag, f"src {address}:{port}").stdout
            if out.strip():
                return
            proc = self.procs.get(name)
            if proc is not None and proc.poll() is not None:
                break
            time.sleep(0.1)
        raise LabError(f"{name} not listening on {address}:{port} in {ns}:\n{self.log(name)}")

    # --- teardown ----------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_tracked()
        for ns in self.namespaces:
            self._kill_namespace_pids(ns)
            run(["ip", "netns", "delete", ns], check=False)
            shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)

    def _stop_tracked(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def _kill_namespace_pids(self, ns: str) -> None:
        # Children a daemon forked for itself (squid's helpers, e2guardian's workers).
        for _ in range(50):
            pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split()]
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)

    def leftovers(self) -> list[str]:
        """What of ours still exists: namespaces, /etc/netns entries, live processes."""
        left = [ns for ns in run(["ip", "netns", "list"]).stdout.split()
                if ns.startswith(self.prefix + "-")]
        left += [str(p) for p in NETNS_ETC.glob(self.prefix + "-*")] if NETNS_ETC.exists() else []
        left += [f"pid {p.pid}" for p in self.procs.values() if p.poll() is None]
        return left


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
