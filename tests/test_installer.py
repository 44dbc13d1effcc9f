"""The sample machine configuration that IT deploys is valid once its placeholder token is
replaced, and refused (naming the file, line and key) while it still holds the placeholder."""

from __future__ import annotations

from pathlib import Path

import pytest

from access_probe.config import load_config
from access_probe.errors import ConfigError

SAMPLE = Path(__file__).parents[1] / "installer" / "config.sample.yaml"


def test_sample_machine_config_loads_once_the_token_is_filled_in(tmp_path: Path) -> None:
    filled = tmp_path / "config.yaml"
    filled.write_text(SAMPLE.read_text().replace("ap_REPLACE_WITH_THE_ENROLMENT_TOKEN",
                                                 "ap_0a1b2c3d_k3yM4t3r1alFromTokenCreate"))
    loaded = load_config(filled, env={}, machine_file=tmp_path / "none.yaml",
                         user_file=tmp_path / "none2.yaml")
    assert loaded.config.org == "E07000223"
    assert loaded.config.collector.url == "https://collector.example.org"
    assert loaded.sources["collector.token"].startswith(str(filled))


def test_the_placeholder_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(SAMPLE, env={}, machine_file=tmp_path / "none.yaml",
                    user_file=tmp_path / "none2.yaml")
    message = str(caught.value)
    line = next(n for n, text in enumerate(SAMPLE.read_text().splitlines(), 1)
                if "token:" in text)
    assert f"{SAMPLE}:{line}" in message and "collector.token" in message
    assert "placeholder" in message


# --- the platform files IT deploys -----------------------------------------------------------

INSTALLER = SAMPLE.parent


def test_windows_task_xml_is_well_formed_in_its_declared_encoding() -> None:
    """The task XML parses from its bytes (the parser honours the declared encoding, so a
    file declaring UTF-16 but written in ASCII is refused) and runs the agent at boot as
    NT AUTHORITY\\LocalService, not per logged-on user."""
    import xml.etree.ElementTree as ET

    raw = (INSTALLER / "windows" / "access-probe-task.xml").read_bytes()
    declared = raw.split(b"?>", 1)[0].decode("ascii")
    assert 'encoding="UTF-8"' in declared
    raw.decode("utf-8")  # what it declares
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    task = ET.fromstring(raw)
    principal = task.find("t:Principals/t:Principal", ns)
    assert principal is not None
    assert principal.findtext("t:UserId", namespaces=ns) == "S-1-5-19"  # LocalService
    assert principal.find("t:GroupId", ns) is None
    assert principal.findtext("t:RunLevel", namespaces=ns) == "LeastPrivilege"
    assert task.find("t:Triggers/t:BootTrigger", ns) is not None
    assert task.find("t:Triggers/t:LogonTrigger", ns) is None
    command = task.findtext("t:Actions/t:Exec/t:Command", namespaces=ns)
    assert command == r'"C:\Program Files\access-probe\access-probe.exe"'
    assert task.findtext("t:Actions/t:Exec/t:Arguments", namespaces=ns) == "run"
    context = task.find("t:Actions", ns)
    assert context is not None and context.get("Context") == principal.get("id")


def test_a_utf16_declaration_over_ascii_bytes_is_refused() -> None:
    """What the task XML used to be: the check above would catch it."""
    import xml.etree.ElementTree as ET

    with pytest.raises(ET.ParseError):
        ET.fromstring(b'<?xml version="1.0" encoding="UTF-16"?>\n<Task/>')


def test_wix_source_is_well_formed() -> None:
    import xml.etree.ElementTree as ET

    wix = ET.parse(INSTALLER / "windows" / "access-probe.wxs").getroot()
    ns = {"w": "http://schemas.microsoft.com/wix/2006/wi"}
    product = wix.find("w:Product", ns)
    assert product is not None and product.get("UpgradeCode")
    package = product.find("w:Package", ns)
    assert package is not None and package.get("InstallScope") == "perMachine"
    assert product.find("w:MajorUpgrade", ns) is not None


