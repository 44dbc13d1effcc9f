"""Configuration: the contract's keys (interface.md section 3) plus a few extensions.

Layering, lowest first: built-in defaults, the machine file, the user file, `--config FILE`,
then environment variables `ACCESS_PROBE_<KEY_PATH>` (e.g. ACCESS_PROBE_COLLECTOR_URL).
Every file is validated on load over the defaults: unknown keys are rejected and every error
names file, line and key (`ConfigError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class DNSConfig:
    resolver: str = "system"  # "system" or an IP address


@dataclass(frozen=True, slots=True, kw_only=True)
class TLSConfig:
    public_roots: Path | None = None  # CA bundle standing for the public web PKI; None: certifi


@dataclass(frozen=True, slots=True, kw_only=True)
class ControlConfig:
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectorConfig:
    url: str | None = None
    token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleConfig:
    every_minutes: float = 60.0
    jitter_minutes: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeConfig:
    """Extension: per-step bounds of the engine."""

    timeout_seconds: float = 8.0  # each step (DNS, TCP, TLS, HTTP) gets at most this
    concurrency: int = 16  # endpoints probed at once
    max_body_bytes: int = 262144
    max_redirects: int = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolConfig:
    """Extension: where undelivered results wait, and how much may wait."""

    dir: Path | None = None  # None: the platform's user data dir
    max_results: int = 100000
    max_age_days: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    targets: Path | None = None
    org: str | None = None
    network: str | None = None
    dns: DNSConfig = field(default_factory=DNSConfig)
    proxy: str = "system"  # system | none | http://host:port
    tls: TLSConfig = field(default_factory=TLSConfig)
    control: ControlConfig = field(default_factory=ControlConfig)
    collector: CollectorConfig = field(default_factory=CollectorConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    log_level: str = "warning"


DEFAULT = Config()


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedConfig:
    """The effective configuration and, for each dotted key, where its value came from
    ("default", a file path with line, or "env ACCESS_PROBE_...")."""

    config: Config
    sources: dict[str, str]


def load_config(explicit: Path | None = None, *, env: dict[str, str] | None = None,
                machine_file: Path | None = None, user_file: Path | None = None) -> LoadedConfig:
    """Layer defaults < machine file < user file < explicit file < environment.

    `machine_file`/`user_file` default to the platform's conventional places (platformdirs;
    ProgramData on Windows); `env` defaults to os.environ. Raises ConfigError.
    """
    raise NotImplementedError  # filled in by the configuration work
