"""Where a check's CPU goes: a 200-endpoint `run_check` on loopback, profiled in every thread
of the check (the probe pool, the fingerprint preparation, the main thread), servers apart.

    .venv/bin/python -m bench.profile_check [N] [--top 25]

Prints the CPU seconds of the check's own threads (thread_time, summed), the process's CPU
for the same span (servers included, for scale), and the functions with the most cumulative
and own CPU time across the check's threads (cProfile on thread_time, one profiler per thread,
merged). The
page served is a ~5 KB front page, like the vs_blackbox bench's site.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from access_probe.config import Config, ProbeConfig
from access_probe.engine.check import run_check
from access_probe.engine.netenv import NetEnv, ProxyMode
from tests.servers import Answer, CertAuthorities, DNSServer, Page, WebServer, lab_env

TEXT = "<p>A real site's front page.</p>" * 160  # ~5 KB, as the bench site serves


def _servers(names: list[str]) -> tuple[int, NetEnv, int]:
    """(pid, env, web port): the DNS and HTTPS servers in a child process, so that the
    check's process time is the check's alone."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: serve until killed
        os.close(read)
        with CertAuthorities() as cas, DNSServer({n: Answer.a("127.0.0.1") for n in names}
                                                 ) as dns, WebServer(
                {"/": Page.html("Bench site", TEXT)}, cert=cas.public_cert(*names)) as web:
            env = lab_env(dns, cas)
            os.write(write, json.dumps({"env": [env.resolver, env.dns_port, str(
                cas.public_bundle)], "port": web.port}).encode() + b"\n")
            os.close(write)
            signal.sigwait({signal.SIGTERM})
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        info = json.loads(pipe.readline())
    resolver, dns_port, bundle = info["env"]
    env = NetEnv(resolver=resolver, nameservers=(resolver,), dns_port=dns_port,
                 proxy_mode=ProxyMode.NONE, public_roots=Path(bundle), local_cafile=Path(bundle),
                 lab_networks=("127.0.0.0/8", "::1/128"))
    return pid, env, int(info["port"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoints", nargs="?", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true",
                        help="only the CPU seconds, without the profiler's own overhead")
    args = parser.parse_args()
    names = [f"site{i}.test" for i in range(args.endpoints)]
    profiles: list[cProfile.Profile] = []
    cpu: list[float] = []
    lock = threading.Lock()

    def start_profile(*_args: object) -> None:
        threading.setprofile(None)  # once per thread
        sys.setprofile(None)
        name = threading.current_thread().name
        if not name.startswith(("probe", "prepare", "lookup", "dns")):
            return
        prof = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(prof)
        prof.enable()
        start = time.thread_time()

        def done() -> None:
            with lock:
                cpu.append(time.thread_time() - start)

        threading.current_thread().__dict__.setdefault("_bench_done", done)

    servers, env, port = _servers(names)
    try:
        config = replace(Config(), probe=ProbeConfig(concurrency=16))
        urls = [f"https://{n}:{port}/" for n in names]
        if not args.no_profile:
            threading.setprofile(start_profile)
        main_prof = cProfile.Profile(time.thread_time)
        proc0, main0 = time.process_time(), time.thread_time()
        wall0 = time.perf_counter()
        if not args.no_profile:
            main_prof.enable()
        doc = run_check(urls, config=config, env=env)
        main_prof.disable()
        wall = time.perf_counter() - wall0
        main_cpu, proc_cpu = time.thread_time() - main0, time.process_time() - proc0
        threading.setprofile(None)
        for prof in profiles:
            prof.disable()
    finally:
        os.kill(servers, signal.SIGTERM)
        os.waitpid(servers, 0)
    accessible = sum(r.status == "accessible" for r in doc.results)
    print(f"{args.endpoints} endpoints: wall {wall:.2f} s, check CPU {proc_cpu:.2f} s "
          f"(all its threads; the servers run in another process), main thread {main_cpu:.2f} s, "
          f"{accessible}/{len(doc.results)} accessible")
    if args.no_profile:
        return
    stats = pstats.Stats(main_prof, stream=io.StringIO())
    for prof in profiles:
        stats.add(prof)
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats(key).print_stats(args.top)
        print(f"--- by {key} ---")
        print("\n".join(line for line in out.getvalue().splitlines()
                        if line.strip() and not line.startswith(("   Ordered", "   List"))))


if __name__ == "__main__":
    main()
