"""The packages IT installs, built by `scripts/package` from this checkout and checked as IT
would meet them.

- The .deb: lintian clean of errors; installed on this machine with dpkg, its systemd units
  pass `systemd-analyze verify`, the installed `access-probe` (the venv under /opt, not the
  checkout) answers `--version`, finds the machine config in `config show`, and `run --once`
  as the service's user with the service's environment measures a loopback catalogue and
  delivers to a real collector on loopback; `dpkg --purge` then leaves nothing: no file the
  package listed, no state, no user, no systemd enablement. The purge runs even when a step
  fails.
- The MSI (wixl): its tables, files, components, features, the scheduled task's custom
  actions and the tray's Run key, read back with msiinfo.

Building offline: scripts/setup --dev fills .venv/wheelhouse; PIP_NO_INDEX makes pip use only
that, so nothing here reaches past loopback.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import serving

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
ORG = "E07000223"
UNITS = ("access-probe.service", "access-probe-collector@.service")

pytestmark = [pytest.mark.package, pytest.mark.timeout(900)]


def run(argv: list[str], check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)
    if check:
        assert proc.returncode == 0, f"{argv}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    assert WHEELHOUSE.is_dir(), "run scripts/setup --dev (it fills .venv/wheelhouse)"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(WHEELHOUSE),
           "DEB_COMPRESS": "gzip"}  # xz is the default; gzip keeps the test quick
    proc = subprocess.run([str(ROOT / "scripts" / "package")], capture_output=True, text=True,
                          timeout=600, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    paths = [Path(line) for line in proc.stdout.split()]
    assert all(p.is_file() and p.parent == ROOT / "dist" for p in paths), proc.stdout
    kinds = {"sdist" if p.name.endswith(".tar.gz") else p.suffix[1:]: p for p in paths}
    assert set(kinds) == {"sdist", "whl", "deb", "msi"}, proc.stdout
    return kinds


def test_deb_is_lintian_clean_of_errors(built: dict[str, Path]) -> None:
    proc = run(["lintian", "--fail-on", "error", "--no-tag-display-limit", str(built["deb"])],
               check=False)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("E:")]
    assert proc.returncode == 0 and not errors, proc.stdout + proc.stderr


def test_deb_contents(built: dict[str, Path]) -> None:
    control = run(["dpkg-deb", "--field", str(built["deb"])]).stdout
    assert "Package: access-probe" in control
    depends = next(line for line in control.splitlines() if line.startswith("Depends:"))
    assert "python3.11" in depends and "adduser" in depends
    listing = run(["dpkg-deb", "--contents", str(built["deb"])]).stdout
    for path in ("./usr/bin/access-probe -> /opt/access-probe/bin/access-probe",
                 "./opt/access-probe/bin/python3.11 -> /usr/bin/python3.11",
                 "./lib/systemd/system/access-probe.service",
                 "./lib/systemd/system/access-probe-collector@.service",
                 "./etc/access-probe/config.yaml", "./etc/xdg/autostart/access-probe-tray.desktop",
                 "./etc/default/access-probe-collector", "./usr/share/doc/access-probe/copyright"):
        assert path in listing, path
    assert "/tmp/" not in listing
    conffiles = run(["dpkg-deb", "--info", str(built["deb"]), "conffiles"]).stdout.split()
    assert conffiles == ["/etc/access-probe/config.yaml",
                         "/etc/xdg/autostart/access-probe-tray.desktop",
                         "/etc/default/access-probe-collector"]


# --- installed on this machine --------------------------------------------------------------

class Site(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        data = b"<html><head><title>Alpha</title></head><body>hello</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dev_cli(*args: str, **kwargs: Any) -> list[str]:
    return [sys.executable, "-m", "access_probe.cli", *args]


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`access-probe collector serve` from the checkout on a loopback port, SQLite; yields
    its URL and the database URL."""
    db = f"sqlite:///{tmp_path / 'collector.sqlite3'}"
    port = free_port()
    process = subprocess.Popen(
        dev_cli("collector", "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db,
                "--create-db"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"no collector: {process.communicate()[0].decode()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, db
    finally:
        process.terminate()
        process.communicate(timeout=20)


def token(db: str, *extra: str) -> str:
    out = run([*dev_cli("collector", "token", "create", *extra, "--db", db)], cwd=ROOT).stdout
    return out.split()[-1]


def unit_environment(unit: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in unit.read_text().splitlines():
        if line.startswith("Environment="):
            for item in line.removeprefix("Environment=").split():
                name, _, value = item.partition("=")
                env[name] = value
    return env


def package_state() -> list[str]:
    """What of the package is on this machine (empty: nothing)."""
    left = []
    status = run(["dpkg-query", "-W", "-f=${db:Status-Status}", "access-probe"], check=False)
    if status.returncode == 0 and status.stdout not in ("", "not-installed"):
        left.append(f"dpkg status {status.stdout}")
    for path in ("/opt/access-probe", "/etc/access-probe", "/var/lib/access-probe",
                 "/var/lib/access-probe-collector", "/usr/bin/access-probe",
                 "/etc/default/access-probe-collector"):
        if os.path.lexists(path):
            left.append(path)
    for name in ("passwd", "group"):
        if run(["getent", name, "access-probe"], check=False).returncode == 0:
            left.append(f"{name} access-probe")
    for base in (Path("/etc/systemd/system"), Path("/var/lib/systemd")):
        left += [str(p) for p in base.rglob("*access-probe*")] if base.exists() else []
    return left


@pytest.fixture
def installed(built: dict[str, Path]) -> Iterator[Path]:
    """The .deb installed with dpkg; purged afterwards, whatever happened."""
    before = package_state()
    assert not before, f"access-probe is already on this machine: {before}"
    # On a machine where systemd runs, postinst would start the agent, and it would measure
    # the packaged (Internet) catalogue: policy-rc.d says no, as scripts/setup does.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        run(["dpkg", "-i", str(built["deb"])])
        yield built["deb"]
    finally:
        run(["dpkg", "--purge", "access-probe"], check=False)
        if made_policy:
            policy.unlink()


def test_deb_installs_runs_from_the_installed_copy_and_purges_clean(
        collector: tuple[str, str], installed: Path, tmp_path: Path) -> None:
    url, db = collector
    files = [line for line in run(["dpkg", "-L", "access-probe"]).stdout.splitlines()
             if line.startswith(("/opt/", "/etc/", "/lib/", "/usr/"))]
    assert "/opt/access-probe/bin/access-probe" in files and len(files) > 1000
    assert Path("/usr/bin/access-probe").resolve() == Path("/opt/access-probe/bin/access-probe")
    assert run(["getent", "passwd", "access-probe"]).stdout.split(":")[5] == "/var/lib/access-probe"
    state = Path("/var/lib/access-probe")
    assert state.owner() == "access-probe" and oct(state.stat().st_mode & 0o777) == "0o750"
    # systemd: the installed units verify (their executables exist now) and the agent's is
    # enabled for multi-user.target.
    units = [f"/lib/systemd/system/{unit}" for unit in UNITS]
    verify = run(["systemd-analyze", "verify", units[0],
                units[1].replace("@.service", "@8081.service")], check=False)
    assert verify.returncode == 0 and "access-probe" not in verify.stderr, verify.stderr
    assert Path("/etc/systemd/system/multi-user.target.wants/access-probe.service").is_symlink()

    # The installed copy, away from this checkout (no PYTHONPATH, not run from here).
    clean = ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent"]
    assert run([*clean, "/usr/bin/access-probe", "--version"], cwd="/").stdout.strip() \
        == "access-probe 0.1.0"
    where = run([*clean, "/opt/access-probe/bin/python", "-c",
                 "import access_probe, sys; print(access_probe.__file__, sys.prefix)"],
                cwd="/").stdout
    assert where.startswith("/opt/access-probe/lib/python3.11/site-packages/access_probe/")
    assert where.split()[1] == "/opt/access-probe"
    # The shipped conffile is the sample commented out: the defaults, until IT fills it in.
    shipped = run([*clean, "/usr/bin/access-probe", "config", "show"], cwd="/")
    assert "org                      null     # default" in shipped.stdout
    assert "#org: E07000223" in Path("/etc/access-probe/config.yaml").read_text()

    # IT's configuration, a loopback catalogue readable by the service's user.
    catalogue_dir = Path(tempfile.mkdtemp(prefix="access-probe-test-"))
    try:
        catalogue_dir.chmod(0o755)
        with serving(Site) as port:
            site = f"http://127.0.0.1:{port}"
            targets = catalogue_dir / "targets.yaml"
            targets.write_text(
                "version: 1\nservices:\n"
                f"  - id: alpha\n    name: Alpha\n    category: social\n    endpoints:\n"
                f"      - {site}/\n"
                f"  - id: lab\n    name: Lab\n    category: baseline\n    endpoints:\n"
                f"      - {site}/baseline\n")
            targets.chmod(0o644)
            Path("/etc/access-probe/config.yaml").write_text(
                f"org: {ORG}\nnetwork: test-lan\nproxy: none\ntargets: {targets}\n"
                f"collector:\n  url: {url}\n  token: {token(db, '--org', ORG)}\n")
            service_env = {"PATH": "/usr/bin:/bin",
                           **unit_environment(Path(units[0]))}
            as_service = ["runuser", "-u", "access-probe", "--", "env", "-i",
                          *(f"{k}={v}" for k, v in service_env.items())]
            shown = run([*as_service, "/usr/bin/access-probe", "config", "show"],
                        cwd=state).stdout
            org_line = next(line for line in shown.splitlines() if line.startswith("org "))
            assert ORG in org_line and "/etc/access-probe/config.yaml:1" in org_line
            ran = run([*as_service, "/usr/bin/access-probe", "run", "--once"], cwd=state)
            assert "delivered 2" in ran.stdout and "pending 0" in ran.stdout, ran.stdout
        made = [p for p in state.rglob("*") if p.is_file()]
        assert made and all(p.owner() == "access-probe" for p in made)
        assert any(p.parts[4:5] == ("access-probe",) for p in made)  # $XDG_DATA_HOME/access-probe
    finally:
        shutil.rmtree(catalogue_dir)
    export = httpx.get(f"{url}/api/v1/export.csv", params={"raw": "1"}, timeout=10,
                       headers={"Authorization": f"Bearer {token(db, '--admin')}"})
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(r["status"] for r in rows) == ["accessible", "accessible"], export.text

    # Purge: nothing of the package is left.
    run(["dpkg", "--purge", "access-probe"])
    assert [f for f in files if os.path.lexists(f) and not os.path.isdir(f)] == []
    assert package_state() == []


# --- the MSI --------------------------------------------------------------------------------

def msi_table(msi: Path, table: str) -> list[dict[str, str]]:
    """A table read back with `msiinfo export`: column names, types, key line, then rows."""
    lines = run(["msiinfo", "export", str(msi), table]).stdout.splitlines()
    names = lines[0].split("\t")
    return [dict(zip(names, line.split("\t"), strict=False)) for line in lines[3:]]


def test_msi_tables_files_components_and_actions(built: dict[str, Path]) -> None:
    msi = built["msi"]
    assert msi.name == "access-probe-0.1.0-x64-placeholder.msi"  # no Windows payload here
    tables = set(run(["msiinfo", "tables", str(msi)]).stdout.split())
    assert {"File", "Component", "Directory", "Feature", "FeatureComponents", "Registry",
            "CustomAction", "InstallExecuteSequence", "Upgrade", "Media", "Property"} <= tables
    files = {row["FileName"]: row for row in msi_table(msi, "File")}
    assert {"access-probe.exe", "access-probe-tray.exe", "access-probe-task.xml",
            "config.sample.yaml", built["whl"].name} <= set(files)
    components = {row["Component"]: row for row in msi_table(msi, "Component")}
    directories = {row["Directory"]: row for row in msi_table(msi, "Directory")}
    assert directories["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"
    assert directories["DATADIR"]["Directory_Parent"] == "CommonAppDataFolder"
    assert components[files["config.sample.yaml"]["Component_"]]["Directory_"] == "DATADIR"
    assert "config.yaml" not in files  # IT's own file, never the MSI's
    features = {(row["Feature_"], row["Component_"]) for row in msi_table(msi, "FeatureComponents")}
    assert ("Headless", files["access-probe-task.xml"]["Component_"]) in features
    assert ("Tray", "TrayAtLogon") in features
    registry = msi_table(msi, "Registry")
    assert [(r["Root"], r["Key"], r["Name"], r["Value"]) for r in registry] == [
        ("2", r"Software\Microsoft\Windows\CurrentVersion\Run", "access-probe",
         '"[INSTALLDIR]access-probe-tray.exe" tray')]  # 2: HKLM, every user's logon
    actions = {row["Action"]: row for row in msi_table(msi, "CustomAction")}
    assert "/Create /F /TN access-probe /XML" in actions["CreateTask"]["Target"]
    assert int(actions["CreateTask"]["Type"]) & 0x0C00 == 0x0C00  # deferred, not impersonated
    sequence = {row["Action"]: row for row in msi_table(msi, "InstallExecuteSequence")}
    order = {name: int(row["Sequence"]) for name, row in sequence.items()}
    assert order["SetSchtasks"] < order["InstallInitialize"] < order["EndTask"] \
        < order["InstallFiles"] < order["CreateTask"] < order["InstallFinalize"]
    assert sequence["DeleteTask"]["Condition"] == "(&Headless=2) AND NOT UPGRADINGPRODUCTCODE"
    upgrade = msi_table(msi, "Upgrade")
    assert {row["UpgradeCode"] for row in upgrade} == {"{C63C0FA1-65F5-4813-BA8C-C1D1BE7614E8}"}
    properties = {row["Property"]: row["Value"] for row in msi_table(msi, "Property")}
    assert properties["ProductVersion"] == "0.1.0" and properties["ALLUSERS"] == "1"
    summary = run(["msiinfo", "suminfo", str(msi)]).stdout
    assert "Template: x64;1033" in summary


def test_the_packages_config_templates_load_with_the_projects_loader(
        built: dict[str, Path], tmp_path: Path) -> None:
    """What IT gets in each package, read by access_probe.config: the .deb's conffile (all
    commented out: the defaults) and the MSI's ProgramData template (valid once its
    placeholder token is replaced, refused while it holds it); the MSI's task XML parses."""
    import xml.etree.ElementTree as ET

    from access_probe.config import load_config
    from access_probe.errors import ConfigError

    none = {"machine_file": tmp_path / "none.yaml", "user_file": tmp_path / "none2.yaml"}
    run(["dpkg-deb", "-x", str(built["deb"]), str(tmp_path / "deb")])
    conffile = tmp_path / "deb" / "etc" / "access-probe" / "config.yaml"
    loaded = load_config(conffile, env={}, **none)
    assert all(source == "default" for source in loaded.sources.values())
    run(["msiextract", "-C", str(tmp_path / "msi"), str(built["msi"])])
    extracted = {p.name: p for p in (tmp_path / "msi").rglob("*") if p.is_file()}
    template = extracted["config.sample.yaml"]
    with pytest.raises(ConfigError, match="placeholder"):
        load_config(template, env={}, **none)
    filled = tmp_path / "config.yaml"
    filled.write_text(template.read_text().replace("ap_REPLACE_WITH_THE_ENROLMENT_TOKEN",
                                                   "ap_0a1b2c3d_k3yM4t3r1alFromTokenCreate"))
    assert load_config(filled, env={}, **none).config.org == ORG
    task = ET.fromstring(extracted["access-probe-task.xml"].read_bytes())
    assert task.tag == "{http://schemas.microsoft.com/windows/2004/02/mit/task}Task"
