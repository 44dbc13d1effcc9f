"""One check's DNS: every distinct name looked up once, politely, and never waited on twice.

A check measures many endpoints that share hosts. `Lookups` asks about each name once per
check (the system resolver and the direct query side by side, as `measure` always did) and
hands the same observations to every measurement of that name. At most `in_flight` lookups
run at once (each is at most two queries, A and AAAA), so a council's small DNS forwarder
(dnsmasq allows 150 outstanding queries) is never flooded. A transient answer (SERVFAIL;
EAI_AGAIN from getaddrinfo) is asked once more after a short pause before it becomes
evidence. A measurement connects as soon as either lookup gave usable addresses
(`Lookup.first_usable`); the other finishes in the background within its step and is
recorded all the same (`Lookup.observations`).
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from access_probe.engine.netenv import NetEnv
from access_probe.engine.probe import dns
from access_probe.engine.probe.base import Clock, ProbeContext
from access_probe.model import DNSObservation, Engine, Failure

__all__ = ["IN_FLIGHT", "Lookup", "Lookups"]

IN_FLIGHT = 16  # lookups at once per check: at most 32 queries outstanding
RETRY_PAUSE = 0.25  # seconds before a transient failure is asked again
_SLACK = 0.5  # seconds: each lookup's own timeouts end it; this only guards a hang
# The failures worth asking again. A system resolver's DNS_TIMEOUT is glibc's EAI_AGAIN,
# which SERVFAIL also becomes; a real timeout has used up the step and is not retried. A
# direct query retransmits by itself, so only its SERVFAIL is asked again.
_TRANSIENT = {Engine.SYSTEM: frozenset({Failure.DNS_SERVFAIL, Failure.DNS_TIMEOUT}),
              Engine.UDP: frozenset({Failure.DNS_SERVFAIL})}

Usable = Callable[[str], bool]
_Job = Callable[[ProbeContext], DNSObservation]


class Lookup:
    """The lookups of one name: their observations, as they arrive, on the lookup's clock."""

    def __init__(self, hostname: str, engines: list[tuple[Engine, str]],
                 timeout: float) -> None:
        self.hostname = hostname
        self.clock = Clock()
        self.engines = engines
        self._results: list[DNSObservation | None] = [None] * len(engines)
        self._until = timeout + _SLACK  # on self.clock
        self._changed = threading.Condition()

    def first_usable(self, usable: Usable) -> list[str]:
        """The usable addresses of the first lookup that gave some (the system resolver's
        first when both have); [] when every lookup failed or the step ran out."""
        with self._changed:
            while True:
                for obs in self._results:
                    if obs is not None and obs.failure is None:
                        found = [a for a in obs.addresses if usable(a)]
                        if found:
                            return found
                remaining = self._until - self.clock.now()
                if None not in self._results or remaining <= 0:
                    return []
                self._changed.wait(remaining)

    def observations(self, clock: Clock) -> list[DNSObservation]:
        """Every lookup's observation (waiting for the rest within their step), with times on
        `clock`, a measurement's zero. A lookup that another measurement started earlier
        is recorded from this measurement's zero: the time this one spent on it."""
        with self._changed:
            self._changed.wait_for(lambda: None not in self._results,
                                   max(0.0, self._until - self.clock.now()))
            results = list(self._results)
        shift = self.clock.zero - clock.zero
        out = []
        for (engine, resolver), obs in zip(self.engines, results, strict=True):
            if obs is None:  # a hung resolver: what the step saw is a timeout
                obs = DNSObservation(engine=engine, resolver=resolver, hostname=self.hostname,
                                     t0=0.0, t=self._until, failure=Failure.DNS_TIMEOUT)
            t0 = max(0.0, obs.t0 + shift)
            out.append(replace(obs, t0=t0, t=max(t0, obs.t + shift)))
        return out

    def _record(self, index: int, obs: DNSObservation) -> None:
        with self._changed:
            self._results[index] = obs
            self._changed.notify_all()


class Lookups:
    """The DNS of one check (or of one measurement when nobody shares it). Close it after."""

    def __init__(self, env: NetEnv, *, timeout: float, in_flight: int = IN_FLIGHT) -> None:
        self._env = env
        self._timeout = timeout
        self._lock = threading.Lock()
        self._by_name: dict[str, Lookup] = {}
        # The pool is the bound on lookups in flight; a queued lookup's wait counts in its step.
        self._pool = cf.ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="dns")

    def lookup(self, hostname: str) -> Lookup:
        """The lookup of `hostname` in this check, started the first time it is asked for."""
        with self._lock:
            found = self._by_name.get(hostname)
            if found is not None:
                return found
            jobs = self._jobs(hostname)
            lookup = Lookup(hostname, [engine for engine, _job in jobs], self._timeout)
            self._by_name[hostname] = lookup
            for index, (_engine, job) in enumerate(jobs):
                self._pool.submit(self._run, lookup, index, job)
            return lookup

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Lookups:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _jobs(self, hostname: str) -> list[tuple[tuple[Engine, str], _Job]]:
        """System resolver and direct query side by side; with an explicit resolver only
        that nameserver is asked (the contract's meaning of dns.resolver)."""
        env = self._env
        jobs: list[tuple[tuple[Engine, str], _Job]] = []
        if env.resolver == "system":
            jobs.append(((Engine.SYSTEM, "system"),
                         lambda ctx: dns.resolve_system(hostname, ctx)))
        if env.nameservers:
            nameserver = env.nameservers[0]
            jobs.append(((Engine.UDP, nameserver),
                         lambda ctx: dns.query_udp(hostname, nameserver, ctx,
                                                   port=env.dns_port)))
        return jobs

    def _run(self, lookup: Lookup, index: int, job: _Job) -> None:
        ctx = ProbeContext(clock=lookup.clock, timeout=self._timeout, deadline=self._timeout,
                           lab_networks=self._env.lab_networks)
        engine = lookup.engines[index][0]
        try:
            obs = job(ctx)
            if obs.failure in _TRANSIENT[engine] and \
                    self._timeout - ctx.clock.now() > RETRY_PAUSE + 0.5:
                time.sleep(RETRY_PAUSE)
                obs = replace(job(ctx), t0=obs.t0)
        except Exception:  # a bug must not leave the measurements waiting for the step
            obs = DNSObservation(engine=engine, resolver=lookup.engines[index][1],
                                 hostname=lookup.hostname, t0=0.0, t=ctx.clock.now(),
                                 failure=Failure.UNKNOWN)
            lookup._record(index, obs)
            raise
        lookup._record(index, obs)
