"""Benchmark: `access-probe check` beside Prometheus blackbox_exporter and a raw-socket floor
client, on a slow, lossy path of the bench's own network lab (issue 8).

    sudo .venv/bin/python bench/vs_blackbox.py [--endpoints 200] [--rounds 3] [--parallel 16]

The lab: a client namespace, a gateway and a server namespace serving `--endpoints` HTTPS
sites (distinct names, one certificate from the bench's own CA, the lab's websrv). The kernel
here has no sch_netem, so the gateway's user-space delay line (tests/netlab/services/
delayline.py) holds every TCP chunk and DNS datagram `--delay` seconds each way (80 ms round
trip by default), and iptables drops `--loss` of the packets each way on the far link, TCP and
UDP alike. The relay terminates the client's TCP: a connection's round trip shows in its first
exchange (the TLS hello) rather than in connect(), the same for every client measured.

Each round runs the three clients one after the other, in a rotating order (interleaved):
- access-probe: `access-probe check --json --no-submit --parallel N URL...` (a fresh process,
  start-up included, as an officer runs it);
- blackbox_exporter: a fresh exporter with an http module equivalent to one check (GET, no
  redirects, the bench CA, IPv4, 8 s), driven through /probe by N threads;
- floor: N threads each doing getaddrinfo, TCP connect, TLS, one GET, once per endpoint.
It prints, per client, the median wall time and the ratios to blackbox, the per-endpoint
median and per-phase medians, CPU seconds, peak RSS and the endpoints not accessible, and
the issue's targets beside them. `--endpoints 3 --rounds 1` is a smoke run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PYTHON = str(ROOT / ".venv" / "bin" / "python")
AGENT = str(ROOT / ".venv" / "bin" / "access-probe")
DOMAIN = "bench.test"
SITE = "203.0.113.10"
FAR_DNS = "203.0.113.2"
GATEWAY = "10.77.0.1"
CLIENT = "10.77.0.2"
BLACKBOX_PORT = 9115
PHASES = ("dns", "tcp", "tls", "http")
STEP_TIMEOUT = 8.0


@dataclass
class Run:
    tool: str
    wall: float
    cpu: float
    peak_rss_mib: float
    totals_ms: list[float] = field(default_factory=list)
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    not_accessible: int = 0


# --- the clients that run inside the client namespace (this file, re-entered) -------------

def floor_client(urls: list[str], parallel: int, cafile: str) -> dict[str, object]:
    """DNS, TCP, TLS and one GET once each per endpoint: the least any client can do."""
    context = ssl.create_default_context(cafile=cafile)

    def one(url: str) -> dict[str, float] | None:
        host = urllib.parse.urlsplit(url).hostname or ""
        t0 = time.perf_counter()
        try:
            address = str(socket.getaddrinfo(host, 443, socket.AF_INET,
                                             socket.SOCK_STREAM)[0][4][0])
            t1 = time.perf_counter()
            with socket.create_connection((address, 443), timeout=STEP_TIMEOUT) as sock:
                t2 = time.perf_counter()
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    t3 = time.perf_counter()
                    tls.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                                "User-Agent: floor\r\n\r\n".encode())
                    data = b""
                    while chunk := tls.recv(65536):
                        data += chunk
        except OSError:
            return None
        t4 = time.perf_counter()
        if not data.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
            return None
        return {"dns": t1 - t0, "tcp": t2 - t1, "tls": t3 - t2, "http": t4 - t3,
                "total": t4 - t0}

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(one, urls))
    return {"wall": time.perf_counter() - started, "results": results}


def drive_blackbox(urls: list[str], parallel: int, port: int) -> dict[str, object]:
    """/probe for every URL, `parallel` at once, as Prometheus would scrape them."""
    phase_of = {"resolve": "dns", "connect": "tcp", "tls": "tls", "processing": "http",
                "transfer": "http"}

    def one(url: str) -> dict[str, float] | None:
        query = urllib.parse.urlencode({"module": "https", "target": url})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe?{query}",
                                    timeout=STEP_TIMEOUT + 5) as response:
            text = response.read().decode()
        found: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        success = False
        for line in text.splitlines():
            if line.startswith("probe_success "):
                success = float(line.split()[1]) == 1.0
            elif line.startswith("probe_duration_seconds "):
                found["total"] = float(line.split()[1])
            elif line.startswith("probe_http_duration_seconds{"):
                phase = line.split('phase="', 1)[1].split('"', 1)[0]
                found[phase_of[phase]] += float(line.split()[-1])
        return found if success else None

    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(one, urls))
    return {"wall": time.perf_counter() - started, "results": results}


# --- the lab ----------------------------------------------------------------------------

class BenchLab:
    """Client, gateway (delay line + loss) and server namespaces; always torn down."""

    def __init__(self, endpoints: int, delay: float, loss: float) -> None:
        from tests.netlab import certs
        from tests.netlab.build import start_websrv
        from tests.netlab.topology import Lab

        self.workdir = Path(tempfile.mkdtemp(prefix="bench-vs-blackbox-"))
        self.workdir.chmod(0o755)
        self.lab = Lab(prefix=f"vb{os.getpid()}", workdir=self.workdir)
        lab = self.lab
        self.urls = [f"https://site{i}.{DOMAIN}/" for i in range(endpoints)]
        self.client = lab.ns("client")
        gw = lab.ns("gw", forward=True)
        server = lab.ns("server")
        lab.link(self.client, "eth0", f"{CLIENT}/24", gw, "lan", f"{GATEWAY}/24")
        lab.link(gw, "wan", "203.0.113.1/24", server, "eth0", f"{FAR_DNS}/24")
        lab.ip(server, "addr", "add", f"{SITE}/24", "dev", "eth0")
        lab.ip(self.client, "route", "add", "default", "via", GATEWAY)
        lab.ip(server, "route", "add", "default", "via", "203.0.113.1")
        lab.resolv_conf(self.client, GATEWAY)
        ca = certs.make_ca("Bench Root CA", "access-probe bench")
        self.cafile = self.workdir / "ca.pem"
        self.cafile.write_bytes(ca.cert_pem)
        # The check also measures the catalogue's baselines (to tell offline from blocked):
        # on this lab's Internet they are up, served by the same site.
        names = [urllib.parse.urlsplit(u).hostname or "" for u in self.urls] + baseline_hosts()
        cert, key = certs.write_pair(self.workdir, "sites", *certs.issue(ca, names))
        start_websrv(lab, server, "bench-web", {
            "listen": [[SITE, 443, True], [SITE, 80, False]], "cert": str(cert),
            "key": str(key), "sites": {},
            "default": {"title": "Bench site", "text": "A real site's front page."}})
        lab.spawn(server, "bench-dns", [
            "dnsmasq", "-k", "-C", "/dev/null", "--no-resolv", "--no-hosts",
            f"--address=/#/{SITE}", f"--listen-address={FAR_DNS}", "--bind-interfaces",
            "--pid-file", "--log-facility=-", "--cache-size=0"])
        lab.wait_listening(server, "bench-web", SITE, 443)
        lab.wait_listening(server, "bench-dns", FAR_DNS, 53, udp=True)
        delayline = ROOT / "tests" / "netlab" / "services" / "delayline.py"
        lab.spawn(gw, "bench-delay", [PYTHON, "-u", str(delayline), GATEWAY, "8000", "53",
                                      FAR_DNS, str(delay)])
        lab.wait_listening(gw, "bench-delay", GATEWAY, 8000)
        drop = f"-m statistic --mode random --probability {loss} -j DROP"
        lab.iptables(gw, [
            "-t nat -A PREROUTING -i lan -p tcp -m multiport --dports 80,443 "
            "-j REDIRECT --to-ports 8000",
            f"-A OUTPUT -o wan {drop}",
            f"-A INPUT -i wan {drop}",
        ])
        self.urls_file = self.workdir / "urls.txt"
        self.urls_file.write_text("\n".join(self.urls) + "\n")
        self.config = self.workdir / "config.yaml"
        self.config.write_text(f"tls:\n  public_roots: {self.cafile}\n")
        self.blackbox_config = self.workdir / "blackbox.yml"
        self.blackbox_config.write_text(
            "modules:\n  https:\n    prober: http\n    timeout: 8s\n    http:\n"
            "      method: GET\n      no_follow_redirects: true\n"
            "      preferred_ip_protocol: ip4\n      ip_protocol_fallback: false\n"
            f"      tls_config:\n        ca_file: {self.cafile}\n")
        self.home = self.workdir / "home"
        self.home.mkdir()

    def close(self) -> None:
        self.lab.close()

    def in_client(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.client, *argv]

    def env(self) -> dict[str, str]:
        home = str(self.home)
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
                "XDG_CONFIG_HOME": f"{home}/.config", "XDG_DATA_HOME": f"{home}/.local/share",
                "XDG_STATE_HOME": f"{home}/.local/state", "XDG_CACHE_HOME": f"{home}/.cache"}


def baseline_hosts() -> list[str]:
    from access_probe.catalogue import Role, packaged_catalogue

    return sorted({urllib.parse.urlsplit(e.url).hostname or ""
                   for _s, e in packaged_catalogue().endpoints() if e.role is Role.BASELINE})


def timed_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, float, bytes]:
    """(wall s, CPU s, peak RSS MiB, stdout) of one child process and what it waited for."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _pid, _status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(_status)
        wall = time.perf_counter() - started
        out.seek(0)
        data = out.read()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, data


