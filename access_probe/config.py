"""Configuration: the contract's keys (interface.md section 3) plus a few extensions.

Layering, lowest first: built-in defaults, the machine file, the user file, `--config FILE`,
then environment variables `ACCESS_PROBE_<KEY_PATH>` (e.g. ACCESS_PROBE_COLLECTOR_URL).
Every file is validated on load over the defaults: unknown keys are rejected and every error
names file, line and key (`ConfigError`). Relative paths in a file (`targets`,
`tls.public_roots`, `spool.dir`) resolve against that file's directory; in the environment,
against the working directory. An empty environment value sets an optional key to null.

Extensions to the contract's keys: `probe.*`, `spool.*`, `log_level`, and the proxy form
`pac+http(s)://...` (an explicit PAC file URL). See docs/configuration.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import math
import os
import re
import sys
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import platformdirs

from access_probe.catalogue import http_url_problem
from access_probe.errors import ConfigError
from access_probe.yamlload import YAMLDocument, join, load_yaml

__all__ = [
    "DEFAULT", "CollectorConfig", "Config", "ControlConfig", "DNSConfig", "LoadedConfig",
    "ProbeConfig", "ScheduleConfig", "SpoolConfig", "TLSConfig", "describe", "env_name",
    "keys", "load_config", "machine_config_file", "user_config_file",
]

APP_NAME = "access-probe"
CONFIG_FILE = "config.yaml"
ENV_PREFIX = "ACCESS_PROBE_"


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
    # Endpoints probed at once: the packaged catalogue in one wave (a blocked catalogue costs
    # one step timeout, not two); DNS is bounded apart from this (engine/lookups.py). Chosen
    # by measurement on a slow, lossy uplink: docs/benchmarks.md.
    concurrency: int = 32
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
    # system | none | wpad | http(s)://host:port | pac+http(s)://.../proxy.pac
    proxy: str = "system"
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


def load_config(explicit: Path | None = None, *, env: Mapping[str, str] | None = None,
                machine_file: Path | None = None, user_file: Path | None = None) -> LoadedConfig:
    """Layer defaults < machine file < user file < explicit file < environment.

    `machine_file`/`user_file` default to the platform's conventional places (platformdirs;
    ProgramData on Windows) and are skipped when absent; `explicit` must exist. `env` defaults
    to os.environ. Raises ConfigError.
    """
    layers = _Layers()
    for rank, path in ((1, machine_file or machine_config_file()),
                       (2, user_file or user_config_file())):
        if path.exists():
            layers.apply_file(path, rank)
    if explicit is not None:
        layers.apply_file(explicit, 3)
    layers.apply_env(os.environ if env is None else env)
    layers.check_schedule()
    return LoadedConfig(config=layers.build(),
                        sources={key: origin.label for key, origin in layers.origins.items()})


def describe(loaded: LoadedConfig) -> list[tuple[str, str, str]]:
    """(key, value as shown to people, source) for every key, for `access-probe config show`.

    Secrets are masked: the token shows only its last 4 characters (nothing when it is short),
    a proxy URL's password is replaced with ****.
    """
    rows = []
    for key in keys():
        value = _get(loaded.config, key)
        rows.append((key, _render(key, value), loaded.sources.get(key, "default")))
    return rows


def keys() -> list[str]:
    """Every dotted key, in the order of the Config types."""
    return list(_SPECS)


def env_name(key: str) -> str:
    """The environment variable that overrides `key`: schedule.every_minutes ->
    ACCESS_PROBE_SCHEDULE_EVERY_MINUTES."""
    return ENV_PREFIX + key.upper().replace(".", "_")


def machine_config_file(platform: str = sys.platform,
                        environ: Mapping[str, str] | None = None,
                        etc: Path = Path("/etc")) -> Path:
    """The machine-wide file: %ProgramData%\\access-probe\\config.yaml on Windows (where Group
    Policy or Intune can deploy it), /Library/Application Support/access-probe on macOS, and
    /etc/access-probe/config.yaml on Linux and other Unixes (the Debian package's conffile).

    The Linux place is fixed rather than the first of $XDG_CONFIG_DIRS, which differs between a
    system service (unset: /etc/xdg) and a desktop session (Ubuntu's GNOME puts
    /etc/xdg/xdg-ubuntu first), so the service and the tray would read different files. A file
    at the earlier documented /etc/xdg/access-probe/config.yaml is still read when
    /etc/access-probe/config.yaml does not exist."""
    environ = os.environ if environ is None else environ
    if platform == "win32" and environ.get("ProgramData"):
        return Path(environ["ProgramData"]) / APP_NAME / CONFIG_FILE
    if platform == "darwin":
        return Path("/Library/Application Support") / APP_NAME / CONFIG_FILE
    fixed = etc / APP_NAME / CONFIG_FILE
    legacy = etc / "xdg" / APP_NAME / CONFIG_FILE
    return legacy if not fixed.exists() and legacy.exists() else fixed


def user_config_file() -> Path:
    """The per-user file: platformdirs' user config dir (~/.config/access-probe on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE


# --- rendering --------------------------------------------------------------------------------

def _get(config: Config, key: str) -> object:
    value: object = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _render(key: str, value: object) -> str:
    if value is None:
        return "null"
    if key == "collector.token":
        text = str(value)
        return "****" + text[-4:] if len(text) >= 12 else "****"
    if key == "proxy":
        return _mask_password(str(value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _mask_password(url: str) -> str:
    parts = urlsplit(url.removeprefix("pac+"))
    if parts.password is None:
        return url
    netloc = f"{parts.username}:****@" + parts.netloc.rsplit("@", 1)[1]
    prefix = "pac+" if url.startswith("pac+") else ""
    return prefix + urlunsplit(parts._replace(netloc=netloc))


# --- the key table, derived from the Config types -------------------------------------------

class _Invalid(Exception):
    """A value broke a rule; the message is the problem, located by the caller."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Spec:
    kind: type  # str, int, float or Path
    nullable: bool
    default: object
    check: Callable[[typing.Any], object] | None


def _walk_fields(cls: type, prefix: str = "") -> Iterator[tuple[str, type, bool, object]]:
    """(dotted key, type, nullable, default) for every leaf field."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = join(prefix, f.name)
        hint = hints[f.name]
        args = typing.get_args(hint)
        nullable = type(None) in args
        kind = next(a for a in args if a is not type(None)) if args else hint
        if dataclasses.is_dataclass(kind):
            yield from _walk_fields(typing.cast(type, kind), path)
        else:
            yield path, typing.cast(type, kind), nullable, _get(DEFAULT, path)


def _sections(cls: type = Config, prefix: str = "") -> set[str]:
    found = set()
    for f in dataclasses.fields(cls):
        kind = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(kind):
            path = join(prefix, f.name)
            found |= {path} | _sections(typing.cast(type, kind), path)
    return found


# --- rules ------------------------------------------------------------------------------------

# An organisation code: usually a GSS code (E07000223) or a mySociety three-letter code (BIR),
# but the collector also enrols organisations that are not councils, so any short code of
# letters, digits and hyphens is accepted (the collector's own rule); the collector decides.
_ORG = re.compile(r"[A-Z0-9][A-Z0-9-]{1,15}")
_LABEL = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")  # printable ASCII, no spaces: it goes in a header
# What sample files and how-tos put where the token goes; a real token is random.
_PLACEHOLDER = re.compile(r"(?i)replace|change.?me|your.?token|enrol+ment.?token|^<.*>$|^x{4,}$"
                          r"|^token$|example")
_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _at_least(low: float, high: float = math.inf) -> Callable[[typing.Any], object]:
    def check(value: float) -> float:
        if not low <= value <= high:
            bound = f"between {low:g} and {high:g}" if high < math.inf else f"at least {low:g}"
            raise _Invalid(f"must be {bound}, got {value:g}")
        return value
    return check


def _positive(value: float) -> float:
    if value <= 0:
        raise _Invalid(f"must be greater than 0, got {value:g}")
    return value


def _readable_file(path: Path) -> Path:
    if path.is_dir():
        raise _Invalid(f"{path} is a directory, not a file")
    if not path.is_file():
        raise _Invalid(f"no such file: {path}")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise _Invalid(f"cannot read {path}: {exc.strerror or exc}") from exc
    return path


def _org(text: str) -> str:
    code = text.strip().upper()
    if not _ORG.fullmatch(code):
        raise _Invalid(f"{text!r} is not an organisation code: expected a GSS code such as "
                       "E07000223, a three-letter local-authority code such as BIR, or 2 to 16 "
                       "letters, digits and hyphens")
    return code


def _label(text: str) -> str:
    if not _LABEL.fullmatch(text):
        raise _Invalid(f"{text!r} is not a network label: use 1 to 64 of A-Z a-z 0-9 . _ -")
    return text


def _resolver(text: str) -> str:
    if text.strip().lower() == "system":
        return "system"
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise _Invalid(f"{text!r} is neither 'system' nor an IP address") from None


def _proxy(text: str) -> str:
    if text.strip().lower() in ("system", "none", "wpad"):
        return text.strip().lower()
    if text.startswith("pac+"):
        problem = http_url_problem(text[4:])
        if problem:
            raise _Invalid(f"{_mask_password(text)!r}: the PAC file URL {problem}")
        return text
    problem = http_url_problem(text)
    parts = urlsplit(text) if problem is None else None
    if parts is not None and (parts.port is None or parts.path not in ("", "/")
                              or parts.query or parts.fragment):
        problem = "needs a port and nothing after it"
    if problem:
        raise _Invalid(f"{_mask_password(text)!r}: {problem}; expected system, none, wpad, "
                       "http(s)://host:port or pac+http(s)://host/file.pac")
    return text


def _url(text: str) -> str:
    problem = http_url_problem(text)
    if problem:
        raise _Invalid(f"{text!r}: {problem}")
    if urlsplit(text).username is not None:
        raise _Invalid("must not carry credentials (put the token in collector.token)")
    return text


def _token(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise _Invalid("must be printable ASCII without spaces (1 to 4096 characters)")
    if _PLACEHOLDER.search(text):
        raise _Invalid(f"{text!r} is the sample's placeholder: put the enrolment token from "
                       "`access-probe collector token create --org CODE` here")
    return text


def _log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in _LOG_LEVELS:
        raise _Invalid(f"{text!r} is not one of {', '.join(_LOG_LEVELS)}")
    return level


_CHECKS: dict[str, Callable[[typing.Any], object]] = {
    "targets": _readable_file,
    "org": _org,
    "network": _label,
    "dns.resolver": _resolver,
    "proxy": _proxy,
    "tls.public_roots": _readable_file,
    "control.url": _url,
    "collector.url": _url,
    "collector.token": _token,
    "schedule.every_minutes": _positive,
    "schedule.jitter_minutes": _at_least(0),
    "probe.timeout_seconds": _at_least(0.1, 300),
    "probe.concurrency": _at_least(1, 256),
    "probe.max_body_bytes": _at_least(1024, 64 * 2**20),
    "probe.max_redirects": _at_least(0, 50),
    "spool.max_results": _at_least(1),
    "spool.max_age_days": _positive,
    "log_level": _log_level,
}

_SPECS: dict[str, _Spec] = {
    path: _Spec(kind=kind, nullable=nullable, default=default, check=_CHECKS.get(path))
    for path, kind, nullable, default in _walk_fields(Config)
}
_SECTIONS = _sections()


# --- conversion -------------------------------------------------------------------------------

_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", Path: "a file path"}


def _from_yaml(spec: _Spec, value: object, base: Path) -> object:
    """A YAML value as the key's type (before its rule)."""
    if value is None:
        if spec.nullable:
            return None
        raise _Invalid(f"must not be null: expected {_KIND_NAMES[spec.kind]}")
    if spec.kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _Invalid(f"must be a finite number, got {value}")
        return float(value)
    if spec.kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if spec.kind in (str, Path) and isinstance(value, str):
        return _path(value, base) if spec.kind is Path else value
    hint = " (quote it)" if spec.kind in (str, Path) else ""
    raise _Invalid(f"expected {_KIND_NAMES[spec.kind]}{hint}, got {_yaml_type(value)}")


def _from_env(spec: _Spec, text: str) -> object:
    """An environment string as the key's type (before its rule)."""
    if text == "":
        if spec.nullable:
            return None
        raise _Invalid(f"must not be empty: expected {_KIND_NAMES[spec.kind]}")
    if spec.kind in (int, float):
        try:
            number = spec.kind(text.strip())
        except ValueError:
            raise _Invalid(f"expected {_KIND_NAMES[spec.kind]}, got {text!r}") from None
        if not math.isfinite(number):
            raise _Invalid(f"must be a finite number, got {text!r}")
        return number
    return _path(text, Path.cwd()) if spec.kind is Path else text


def _path(text: str, base: Path) -> Path:
    if not text.strip():
        raise _Invalid("must not be empty")
    return Path(os.path.normpath(base / Path(text).expanduser()))


def _yaml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


# --- layering ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class _Origin:
    label: str  # what `sources` shows
    file: str | None = None
    line: int | None = None
    key: str | None = None  # the key as that source spells it
    rank: int = 0  # 0 default, 1 machine, 2 user, 3 explicit, 4 environment

    def error(self, problem: str) -> ConfigError:
        return ConfigError(problem, file=self.file, line=self.line, key=self.key)


class _Layers:
    """The effective values so far and where each came from."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {k: s.default for k, s in _SPECS.items()}
        self.origins: dict[str, _Origin] = {k: _Origin(label="default") for k in _SPECS}

    def apply_file(self, path: Path, rank: int) -> None:
        doc = load_yaml(path, error=ConfigError)
        if doc.data is None:
            return
        if not isinstance(doc.data, dict):
            raise ConfigError(f"expected a mapping of keys, got {_yaml_type(doc.data)}",
                              file=doc.file, line=doc.line(""))
        self._apply_mapping(doc, doc.data, "", path.parent.absolute(), rank)

    def _apply_mapping(self, doc: YAMLDocument, data: dict[str, object], prefix: str,
                       base: Path, rank: int) -> None:
        for name, value in data.items():
            key = join(prefix, name)
            if key in _SECTIONS:
                if isinstance(value, dict):
                    self._apply_mapping(doc, value, key, base, rank)
                elif value is not None:
                    raise ConfigError(f"expected a mapping, got {_yaml_type(value)}",
                                      file=doc.file, line=doc.line(key), key=key)
            elif key in _SPECS:
                origin = _Origin(label=f"{doc.file}:{doc.line(key)}", file=doc.file,
                                 line=doc.line(key), key=key, rank=rank)
                self._set(key, origin, partial(_from_yaml, value=value, base=base))
            else:
                raise ConfigError(_unknown(key), file=doc.file, line=doc.key_line(key), key=key)

    def apply_env(self, env: Mapping[str, str]) -> None:
        for key in _SPECS:
            name = env_name(key)
            if name in env:
                origin = _Origin(label=f"env {name}", file="environment", key=name, rank=4)
                self._set(key, origin, partial(_from_env, text=env[name]))

    def _set(self, key: str, origin: _Origin, convert: Callable[[_Spec], object]) -> None:
        spec = _SPECS[key]
        try:
            value = convert(spec)
            if value is not None and spec.check is not None:
                value = spec.check(value)
        except _Invalid as exc:
            raise origin.error(str(exc)) from None
        self.values[key] = value
        self.origins[key] = origin

    def check_schedule(self) -> None:
        """Jitter must stay below the period, or cycles could run back to back or overlap."""
        every, jitter = "schedule.every_minutes", "schedule.jitter_minutes"
        every_v = typing.cast(float, self.values[every])
        jitter_v = typing.cast(float, self.values[jitter])
        if jitter_v < every_v:
            return
        # Blame whichever value was set last: that is the change that broke the pair.
        if self.origins[jitter].rank >= self.origins[every].rank:
            raise self.origins[jitter].error(
                f"must be less than {every} ({every_v:g}, from {self.origins[every].label})")
        raise self.origins[every].error(
            f"must be greater than {jitter} ({jitter_v:g}, from {self.origins[jitter].label})")

    def build(self, cls: type = Config, prefix: str = "") -> typing.Any:
        kwargs: dict[str, object] = {}
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            key = join(prefix, f.name)
            if key in _SECTIONS:
                kwargs[f.name] = self.build(typing.cast(type, hints[f.name]), key)
            else:
                kwargs[f.name] = self.values[key]
        return cls(**kwargs)


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key, [*_SPECS, *_SECTIONS], n=1)
    return "unknown key" + (f" (did you mean {close[0]}?)" if close else "")
