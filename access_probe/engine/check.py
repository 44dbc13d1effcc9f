"""Probe many targets at once and judge them: the library behind `access-probe check`.

Every endpoint is measured concurrently (a bounded pool), the control vantage point is asked
about the same URLs at the same time, and the whole run is bounded by a deadline derived from
the step timeout, so a catalogue of blocked sites takes about one step timeout plus a few round
trips, never the sum of its timeouts. Baseline endpoints (sites councils almost never block)
are always measured: with the control service, they tell "offline" from "blocked".
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from access_probe import __version__
from access_probe.catalogue import Catalogue, Category, Role
from access_probe.config import Config
from access_probe.errors import UsageError
from access_probe.model import Control, HTTPObservation, Measurement, ProxyObservation
from access_probe.schema import (
    CheckDocument,
    Context,
    ControlUse,
    Evidence,
    Result,
    Status,
    utc_now,
)
from access_probe.verdict import PageFacts, Pages, Verdict, decide

if TYPE_CHECKING:
    from access_probe.engine.measure import Limits
    from access_probe.engine.netenv import NetEnv

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
CONTROL_WAIT = 40.0  # seconds: above the collector's default control deadline (30 s)


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    id: str
    url: str
    service: str | None
    category: str | None
    known: bool  # the host belongs to a catalogue service
    reported: bool = True  # False for baselines measured only to judge connectivity


def normalise_url(text: str) -> str:
    """Accept what officers paste: a bare host gets https://. Raise UsageError otherwise."""
    from access_probe.catalogue import http_url_problem

    candidate = text.strip()
    if "://" not in candidate:
        candidate = "https://" + candidate
    problem = http_url_problem(candidate)
    if problem is not None:
        raise UsageError(f"{text!r} cannot be checked: {problem}")
    return candidate if urlsplit(candidate).path else candidate + "/"


def plan_targets(catalogue: Catalogue, urls: Sequence[str] | None) -> list[Target]:
    """The endpoints to measure: the given URLs, or the whole catalogue; plus the baselines,
    taken from the packaged catalogue when the one in use has none (a bare list of URLs)."""
    from access_probe.catalogue import packaged_catalogue

    chosen = Catalogue.from_urls([normalise_url(u) for u in urls], known=catalogue) if urls \
        else catalogue
    # "Known" sites are the catalogue's services; a host nobody described lands in "other".
    targets = [
        Target(id=endpoint.id, url=endpoint.url, service=service.id, category=service.category,
               known=service.category != Category.OTHER)
        for service, endpoint in chosen.endpoints()
    ]
    baselines = [(s, e) for s, e in catalogue.endpoints() if e.role is Role.BASELINE]
    if not baselines:
        baselines = [(s, e) for s, e in packaged_catalogue().endpoints()
                     if e.role is Role.BASELINE]
    seen = {t.url for t in targets}
    for service, endpoint in baselines:
        if endpoint.url not in seen:
            targets.append(Target(id=endpoint.id, url=endpoint.url, service=service.id,
                                  category=service.category, known=True, reported=False))
    return targets


def run_check(urls: Sequence[str] | None, *, config: Config, progress: Progress | None = None,
              catalogue: Catalogue | None = None, env: NetEnv | None = None) -> CheckDocument:
    """Measure, compare with the control, judge. Raises only for input errors.

    `env` defaults to the network environment the configuration describes (netenv)."""
    from access_probe.catalogue import load_catalogue
    from access_probe.engine.measure import Limits
    from access_probe.engine.netenv import NetEnv

    if catalogue is None:
        catalogue = load_catalogue(config.targets)
    targets = plan_targets(catalogue, urls)
    if env is None:
        env = NetEnv.from_config(config)
    limits = Limits(timeout=config.probe.timeout_seconds, max_body=config.probe.max_body_bytes,
                    max_redirects=config.probe.max_redirects)
    started = utc_now()
    matched: dict[int, PageFacts] = {}  # id(response) -> its facts, found while others wait
    measurements, controls, late = _measure_all(targets, config=config, env=env, limits=limits,
                                                progress=progress, matched=matched)
    online = _online(measurements.values(), controls)
    results = []
    for target in targets:
        if not target.reported:
            continue
        m = measurements.get(target.url)
        control = controls.get(target.url)
        verdict = _judge(m, control, target, online, matched)
        results.append(_result(target, m, control, verdict,
                               configured=config.control.url is not None))
    return CheckDocument(
        started_at=started,
        finished_at=utc_now(),
        context=Context(org=config.org, network=config.network),
        results=tuple(results),
        agent=f"access-probe/{__version__}",
        warnings=control_warnings(config.control.url, controls, late=late,
                                  asked=sum(t.reported for t in targets)),
    )


