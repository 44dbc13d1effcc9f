"""The collector's settings: one frozen record, validated when built, so a bad value stops the
service at start-up with a message naming the setting instead of failing on the first request.

Settings travel to uvicorn worker processes as environment variables (`to_env`/`from_env`),
because `uvicorn --workers N` imports the app factory afresh in every worker.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from access_probe.errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ENV_VAR = "ACCESS_PROBE_COLLECTOR_SETTINGS"
MiB = 1024 * 1024


def default_db_url() -> str:
    """SQLite in the platform's user data directory: the embedded default."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('access-probe')) / 'collector.sqlite3'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    db_url: str
    k: int = 3  # small-cell threshold: rows from fewer organisations are suppressed
    config: Path | None = None  # agent-style config file for control measurements
    targets: Path | None = None  # catalogue; None: the packaged one
    control_allow: tuple[Network, ...] = ()
    catalogue_only: bool = False
    max_body_bytes: int = 5 * MiB
    submit_per_minute: float = 60.0
    submit_burst: int = 30
    control_per_minute: float = 300.0  # URLs measured (cache hits are free)
    control_burst: int = 200
    auth_failures_per_minute: float = 10.0  # failed authentications per client address
    auth_failure_burst: int = 20
    control_cache_seconds: float = 60.0
    # A token's row is read from the database at most this often per process: the bound on
    # how long a revoked token is still accepted (0: read on every request).
    token_cache_seconds: float = 5.0
    control_deadline_seconds: float = 30.0
    control_workers: int = 16
    db_pool_size: int = 5
    # Raw results measured longer ago than this are dropped (whole monthly partitions on
    # PostgreSQL, rows on SQLite) by `collector maintain` and hourly by `serve`; 0 keeps all.
    # The rollups' counts are kept. Default from ACCESS_PROBE_RETENTION_DAYS.
    retention_days: int = 0
    # Seconds between rounds of the dashboard's cache warmer (its default views asked ahead of
    # visitors, api/warm.py); 0, the library default, turns it off (`serve` defaults to 300).
    # Warm views show counts up to a round old.
    dashboard_warm_seconds: float = 0.0

    def __post_init__(self) -> None:
        _check_db_url(self.db_url)
        _positive(self, "k", "max_body_bytes", "submit_burst", "control_burst", "control_workers",
                  "db_pool_size", "submit_per_minute", "control_per_minute",
                  "auth_failures_per_minute", "auth_failure_burst",
                  "control_deadline_seconds")
        if isinstance(self.retention_days, bool) or not isinstance(self.retention_days, int) \
                or self.retention_days < 0:
            raise ConfigError("must be a whole number of days, 0 to keep everything",
                              key="retention_days")
        for name in ("dashboard_warm_seconds", "control_cache_seconds", "token_cache_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError("must not be negative", key=name)
        for path, key in ((self.config, "config"), (self.targets, "targets")):
            if path is not None and not path.is_file():
                raise ConfigError(f"no such file: {path}", key=key)

    def to_env(self) -> str:
        data = dataclasses.asdict(self)
        data["config"] = str(self.config) if self.config else None
        data["targets"] = str(self.targets) if self.targets else None
        data["control_allow"] = [str(n) for n in self.control_allow]
        return json.dumps(data)

    @classmethod
    def from_env(cls, text: str) -> Settings:
        data = json.loads(text)
        data["config"] = Path(data["config"]) if data.get("config") else None
        data["targets"] = Path(data["targets"]) if data.get("targets") else None
        data["control_allow"] = parse_networks(data.get("control_allow") or ())
        return cls(**data)


RETENTION_ENV = "ACCESS_PROBE_RETENTION_DAYS"


def retention_from_env(environ: dict[str, str] | None = None) -> int:
    import os

    text = (environ if environ is not None else os.environ).get(RETENTION_ENV, "").strip()
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise ConfigError(f"{RETENTION_ENV} must be a whole number of days, not {text!r}",
                          key="retention_days")
    return int(text)


def parse_networks(texts: object) -> tuple[Network, ...]:
    """`--control-allow` values; a bare address means just that host."""
    if not isinstance(texts, list | tuple):
        raise ConfigError("must be a list of CIDR networks", key="control_allow")
    try:
        return tuple(ipaddress.ip_network(str(t), strict=False) for t in texts)
    except ValueError as exc:
        raise ConfigError(str(exc), key="control_allow") from None


def normalise_db_url(url: str) -> str:
    """Choose the driver we ship (psycopg 3) for a plain postgresql:// URL."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def _check_db_url(url: str) -> None:
    if url.startswith("sqlite:///") or url == "sqlite://":
        return
    if normalise_db_url(url).startswith("postgresql+psycopg://"):
        return
    raise ConfigError("expected sqlite:///PATH or postgresql://...", key="db")


def _positive(settings: Settings, *names: str) -> None:
    for name in names:
        value = getattr(settings, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"must be a positive number, not {value!r}", key=name)
