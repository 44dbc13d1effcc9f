"""The Debian package lists install every external program the test suite runs.

A fresh CI machine installs scripts/debian-packages*.txt and nothing else; a program a test
starts but no list names fails there only (`ping` once did). This reads the tests' source
(AST, no execution) for the programs they start — the first element of a literal argv given
to subprocess or to the lab's `sh`/`spawn`, and every `shutil.which("...")` — and checks each
against a table of program -> package and the lists.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LISTS = sorted((ROOT / "scripts").glob("debian-packages*.txt"))

# Program -> the Debian package that ships it. A program a test starts that is missing here
# fails the test below: add it here and its package to a list.
PACKAGE_OF = {
    "ip": "iproute2", "tc": "iproute2", "ss": "iproute2",
    "iptables": "iptables", "nft": "nftables",
    "pgrep": "procps", "sysctl": "procps", "ping": "iputils-ping",
    "unbound": "unbound", "unbound-checkconf": "unbound", "dnsmasq": "dnsmasq-base",
    "squid": "squid-openssl", "e2guardian": "e2guardian",
    "named": "bind9", "named-checkconf": "bind9-utils", "mitmdump": "mitmproxy",
    "openssl": "openssl", "curl": "curl", "perl": "perl",
    "Xvfb": "xvfb", "xdotool": "xdotool", "xwininfo": "x11-utils", "trayer": "trayer",
    "xclip": "xclip", "dbus-run-session": "dbus-daemon",
    "chromium": "chromium", "psql": "postgresql-client",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "lintian": "lintian", "wixl": "wixl", "msiinfo": "msitools",
    "systemd-analyze": "systemd", "nginx": "nginx", "msiextract": "msitools",
}
# Essential packages, on every Debian system (Priority: required): never listed.
ESSENTIAL = {"sh": "dash", "sleep": "coreutils", "setsid": "util-linux", "getent": "libc-bin",
             "env": "coreutils", "runuser": "util-linux", "dpkg": "dpkg", "dpkg-deb": "dpkg",
             "dpkg-query": "dpkg"}

_SUBPROCESS = {"run", "Popen", "check_output", "check_call", "call"}


def listed_packages() -> set[str]:
    names: set[str] = set()
    for path in LISTS:
        for line in path.read_text().splitlines():
            word = line.split("#", 1)[0].strip()
            if word:
                names.add(word)
    return names


def _literal_program(node: ast.expr) -> str | None:
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        first = node.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _const(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def programs_in(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else \
            func.id if isinstance(func, ast.Name) else ""
        args = node.args
        found: str | None = None
        if name == "which" and args:
            found = _const(args[0])
        elif name in _SUBPROCESS and args:
            found = _literal_program(args[0])
        elif name == "sh" and len(args) >= 2:  # lab.sh(namespace, program, *args)
            found = _const(args[1])
        elif name == "spawn" and len(args) >= 3:  # lab.spawn(namespace, name, argv)
            found = _literal_program(args[2])
        if found and not found.startswith(("/", ".", "-")) and " " not in found:
            yield found


def test_the_scanner_finds_programs_in_each_form() -> None:
    source = ("import shutil, subprocess\nshutil.which('Xvfb')\nsubprocess.run(['ip', 'a'])\n"
              "lab.sh(ns, 'ping', '-c', '1')\nlab.spawn(ns, 'dns', ['unbound', '-d'])\n"
              "subprocess.run([sys.executable, '-m', 'x'])\n")
    assert sorted(programs_in(source)) == ["Xvfb", "ip", "ping", "unbound"]


def test_every_program_the_tests_run_is_installed_by_a_list() -> None:
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for program in programs_in(path.read_text(encoding="utf-8")):
            used.setdefault(program, set()).add(str(path.relative_to(ROOT)))
    assert {"ping", "ip", "Xvfb", "xdotool"} <= used.keys()  # the scan sees the known ones
    unknown = {p: sorted(files) for p, files in used.items()
               if p not in PACKAGE_OF and p not in ESSENTIAL}
    assert not unknown, f"add these programs to PACKAGE_OF (and their package to a list): " \
                        f"{unknown}"
    listed = listed_packages()
    missing = {p: PACKAGE_OF[p] for p in used if p in PACKAGE_OF and PACKAGE_OF[p] not in listed}
    assert not missing, f"scripts/debian-packages*.txt lack the packages of {missing}"