def control_warnings(control_url: str | None, controls: dict[str, Control], *, late: bool,
                     asked: int) -> tuple[str, ...]:
    """What the reader must know about the control: not configured, or failed and why."""
    if control_url is None:
        return ("no control measurement: control.url is not set, so a site that is down "
                "cannot be told from a block; verdicts rest on this network's evidence alone",)
    if late:
        return ("the control measurements timed out: verdicts rest on this network's "
                "evidence alone",)
    errors = [c.error for c in controls.values() if c.error is not None]
    if asked and (not controls or len(errors) == len(controls)):
        reason = max(set(errors), key=errors.count) if errors else "no answer"
        return (f"the control failed ({reason}); verdicts rest on this network's evidence "
                "alone",)
    if errors:
        reason = max(set(errors), key=errors.count)
        return (f"the control failed for {len(errors)} of {len(controls)} links ({reason})",)
    return ()


def _measure_all(targets: list[Target], *, config: Config, env: NetEnv, limits: Limits,
                 progress: Progress | None, matched: dict[int, PageFacts] | None = None,
                 ) -> tuple[dict[str, Measurement], dict[str, Control], bool]:
    """(measurements, controls, whether the control answer came too late or not at all).
    Each response is run through the block-page matcher as its measurement ends, into
    `matched`, while the other measurements are still on the wire."""
    from access_probe.engine.lookups import Lookups
    from access_probe.engine.measure import Steps, measure_steps

    total = len(targets)
    workers = max(1, min(config.probe.concurrency, total))
    waves = math.ceil(total / workers)
    # Worst case of one measurement is a few step timeouts (DNS, connect, TLS, HTTP and some
    # redirects); the deadline caps a whole run however the network misbehaves.
    started = time.monotonic()
    deadline = started + config.probe.timeout_seconds * (4 * waves + 2) + 5
    # The collector measures from outside under its own step timeouts and deadline (30 s by
    # default), which may be longer than ours: its answer is worth waiting that long for.
    control_deadline = max(deadline, started + CONTROL_WAIT)
    pool = cf.ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix="probe")
    lookups = Lookups(env, timeout=limits.timeout)  # one lookup per distinct name per check
    # CPU work the verdicts need, done while the measurements mostly wait on the network.
    threading.Thread(target=_prepare, args=(env,), name="prepare", daemon=True).start()
    try:
        control_future = None
        if config.control.url:
            # Baselines only tell offline from blocked: the control is not asked about them.
            asked = [t.url for t in targets if t.reported]
            control_future = pool.submit(_controls, asked, config, env)
        futures = {pool.submit(measure_steps, t.url, env=env, limits=limits, lookups=lookups): t
                   for t in targets}
        steps: dict[str, Steps] = {}
        done = 0
        for future in cf.as_completed(futures, timeout=max(0.0, deadline - time.monotonic())):
            target = futures[future]
            try:
                step = steps[target.url] = future.result()
                if matched is not None:
                    for obs in _responses(step.measurement):
                        matched[id(obs)] = _facts(obs)
            except Exception:  # a bug in a probe must not sink the other targets
                log.exception("measuring %s failed", target.url)
            done += 1
            if progress is not None:
                progress(done, total)
    except cf.TimeoutError:
        log.warning("check deadline reached; %d targets unfinished", total - len(steps))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        # The slower lookups ran on meanwhile; each ends within its own step.
        measurements = {url: step.finish() for url, step in steps.items()}
        lookups.close()
    controls: dict[str, Control] = {}
    late = False
    if control_future is not None:
        try:
            controls = control_future.result(
                timeout=max(1.0, control_deadline - time.monotonic()))
        except Exception:  # late, or failed in a way fetch_controls did not foresee
            log.warning("control measurements did not arrive in time")
            late = True
    return measurements, controls, late


def _prepare(env: NetEnv) -> None:
    from access_probe.engine import blockpages

    env.public_context()
    blockpages.load()


def release_memory() -> None:
    """Give back what a check built for itself (fingerprints, compiled patterns, freed heap)
    while the agent waits for its next run; the next check rebuilds what it needs."""
    import gc
    import re

    from access_probe.engine import blockpages

    blockpages.release()
    re.purge()
    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes
        import ctypes.util

        # glibc keeps freed heap pages mapped; malloc_trim returns them to the system.
        libc_name = ctypes.util.find_library("c")
        if libc_name is not None:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(libc_name).malloc_trim(0)


def _controls(urls: list[str], config: Config, env: NetEnv) -> dict[str, Control]:
    from access_probe.engine.control import fetch_controls

    assert config.control.url is not None
    proxy = env.proxy_for(config.control.url).proxy
    # Connecting to the collector is one step; its answer may take its whole deadline.
    return fetch_controls(urls, url=config.control.url, token=config.collector.token,
                          timeout=(config.probe.timeout_seconds, CONTROL_WAIT), proxy=proxy)