def test_macos_plists_are_valid() -> None:
    import plistlib

    daemon = plistlib.loads((INSTALLER / "macos" / "org.access-probe.agent.plist").read_bytes())
    assert daemon["Label"] == "org.access-probe.agent"
    assert daemon["ProgramArguments"][1:] == ["run"]
    assert daemon["UserName"].startswith("_")  # a role account, not root
    tray = plistlib.loads((INSTALLER / "macos" / "org.access-probe.tray.plist").read_bytes())
    assert tray["ProgramArguments"][1:] == ["tray"]
    assert tray["LimitLoadToSessionType"] == "Aqua"


def test_desktop_entry_starts_the_tray() -> None:
    import configparser

    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(INSTALLER / "linux" / "access-probe-tray.desktop")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"] == "/usr/bin/access-probe tray"


def test_nginx_example_passes_nginx_t(tmp_path: Path) -> None:
    """The collector's reverse-proxy example, with a throwaway certificate in place of the
    real one, inside a minimal nginx.conf: `nginx -t` accepts it."""
    import shutil
    import subprocess

    assert shutil.which("nginx"), "Debian package nginx (scripts/debian-packages.txt)"
    key, cert = tmp_path / "privkey.pem", tmp_path / "fullchain.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=collector.example.gov.uk", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=60)
    site = (INSTALLER / "collector" / "nginx-access-probe.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/collector.example.gov.uk/", f"{tmp_path}/")
    assert str(cert) in site and str(key) in site
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    include {tmp_path}/site.conf;\n}}\n")
    proc = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                           "-e", str(tmp_path / "error.log")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "test is successful" in proc.stderr


def test_deployment_guide_names_only_files_and_commands_that_exist() -> None:
    """docs/deployment.md: every repository path it names exists, and every `access-probe ...`
    command in it is one the CLI accepts (checked with --help, so nothing runs)."""
    import re
    import subprocess
    import sys

    root = INSTALLER.parent
    guide = (root / "docs" / "deployment.md").read_text().replace("\\", "/")  # Windows paths
    paths = set(re.findall(r"(?<![\w/.-])((?:installer|scripts|docs|tests|\.github)/[\w./@-]+)",
                           guide))
    assert {"installer/windows/install.ps1", "installer/collector/nginx-access-probe.conf",
            "scripts/package"} <= paths
    missing = [p for p in paths if not (root / p.rstrip(".")).exists()]
    assert missing == []
    commands = set()
    for line in guide.splitlines():
        for match in re.finditer(r"(?:^|[\s`])access-probe ((?:collector |config |spool )?[a-z]+)"
                                 r"(?=[\s`]|$)", line):
            commands.add(match.group(1))
    assert {"collector migrate", "collector token", "config show", "run"} <= commands
    for command in sorted(commands):
        proc = subprocess.run([sys.executable, "-m", "access_probe.cli", *command.split(),
                               "--help"], capture_output=True, text=True, timeout=60, cwd=root)
        assert proc.returncode == 0, (command, proc.stderr)


@pytest.mark.parametrize("unit", ["linux/access-probe.service",
                                  "collector/access-probe-collector@.service"])
def test_units_are_hardened(unit: str) -> None:
    """systemd's own exposure score of each unit, offline: at most 2.0 of 10 ("OK"); the
    hardening the package promises is in it. (The installed units are also checked with
    `systemd-analyze verify` in tests/test_package.py.)"""
    import subprocess

    path = INSTALLER / unit
    proc = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    text = path.read_text()
    for setting in ("User=access-probe", "ProtectSystem=strict", "ProtectHome=yes",
                    "NoNewPrivileges=yes", "PrivateTmp=yes", "StateDirectory=",
                    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
                    "CapabilityBoundingSet=\n", "RestartPreventExitStatus=2"):
        assert setting in text, setting
