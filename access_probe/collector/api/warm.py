"""The cache warmer: the dashboard's default views and the reports' shared peer question,
asked ahead of visitors and kept in the query cache (`views.run_all(..., warm_for=...)`).

At national size (ten million results, about three weeks of 400 councils) the default
dashboard's questions read some hundreds of thousands of rollup rows and take seconds cold;
warmed, the page is served from memory. Which pages are warm: `/` for the default period with
no filter, or with one of the standard networks (any `by=`, signed in or not, since suppression
is applied after the counts), and the peer columns of every council's report for the default
period. Any other filter or period is computed when asked (then cached for CACHE_SECONDS).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime

from sqlalchemy.engine import Engine

from access_probe.collector import views
from access_probe.collector.aggregate import AggregateQuery
from access_probe.collector.api.dashboard import dashboard_queries
from access_probe.collector.api.report import peer_query

log = logging.getLogger(__name__)


def warm_sets(today: date) -> list[dict[str, AggregateQuery]]:
    base = AggregateQuery(since=views.period_start(views.DEFAULT_PERIOD, today))
    sets = [dashboard_queries(base, today)]
    sets += [dashboard_queries(views.with_filter(base, "network", (network,)), today)
             for network in views.NETWORK_NAMES]
    sets.append({"peers": peer_query(base)})
    return sets


def warm(engine: Engine, *, keep: float) -> float:
    """One round: every warm question asked afresh, its counts kept `keep` seconds. Returns
    the seconds the round took."""
    started = time.monotonic()
    for queries in warm_sets(datetime.now(UTC).date()):
        views.run_all(engine, queries, warm_for=keep)
    took = time.monotonic() - started
    log.info("dashboard cache warmed in %.1f s", took)
    return took
