"""run_check over loopback: targets planned, baselines measured but not reported, offline told
apart from blocked."""

from __future__ import annotations

import socket
from dataclasses import replace

from access_probe.catalogue import parse_catalogue
from access_probe.config import Config, ProbeConfig
from access_probe.engine.check import plan_targets, run_check
from access_probe.schema import Layer, Method, Status
from tests.servers import NXDOMAIN, Answer, DNSServer, Page, WebServer, lab_env

FAST = replace(Config(), probe=ProbeConfig(timeout_seconds=0.6))


def catalogue(site: str, baseline: str) -> str:
    return (f"version: 1\nservices:\n  - id: social\n    category: social\n"
            f"    endpoints: ['{site}']\n  - id: lab-baseline\n    category: baseline\n"
            f"    endpoints: ['{baseline}']\n")


def test_baselines_are_measured_not_reported() -> None:
    cat = parse_catalogue(catalogue("http://site.test/", "http://base.test/"))
    planned = plan_targets(cat, ["http://other.test/x"])
    assert [(t.url, t.reported) for t in planned] == [("http://other.test/x", True),
                                                      ("http://base.test/", False)]
    assert not planned[0].known  # a host no service describes


def test_resolver_that_knows_nothing_means_offline() -> None:
    """Every name NXDOMAIN, baselines included, no control: not censorship, no network."""
    with DNSServer({"site.test": NXDOMAIN, "base.test": NXDOMAIN}) as dns:
        cat = parse_catalogue(catalogue("http://site.test/", "http://base.test/"))
        doc = run_check(None, config=FAST, catalogue=cat, env=lab_env(dns))
    assert {r.target: r.status for r in doc.results} == {"social": Status.OFFLINE,
                                                         "lab-baseline": Status.OFFLINE}


def test_blocked_site_beside_a_working_baseline() -> None:
    with WebServer({"/": Page.html("Baseline")}) as web, DNSServer(
            {"site.test": NXDOMAIN, "base.test": Answer.a("127.0.0.1")}) as dns:
        cat = parse_catalogue(catalogue("http://site.test/", web.url("/", host="base.test")))
        doc = run_check(["http://site.test/"], config=FAST, catalogue=cat, env=lab_env(dns))
    [result] = doc.results
    assert result.status is Status.BLOCKED and result.blocking is not None
    assert (result.blocking.layer, result.blocking.method) == (Layer.DNS, Method.DNS_NXDOMAIN)
    assert result.control is None and result.evidence is not None
    assert result.evidence.dns == "dns_nxdomain_error"


def test_a_resolver_giving_real_addresses_is_a_network() -> None:
    """Baselines unreachable in this network, but the site's name resolves and its connection
    is reset: the machine is online and the reset is reported."""
    with socket.socket() as probe:  # a port nobody listens on: the kernel resets
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with DNSServer({"site.test": Answer.a("127.0.0.1"), "base.test": NXDOMAIN}) as dns:
        cat = parse_catalogue(catalogue(f"http://site.test:{closed}/", "http://base.test/"))
        doc = run_check(None, config=FAST, catalogue=cat, env=lab_env(dns))
    statuses = {r.target: r.status for r in doc.results}
    assert statuses["social"] is Status.BLOCKED  # a catalogue site reset: tcp-reset
    assert statuses["lab-baseline"] is not Status.OFFLINE


def test_verdicts_without_a_control_say_so() -> None:
    """No control.url: a top-level warning, and each verdict's evidence says it stood alone."""
    from access_probe.agent.anonymise import anonymise
    from access_probe.render import table
    from access_probe.schema import ControlUse

    with WebServer({"/": Page.html("Baseline")}) as web, DNSServer(
            {"site.test": NXDOMAIN, "base.test": Answer.a("127.0.0.1")}) as dns:
        cat = parse_catalogue(catalogue("http://site.test/", web.url("/", host="base.test")))
        doc = run_check(["http://site.test/"], config=FAST, catalogue=cat, env=lab_env(dns))
    [result] = doc.results
    assert result.evidence is not None and result.evidence.control is ControlUse.NOT_CONFIGURED
    assert "without a control measurement" in result.evidence.reason
    assert len(doc.warnings) == 1 and "control.url is not set" in doc.warnings[0]
    assert doc.to_json()["warnings"] == list(doc.warnings)
    assert table(doc).rstrip().splitlines()[-1] == f"Warning: {doc.warnings[0]}"
    sent = anonymise(doc)
    assert sent["results"][0]["evidence"]["control"] == "not-configured"
    assert "warnings" not in sent  # free text stays on this machine


def test_a_refused_control_token_is_a_warning_and_marks_every_verdict() -> None:
    from access_probe.schema import ControlUse
    from tests.agent.stub_collector import StubCollector

    collector = StubCollector().start()
    try:
        with WebServer({"/": Page.html("Baseline")}) as web, DNSServer(
                {"site.test": NXDOMAIN, "base.test": Answer.a("127.0.0.1")}) as dns:
            cat = parse_catalogue(catalogue("http://site.test/", web.url("/", host="base.test")))
            config = replace(FAST, control=replace(FAST.control, url=collector.url),
                             collector=replace(FAST.collector, token="wrong-token"))
            doc = run_check(["http://site.test/"], config=config, catalogue=cat,
                            env=lab_env(dns))
    finally:
        collector.stop()
    [result] = doc.results
    assert result.evidence is not None and result.evidence.control is ControlUse.FAILED
    assert "without a control measurement" in result.evidence.reason
    [warning] = doc.warnings
    assert "refused the token (HTTP 401)" in warning and "collector.token" in warning
