"""Prometheus metrics, in a registry of the app's own (not the process-global one), so several
apps in one process (tests) do not collide. No label names an organisation or a caller."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.submissions = Counter("collector_submissions", "Submission requests by outcome",
                                   ["outcome"], registry=self.registry)
        self.results = Counter("collector_results", "Results received, new or duplicate",
                               ["outcome"], registry=self.registry)
        self.control_urls = Counter("collector_control_urls", "Control URLs by outcome",
                                    ["outcome"], registry=self.registry)
        self.ingest_seconds = Histogram("collector_ingest_seconds",
                                        "Time to store and commit one batch",
                                        registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
