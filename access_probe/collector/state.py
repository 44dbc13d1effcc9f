"""What the routes share, built once per app by `create_app` (never at import time).

Nothing here is per-process state that should be shared: the limits and the control cache are
rows in the database (`shared.py`), the councils and templates are read-only, and the metrics
are this process's own counters (scrape each process; see docs/deployment.md)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from access_probe.collector.control import ControlService
from access_probe.collector.councils import Councils
from access_probe.collector.metrics import Metrics
from access_probe.collector.settings import Settings
from access_probe.collector.shared import AddressHasher, SharedRateLimiter
from access_probe.collector.tokens import TokenCache


@dataclass(frozen=True, slots=True, kw_only=True)
class Collector:
    settings: Settings
    engine: Engine
    councils: Councils
    metrics: Metrics
    submit_limits: SharedRateLimiter
    control_limits: SharedRateLimiter
    auth_failures: SharedRateLimiter  # per hashed client address
    address_hash: AddressHasher
    tokens: TokenCache  # this process's own, for `settings.token_cache_seconds`
    control: ControlService
    templates: Jinja2Templates
