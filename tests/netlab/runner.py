"""Running the product as a user would: `access-probe check --json` in a client namespace,
with a config file IT would write and a clean environment (nothing of the host's proxies,
home or trust settings leaks in)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import world
from .build import ACCESS_PROBE
from .lab import World
from .scenarios import Run

RUN_TIMEOUT = 180.0


@dataclass
class Outcome:
    run: Run
    client_addr: str
    returncode: int
    stdout: str
    stderr: str
    doc: dict[str, Any] | None
    workdir: Path

    def result(self, url: str) -> dict[str, Any] | None:
        for result in (self.doc or {}).get("results", []):
            if result.get("url") == url:
                return dict(result)
        return None

    def describe(self) -> str:
        return (f"run {self.run.id}: exit {self.returncode} (configs and daemon logs: "
                f"{self.workdir}, kept with NETLAB_KEEP=1)\nstderr: {self.stderr[-3000:]}\n"
                f"stdout: {self.stdout[:6000]}")


def _proxy_url(w: World, run: Run) -> str | None:
    if not run.proxy.startswith("gateway:"):
        return None
    return f"http://{w.councils[run.council].gateway}:{run.proxy.split(':')[1]}"


def write_config(w: World, run: Run, token: str) -> Path:
    proxy = _proxy_url(w, run) or run.proxy
    council = w.councils[run.council]
    resolver = council.gateway if run.resolver == "gateway" else run.resolver
    conf = w.lab.workdir / "runs" / f"{run.id}.yaml"
    conf.parent.mkdir(exist_ok=True)
    control = f"control:\n  url: {world.COLLECTOR_URL}\n" if run.control else ""
    conf.write_text(
        f"org: {world.ORG}\nnetwork: lab-{run.id}\n"
        f"dns:\n  resolver: {resolver}\n"
        f"proxy: {proxy}\n"
        f"tls:\n  public_roots: {w.stores['public']}\n"
        f"{control}"
        f"collector:\n  url: {world.COLLECTOR_URL}\n  token: {token}\n"
        f"probe:\n  timeout_seconds: {run.timeout}\n"
    )
    return conf


def environment(w: World, run: Run) -> dict[str, str]:
    home = w.lab.workdir / "home" / run.id
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"), "LANG": "C.UTF-8",
        # The machine-wide config file (platformdirs' site dir) must not be the host's.
        "XDG_CONFIG_DIRS": str(home / "etc-xdg"),
        "SSL_CERT_FILE": str(w.stores[run.store]),
    }
    gateway = w.councils[run.council].gateway
    env.update({k: v.replace("{gateway}", gateway) for k, v in run.env.items()})
    return env


def start(w: World, run: Run, token: str) -> subprocess.Popen[str]:
    council = w.councils[run.council]
    argv = ["ip", "netns", "exec", council.clients[run.client], ACCESS_PROBE, "check",
            "--json", "--no-submit", "--config", str(write_config(w, run, token)), *run.urls]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(w, run), start_new_session=True)


def finish(w: World, run: Run, proc: subprocess.Popen[str]) -> Outcome:
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate(timeout=10)
    try:
        doc = json.loads(stdout)
    except json.JSONDecodeError:
        doc = None
    addr = w.councils[run.council].client_addr(run.client)
    return Outcome(run=run, client_addr=addr, returncode=proc.returncode, stdout=stdout,
                   stderr=stderr, doc=doc, workdir=w.lab.workdir)


def run_all(w: World, runs: tuple[Run, ...], token: str) -> dict[str, Outcome]:
    """All runs at once: each is a different machine, and most of the time is timeouts."""
    procs = {run.id: (run, start(w, run, token)) for run in runs}
    return {rid: finish(w, run, proc) for rid, (run, proc) in procs.items()}