def run_access_probe(bench: BenchLab, parallel: int) -> Run:
    argv = bench.in_client([AGENT, "check", "--json", "--no-submit", "--parallel",
                            str(parallel), "--config", str(bench.config), *bench.urls])
    wall, cpu, rss, out = timed_child(argv, bench.env())
    run = Run("access-probe", wall, cpu, rss, phases_ms={p: [] for p in PHASES})
    doc = json.loads(out)
    for result in doc["results"]:
        if result["status"] != "accessible":
            run.not_accessible += 1
        timings = result.get("timings_ms") or {}
        if "total" in timings:
            run.totals_ms.append(float(timings["total"]))
        for phase in PHASES:
            if phase in timings:
                run.phases_ms[phase].append(float(timings[phase]))
    run.not_accessible += len(bench.urls) - len(doc["results"])
    return run


def _from_client_json(tool: str, wall: float, cpu: float, rss: float, out: bytes,
                      count: int) -> Run:
    answer = json.loads(out)
    run = Run(tool, wall if tool != "blackbox" else float(answer["wall"]), cpu, rss,
              phases_ms={p: [] for p in PHASES})
    for result in answer["results"]:
        if result is None:
            run.not_accessible += 1
            continue
        run.totals_ms.append(result["total"] * 1000)
        for phase in PHASES:
            run.phases_ms[phase].append(result[phase] * 1000)
    run.not_accessible += count - len(answer["results"])
    return run