def _online(measurements: Iterable[Measurement], controls: dict[str, Control]) -> bool:
    """Does this machine reach any network beyond itself? The control service answering, any
    site or proxy answering (a connection, a CONNECT reply, an HTTP response), or a resolver
    giving real addresses for some name says yes.
    A resolver that answers every name with NXDOMAIN does not: a machine whose baselines
    (www.gov.uk, the OS connectivity checks) all fail that way is offline, not censored."""
    if any(c.error is None for c in controls.values()):
        return True
    for m in measurements:
        if any(h.status is not None for h in m.http):
            return True
        if any(t.failure is None for t in m.tcp):
            return True
        if m.proxy_connect is not None and m.proxy_connect.status is not None:
            return True
        if any(d.failure is None and d.addresses for d in m.dns):
            return True  # a resolver gave real addresses: the network works that far
    return False


def _judge(m: Measurement | None, control: Control | None, target: Target,
           online: bool, matched: Mapping[int, PageFacts] | None = None) -> Verdict:
    pages = page_facts(m, matched) if m is not None and online else None
    return decide(m, control=control, pages=pages, known_site=target.known, online=online)


def _responses(m: Measurement) -> list[HTTPObservation | ProxyObservation]:
    return [*m.http, *([m.proxy_connect] if m.proxy_connect is not None else [])]


def page_facts(m: Measurement, matched: Mapping[int, PageFacts] | None = None) -> Pages:
    """Run the block-page matcher over every response in a measurement (`matched` holds the
    facts of responses already matched, by id)."""
    from access_probe.engine import blockpages
    from access_probe.engine.addresses import is_bogon

    known = matched or {}

    def facts(obs: HTTPObservation | ProxyObservation) -> PageFacts:
        found = known.get(id(obs))
        return found if found is not None else _facts(obs)

    proxy = facts(m.proxy_connect) if m.proxy_connect is not None else PageFacts()
    dns_answer: tuple[blockpages.Match, ...] = ()
    if m.dns and m.dns[0].failure is None:
        # Bogon answers are the DNS probe's call (it knows a lab's own networks); the
        # fingerprints add the public addresses filters park blocked names on.
        public = [a for a in m.dns[0].addresses if not is_bogon(a)]
        dns_answer = blockpages.match_dns_answer(public)
    return Pages(proxy=proxy, hops=tuple(facts(h) for h in m.http), dns_answer=dns_answer)


def _facts(obs: HTTPObservation | ProxyObservation) -> PageFacts:
    from access_probe.engine import blockpages

    if obs.status is None:
        return PageFacts()
    matches = blockpages.match_page(obs)
    suspicious = not matches and blockpages.looks_like_block_page(obs, matches=matches)
    url = obs.url if isinstance(obs, HTTPObservation) else f"https://{obs.target}"
    return PageFacts(matches=matches, suspicious=suspicious,
                     upstream_failure=blockpages.upstream_failure(obs),
                     way_on=bool(url) and blockpages.offers_way_on(obs, url),
                     category=blockpages.stated_category(obs))


_NO_CONTROL = {
    ControlUse.NOT_CONFIGURED: "Judged without a control measurement from outside "
                               "(control.url is not set).",
    ControlUse.FAILED: "Judged without a control measurement from outside (the control "
                       "failed).",
}


def _evidence(verdict: Verdict, use: ControlUse) -> Evidence:
    """The verdict's evidence, saying whether a control backed it."""
    evidence = verdict.evidence or Evidence()
    reason = evidence.reason
    if use is not ControlUse.USED and verdict.status not in (Status.ACCESSIBLE,
                                                             Status.OFFLINE):
        reason = f"{reason} {_NO_CONTROL[use]}".strip()
    return replace(evidence, control=use, reason=reason)


def _result(target: Target, m: Measurement | None, control: Control | None,
            verdict: Verdict, *, configured: bool) -> Result:
    from access_probe.engine.measure import timings_ms

    use = (ControlUse.USED if control is not None and control.usable
           else ControlUse.FAILED if configured else ControlUse.NOT_CONFIGURED)
    return Result(
        target=target.id,
        url=target.url,
        service=target.service,
        category=target.category,
        status=verdict.status,
        blocking=verdict.blocking,
        interception=verdict.interception,
        timings_ms=timings_ms(m) if m is not None else {},
        control={"status": str(control.status)} if control is not None and control.usable else None,
        evidence=_evidence(verdict, use),
        measured_at=m.started_at if m is not None else utc_now(),
    )
