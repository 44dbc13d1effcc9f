"""Configuration loading: one bad fixture per rule, layering, sources, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from access_probe.config import (
    DEFAULT,
    Config,
    LoadedConfig,
    describe,
    env_name,
    keys,
    load_config,
    machine_config_file,
    user_config_file,
)
from access_probe.errors import ConfigError, InputError

FIXTURES = Path(__file__).parent / "fixtures" / "config"
CONTRACT_KEYS = {
    "targets", "org", "network", "dns.resolver", "proxy", "tls.public_roots", "control.url",
    "collector.url", "collector.token", "schedule.every_minutes", "schedule.jitter_minutes",
}

# fixture -> (line, key, a fragment of the problem). Every invalid-*.yaml must appear here.
INVALID = {
    "invalid-unknown-key.yaml":
        (5, "schedule.jitter_minute", "unknown key (did you mean schedule.jitter_minutes?)"),
    "invalid-unknown-top-key.yaml":
        (3, "colector", "unknown key (did you mean collector?)"),
    "invalid-wrong-type.yaml":
        (4, "schedule.every_minutes", "expected a number, got a string"),
    "invalid-wrong-type-string.yaml":
        (3, "network", "expected a string (quote it), got an integer"),
    "invalid-section-not-mapping.yaml":
        (2, "dns", "expected a mapping, got a string"),
    "invalid-top-level-not-mapping.yaml":
        (2, None, "expected a mapping of keys, got a list"),
    "invalid-null-required.yaml":
        (3, "proxy", "must not be null"),
    "invalid-every-minutes-zero.yaml":
        (4, "schedule.every_minutes", "must be greater than 0, got 0"),
    "invalid-jitter-negative.yaml":
        (4, "schedule.jitter_minutes", "must be at least 0, got -1"),
    "invalid-jitter-not-below-every.yaml":
        (4, "schedule.jitter_minutes", "must be less than schedule.every_minutes (15, from "),
    "invalid-every-not-above-default-jitter.yaml":
        (3, "schedule.every_minutes",
         "must be greater than schedule.jitter_minutes (10, from default)"),
    "invalid-minutes-infinite.yaml":
        (3, "schedule.every_minutes", "must be a finite number"),
    "invalid-resolver.yaml":
        (3, "dns.resolver", "'dns.example' is neither 'system' nor an IP address"),
    "invalid-proxy-scheme.yaml":
        (3, "proxy", "must be an http:// or https:// URL; expected system, none"),
    "invalid-proxy-no-port.yaml":
        (2, "proxy", "needs a port"),
    "invalid-proxy-pac.yaml":
        (2, "proxy", "the PAC file URL must be an http:// or https:// URL"),
    "invalid-url-scheme.yaml":
        (4, "collector.url", "must be an http:// or https:// URL"),
    "invalid-url-no-host.yaml":
        (3, "control.url", "has no host"),
    "invalid-url-credentials.yaml":
        (3, "collector.url", "must not carry credentials"),
    "invalid-public-roots-missing.yaml":
        (3, "tls.public_roots", f"no such file: {FIXTURES / 'no-such-bundle.pem'}"),
    "invalid-public-roots-directory.yaml":
        (3, "tls.public_roots", "is a directory, not a file"),
    "invalid-targets-missing.yaml":
        (3, "targets", f"no such file: {FIXTURES / 'no-such-targets.yaml'}"),
    "invalid-org.yaml":
        (2, "org", "'E07 000223' is not an organisation code"),
    "invalid-network.yaml":
        (2, "network", "'corporate lan' is not a network label"),
    "invalid-token.yaml":
        (4, "collector.token", "printable ASCII without spaces"),
    "invalid-token-empty.yaml":
        (3, "collector.token", "printable ASCII without spaces"),
    "invalid-log-level.yaml":
        (2, "log_level", "'verbose' is not one of debug, info, warning"),
    "invalid-concurrency.yaml":
        (3, "probe.concurrency", "must be between 1 and 256, got 0"),
    "invalid-integer-float.yaml":
        (3, "probe.max_redirects", "expected an integer, got a number"),
    "invalid-boolean.yaml":
        (3, "probe.timeout_seconds", "expected a number, got a boolean"),
    "invalid-duplicate-key.yaml":
        (4, "org", "duplicate key (first at line 2)"),
    "invalid-syntax.yaml":
        (4, None, "invalid YAML"),
}


def load(explicit: Path | None = None, env: dict[str, str] | None = None, *,
         machine: Path | None = None, user: Path | None = None,
         tmp: Path | None = None) -> LoadedConfig:
    """load_config isolated from this machine's own files and environment."""
    absent = (tmp or Path("/nonexistent-access-probe")) / "absent.yaml"
    return load_config(explicit, env=env or {}, machine_file=machine or absent,
                       user_file=user or absent)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_invalid_fixture_has_a_case() -> None:
    on_disk = {p.name for p in FIXTURES.glob("invalid-*.yaml")}
    assert on_disk == set(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_fixture_names_file_line_and_key(name: str) -> None:
    line, key, fragment = INVALID[name]
    path = FIXTURES / name
    with pytest.raises(ConfigError) as caught:
        load(path)
    err = caught.value
    assert (err.file, err.line, err.key) == (str(path), line, key)
    assert fragment in err.problem
    prefix = f"{path}:{line}: {key}: " if key else f"{path}:{line}: "
    assert str(err) == prefix + err.problem


def test_valid_full_fixture_sets_every_key() -> None:
    loaded = load(FIXTURES / "valid-full.yaml")
    cfg = loaded.config
    assert cfg.targets == FIXTURES.parent / "targets" / "valid-services-plain-endpoints.yaml"
    assert cfg.targets.is_file()
    assert cfg.org == "E07000223"  # case-normalised
    assert cfg.network == "corporate-lan"
    assert cfg.dns.resolver == "198.51.100.53"
    assert cfg.proxy == "http://proxy.example:3128"
    assert cfg.tls.public_roots == FIXTURES / "roots.pem"
    assert cfg.control.url == cfg.collector.url == "https://collector.example/"
    assert cfg.collector.token == "tok-0123456789abcdef"
    assert (cfg.schedule.every_minutes, cfg.schedule.jitter_minutes) == (30.0, 5.0)
    assert isinstance(cfg.schedule.every_minutes, float)
    assert (cfg.probe.timeout_seconds, cfg.probe.concurrency) == (5.0, 8)
    assert (cfg.probe.max_body_bytes, cfg.probe.max_redirects) == (131072, 4)
    assert cfg.spool.dir == FIXTURES / "spool"
    assert (cfg.spool.max_results, cfg.spool.max_age_days) == (5000, 14.0)
    assert cfg.log_level == "info"
    fixture = FIXTURES / "valid-full.yaml"
    assert all(src.startswith(f"{fixture}:") for src in loaded.sources.values())
    assert loaded.sources["schedule.jitter_minutes"].endswith(":17")


def test_no_files_gives_the_defaults() -> None:
    loaded = load()
    assert loaded.config == DEFAULT == Config()
    assert set(loaded.sources) == set(keys())
    assert set(loaded.sources.values()) == {"default"}


def test_keys_cover_the_contract_and_env_names_are_distinct() -> None:
    assert CONTRACT_KEYS <= set(keys())
    names = [env_name(k) for k in keys()]
    assert len(names) == len(set(names))
    assert env_name("collector.url") == "ACCESS_PROBE_COLLECTOR_URL"
    assert env_name("schedule.every_minutes") == "ACCESS_PROBE_SCHEDULE_EVERY_MINUTES"


def test_layering_order_and_sources(tmp_path: Path) -> None:
    machine = write(tmp_path / "machine.yaml",
                    "org: E07000223\nnetwork: machine-lan\nschedule:\n  every_minutes: 120\n")
    user = write(tmp_path / "user.yaml", "network: user-lan\nproxy: none\n")
    explicit = write(tmp_path / "explicit.yaml", "# explicit\nproxy: http://198.51.100.8:8080\n")
    env = {"ACCESS_PROBE_SCHEDULE_EVERY_MINUTES": "45"}
    loaded = load(explicit, env, machine=machine, user=user)
    cfg, src = loaded.config, loaded.sources
    assert cfg.org == "E07000223" and src["org"] == f"{machine}:1"
    assert cfg.network == "user-lan" and src["network"] == f"{user}:1"
    assert cfg.proxy == "http://198.51.100.8:8080" and src["proxy"] == f"{explicit}:2"
    assert cfg.schedule.every_minutes == 45.0
    assert src["schedule.every_minutes"] == "env ACCESS_PROBE_SCHEDULE_EVERY_MINUTES"
    assert src["dns.resolver"] == "default"


def test_later_layer_replaces_one_key_not_the_section(tmp_path: Path) -> None:
    machine = write(tmp_path / "m.yaml",
                    "collector:\n  url: https://collector.example/\n  token: machine-token-1234\n")
    user = write(tmp_path / "u.yaml", "collector:\n  token: user-token-5678\n")
    cfg = load(machine=machine, user=user).config
    assert cfg.collector.url == "https://collector.example/"
    assert cfg.collector.token == "user-token-5678"


def test_empty_or_comment_only_file_changes_nothing(tmp_path: Path) -> None:
    for text in ("", "# nothing yet\n", "dns:\n"):
        assert load(write(tmp_path / "c.yaml", text)).config == DEFAULT


def test_environment_values_are_converted_and_validated(tmp_path: Path) -> None:
    bundle = write(tmp_path / "roots.pem", "x")
    env = {
        "ACCESS_PROBE_SCHEDULE_EVERY_MINUTES": "15",
        "ACCESS_PROBE_SCHEDULE_JITTER_MINUTES": "2.5",
        "ACCESS_PROBE_PROBE_CONCURRENCY": "4",
        "ACCESS_PROBE_DNS_RESOLVER": "2001:db8::53",
        "ACCESS_PROBE_ORG": "bir",
        "ACCESS_PROBE_COLLECTOR_URL": "https://collector.example/",
        "ACCESS_PROBE_TLS_PUBLIC_ROOTS": str(bundle),
        "ACCESS_PROBE_PAC_URL": "http://198.51.100.1/proxy.pac",  # not a key: ignored
        "ACCESS_PROBE_SOMETHING_ELSE": "x",
    }
    loaded = load(env=env)
    cfg = loaded.config
    assert cfg.schedule == type(cfg.schedule)(every_minutes=15.0, jitter_minutes=2.5)
    assert cfg.probe.concurrency == 4 and isinstance(cfg.probe.concurrency, int)
    assert cfg.dns.resolver == "2001:db8::53"
    assert cfg.org == "BIR"
    assert cfg.collector.url == "https://collector.example/"
    assert cfg.tls.public_roots == bundle
    assert loaded.sources["org"] == "env ACCESS_PROBE_ORG"


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("ACCESS_PROBE_SCHEDULE_EVERY_MINUTES", "hourly", "expected a number, got 'hourly'"),
    ("ACCESS_PROBE_SCHEDULE_EVERY_MINUTES", "-5", "must be greater than 0"),
    ("ACCESS_PROBE_SCHEDULE_EVERY_MINUTES", "nan", "must be a finite number"),
    ("ACCESS_PROBE_PROBE_CONCURRENCY", "2.5", "expected an integer, got '2.5'"),
    ("ACCESS_PROBE_PROXY", "", "must not be empty"),
    ("ACCESS_PROBE_COLLECTOR_URL", "collector.example", "must be an http:// or https:// URL"),
    ("ACCESS_PROBE_TLS_PUBLIC_ROOTS", "/nonexistent/roots.pem", "no such file"),
])
def test_environment_errors_name_the_variable(name: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(env={name: value})
    assert caught.value.file == "environment" and caught.value.key == name
    assert caught.value.line is None
    assert fragment in caught.value.problem
    assert str(caught.value).startswith(f"environment: {name}: ")


def test_empty_environment_value_resets_an_optional_key(tmp_path: Path) -> None:
    user = write(tmp_path / "u.yaml", "collector:\n  url: https://collector.example/\n")
    loaded = load(user=user, env={"ACCESS_PROBE_COLLECTOR_URL": ""})
    assert loaded.config.collector.url is None
    assert loaded.sources["collector.url"] == "env ACCESS_PROBE_COLLECTOR_URL"


def test_jitter_check_blames_the_later_layer(tmp_path: Path) -> None:
    machine = write(tmp_path / "m.yaml", "schedule:\n  jitter_minutes: 20\n  every_minutes: 60\n")
    with pytest.raises(ConfigError) as caught:
        load(machine=machine, env={"ACCESS_PROBE_SCHEDULE_EVERY_MINUTES": "20"})
    err = caught.value
    assert err.key == "ACCESS_PROBE_SCHEDULE_EVERY_MINUTES"
    assert f"schedule.jitter_minutes (20, from {machine}:2)" in err.problem


def test_relative_paths_resolve_against_the_files_directory(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    write(conf_dir / "roots.pem", "x")
    write(conf_dir / "targets.yaml", "- https://www.gov.uk/\n")
    config = write(conf_dir / "config.yaml",
                   "targets: targets.yaml\ntls:\n  public_roots: roots.pem\nspool:\n  dir: q\n")
    monkeypatch.chdir(tmp_path)  # not the file's directory
    cfg = load(Path("etc/config.yaml")).config
    assert cfg.targets == conf_dir / "targets.yaml"
    assert cfg.tls.public_roots == conf_dir / "roots.pem"
    assert cfg.spool.dir == conf_dir / "q"
    assert config.exists()


def test_unreadable_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"explicit\.yaml: cannot read"):
        load(tmp_path / "explicit.yaml")


def test_absent_machine_and_user_files_are_skipped(tmp_path: Path) -> None:
    loaded = load(machine=tmp_path / "none1.yaml", user=tmp_path / "none2.yaml")
    assert loaded.config == DEFAULT


@pytest.mark.parametrize(("proxy", "shown"), [
    ("system", "system"),
    ("NONE", "none"),
    ("https://198.51.100.9:3128/", "https://198.51.100.9:3128/"),
    ("http://[2001:db8::1]:8080", "http://[2001:db8::1]:8080"),
    ("pac+http://198.51.100.1/proxy.pac", "pac+http://198.51.100.1/proxy.pac"),
    ("http://alice:s3cret@198.51.100.9:3128", "http://alice:****@198.51.100.9:3128"),
])
def test_proxy_forms(tmp_path: Path, proxy: str, shown: str) -> None:
    loaded = load(write(tmp_path / "c.yaml", f"proxy: '{proxy}'\n"))
    assert loaded.config.proxy == (proxy.lower() if proxy.isalpha() else proxy)
    assert {k: v for k, v, _ in describe(loaded)}["proxy"] == shown


@pytest.mark.parametrize("org", ["E07000223", "W06000015", "S12000033", "N09000001", "bir"])
def test_org_codes(tmp_path: Path, org: str) -> None:
    assert load(write(tmp_path / "c.yaml", f"org: {org}\n")).config.org == org.upper()


def test_describe_lists_every_key_and_masks_the_token(tmp_path: Path) -> None:
    token = "enrol-7f3a9c2e1b"
    user = write(tmp_path / "u.yaml", f"collector:\n  token: {token}\n")
    rows = describe(load(user=user, env={"ACCESS_PROBE_NETWORK": "branch-1"}))
    assert [key for key, _, _ in rows] == keys()
    table = {key: (value, source) for key, value, source in rows}
    assert table["collector.token"] == ("****2e1b", f"{user}:2")
    assert token not in " ".join(value for _, value, _ in rows)
    assert table["network"] == ("branch-1", "env ACCESS_PROBE_NETWORK")
    assert table["schedule.every_minutes"] == ("60", "default")
    assert table["targets"] == ("null", "default")


def test_short_token_is_hidden_entirely(tmp_path: Path) -> None:
    rows = describe(load(env={"ACCESS_PROBE_COLLECTOR_TOKEN": "abc123"}))
    assert {k: v for k, v, _ in rows}["collector.token"] == "****"


def test_default_file_locations() -> None:
    win = machine_config_file("win32", {"ProgramData": r"C:\ProgramData"})
    assert win == Path(r"C:\ProgramData") / "access-probe" / "config.yaml"
    mac = machine_config_file("darwin", {})
    assert mac == Path("/Library/Application Support/access-probe/config.yaml")
    assert user_config_file().parent.name == "access-probe"


def test_linux_machine_file_is_fixed_and_the_old_xdg_place_still_read(tmp_path: Path) -> None:
    # The Debian package's conffile, whatever $XDG_CONFIG_DIRS a session sets.
    assert machine_config_file("linux", {}) == Path("/etc/access-probe/config.yaml")
    etc = tmp_path / "etc"
    fixed = etc / "access-probe" / "config.yaml"
    legacy = etc / "xdg" / "access-probe" / "config.yaml"
    assert machine_config_file("linux", {}, etc=etc) == fixed  # neither exists: the new place
    legacy.parent.mkdir(parents=True)
    legacy.write_text("org: E07000223\n")
    assert machine_config_file("linux", {}, etc=etc) == legacy
    fixed.parent.mkdir(parents=True)
    fixed.write_text("org: E07000224\n")
    assert machine_config_file("linux", {}, etc=etc) == fixed
    loaded = load_config(env={}, machine_file=machine_config_file("linux", {}, etc=etc),
                         user_file=tmp_path / "none.yaml")
    assert loaded.config.org == "E07000224"


def test_config_error_is_an_input_error() -> None:
    assert issubclass(ConfigError, InputError)