def run_floor(bench: BenchLab, parallel: int) -> Run:
    argv = bench.in_client([PYTHON, __file__, "--floor", str(bench.urls_file),
                            "--parallel", str(parallel), "--cafile", str(bench.cafile)])
    wall, cpu, rss, out = timed_child(argv, bench.env())
    return _from_client_json("floor", wall, cpu, rss, out, len(bench.urls))


def run_blackbox(bench: BenchLab, parallel: int) -> Run:
    exporter = subprocess.Popen(
        bench.in_client(["prometheus-blackbox-exporter",
                         f"--config.file={bench.blackbox_config}",
                         f"--web.listen-address=127.0.0.1:{BLACKBOX_PORT}"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=bench.env())
    try:
        _wait_http(bench, BLACKBOX_PORT)
        argv = bench.in_client([PYTHON, __file__, "--drive-blackbox", str(bench.urls_file),
                                "--parallel", str(parallel), "--port", str(BLACKBOX_PORT)])
        _wall, _cpu, _rss, out = timed_child(argv, bench.env())
        cpu, rss = _usage_of(exporter.pid)
    finally:
        exporter.terminate()
        exporter.wait(10)
    return _from_client_json("blackbox", 0.0, cpu, rss, out, len(bench.urls))


def _wait_http(bench: BenchLab, port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = subprocess.run(bench.in_client(["ss", "-Hltn", f"src 127.0.0.1:{port}"]),
                              capture_output=True, text=True, check=False)
        if done.stdout.strip():
            return
        time.sleep(0.1)
    raise RuntimeError("blackbox_exporter did not start")


def _usage_of(pid: int) -> tuple[float, float]:
    """CPU seconds and peak RSS (MiB) of a running process (`ip netns exec` execs it)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) / 1024
    return cpu, rss


# --- report -------------------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ratio(value: float, baseline: float) -> float:
    """value / baseline; NaN when the baseline is zero, as a tiny run's CPU time is (the
    kernel counts it in 10 ms ticks), so the ratio prints as nan and counts as not met."""
    return value / baseline if baseline else math.nan


def report(runs: dict[str, list[Run]], endpoints: int) -> None:
    def med(tool: str, get: Callable[[Run], float]) -> float:
        return _median([get(r) for r in runs[tool]])

    print(f"\n{'client':13} {'wall s':>7} {'per-endpoint ms':>16} "  # noqa: T201
          + " ".join(f"{p + ' ms':>8}" for p in PHASES)
          + f" {'CPU s':>6} {'peak RSS MiB':>12}  not accessible (per run)")
    for tool, tool_runs in runs.items():
        per_endpoint = _median([_median(r.totals_ms) for r in tool_runs])
        phases = [_median([_median(r.phases_ms[p]) for r in tool_runs]) for p in PHASES]
        print(f"{tool:13} {med(tool, lambda r: r.wall):7.2f} {per_endpoint:16.0f} "  # noqa: T201
              + " ".join(f"{v:8.0f}" for v in phases)
              + f" {med(tool, lambda r: r.cpu):6.2f} "
              + f"{max(r.peak_rss_mib for r in tool_runs):12.1f}  "
              + ", ".join(str(r.not_accessible) for r in tool_runs))
    ap, bb, fl = runs["access-probe"], runs["blackbox"], runs["floor"]
    wall_ratio = _ratio(_median([r.wall for r in ap]), _median([r.wall for r in bb]))
    endpoint_ratio = _ratio(_median([_median(r.totals_ms) for r in ap]),
                            _median([_median(r.totals_ms) for r in fl]))
    cpu_ratio = _ratio(_median([r.cpu for r in ap]), _median([r.cpu for r in bb]))
    peak = max(r.peak_rss_mib for r in ap)
    missing = max(r.not_accessible for r in ap)
    print(f"\n{endpoints} endpoints, {len(ap)} interleaved rounds. Ratios and targets:")  # noqa: T201
    for name, value, target, ok in (
            ("wall, access-probe / blackbox", wall_ratio, "<= 1.0", wall_ratio <= 1.0),
            ("per-endpoint median, access-probe / floor", endpoint_ratio, "<= 1.1",
             endpoint_ratio <= 1.1),
            ("CPU, access-probe / blackbox", cpu_ratio, "<= 1.5", cpu_ratio <= 1.5),
            ("peak RSS of the check, MiB", peak, "<= 50", peak <= 50),
            ("endpoints not accessible (worst run)", missing, "0", missing == 0)):
        print(f"  {name:44} {value:7.2f}  target {target:7} {'met' if ok else 'MISSED'}")  # noqa: T201


def sweep(bench: BenchLab, values: list[int], rounds: int) -> None:
    walls: dict[int, list[Run]] = {n: [] for n in values}
    for round_no in range(rounds):
        order = values[round_no % len(values):] + values[: round_no % len(values)]
        for n in order:
            walls[n].append(run_access_probe(bench, n))
    first = _median([r.wall for r in walls[values[0]]])
    print(f"{'--parallel':>10} {'wall s':>7} {'x first':>8} {'CPU s':>6} "  # noqa: T201
          f"{'peak RSS MiB':>12}  not accessible (per run)")
    for n, runs in walls.items():
        wall = _median([r.wall for r in runs])
        print(f"{n:10} {wall:7.2f} {wall / first:8.2f} "  # noqa: T201
              f"{_median([r.cpu for r in runs]):6.2f} "
              f"{max(r.peak_rss_mib for r in runs):12.1f}  "
              + ", ".join(str(r.not_accessible) for r in runs))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--delay", type=float, default=0.040, help="seconds each way")
    parser.add_argument("--loss", type=float, default=0.01, help="drop probability each way")
    parser.add_argument("--sweep", metavar="N,N,...",
                        help="instead: access-probe alone at each --parallel value, interleaved "
                             "(how the default probe.concurrency was chosen)")
    parser.add_argument("--floor", metavar="URLS", help=argparse.SUPPRESS)
    parser.add_argument("--drive-blackbox", metavar="URLS", help=argparse.SUPPRESS)
    parser.add_argument("--cafile", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=BLACKBOX_PORT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor or args.drive_blackbox:
        urls = Path(args.floor or args.drive_blackbox).read_text().split()
        answer = floor_client(urls, args.parallel, args.cafile) if args.floor else \
            drive_blackbox(urls, args.parallel, args.port)
        sys.stdout.write(json.dumps(answer))
        return 0
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
    started = time.monotonic()
    bench = BenchLab(args.endpoints, args.delay, args.loss)
    try:
        print(f"lab up in {time.monotonic() - started:.1f} s: {args.endpoints} HTTPS "  # noqa: T201
              f"endpoints, {2000 * args.delay:.0f} ms RTT, {100 * args.loss:g} % loss each way")
        if args.sweep:
            sweep(bench, [int(n) for n in args.sweep.split(",")], args.rounds)
            return 0
        clients: dict[str, Callable[[BenchLab, int], Run]] = {
            "access-probe": run_access_probe, "blackbox": run_blackbox, "floor": run_floor}
        runs: dict[str, list[Run]] = {name: [] for name in clients}
        names = list(clients)
        for round_no in range(args.rounds):
            order = names[round_no % 3:] + names[: round_no % 3]
            for name in order:
                run = clients[name](bench, args.parallel)
                runs[name].append(run)
                print(f"round {round_no + 1} {name:13} wall {run.wall:6.2f} s  "  # noqa: T201
                      f"CPU {run.cpu:5.2f} s  not accessible {run.not_accessible}")
        report(runs, args.endpoints)
    finally:
        bench.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
