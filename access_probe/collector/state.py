"""What the routes share, built once per app by `create_app` (never at import time)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from access_probe.collector.control import ControlService
from access_probe.collector.councils import Councils
from access_probe.collector.metrics import Metrics
from access_probe.collector.ratelimit import RateLimiter
from access_probe.collector.settings import Settings


@dataclass(frozen=True, slots=True, kw_only=True)
class Collector:
    settings: Settings
    engine: Engine
    councils: Councils
    metrics: Metrics
    submit_limits: RateLimiter
    control_limits: RateLimiter
    control: ControlService
    templates: Jinja2Templates
