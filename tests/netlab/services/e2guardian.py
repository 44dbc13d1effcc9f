"""e2guardian 5 as a council's explicit filtering proxy: the Debian configuration, copied
and edited the way an IT team would (site lists with a category, a user mapping from
ident, a block-page template that prints the user's name and address)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from ..topology import Lab

DEBIAN_CONF = Path("/etc/e2guardian")
PORT = 8080


def _set(text: str, key: str, value: str) -> str:
    """Replace `key = ...` (commented or not) with our value, or append it."""
    pattern = re.compile(rf"^#?\s*{re.escape(key)}\s*=.*$", re.M)
    line = f"{key} = {value}"
    if pattern.search(text):
        return pattern.sub(lambda _m: line, text, count=1)
    return text + f"\n{line}\n"


def _copy_tree(root: Path) -> Path:
    etc = root / "etc"
    shutil.copytree(DEBIAN_CONF, etc, symlinks=False)
    for path in etc.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            path.write_text(text.replace(str(DEBIAN_CONF), str(etc)))
    return etc


def configure(lab: Lab, name: str, address: str, *, settings: Mapping[str, str],
              group_settings: Mapping[str, str], lists: Mapping[str, str]) -> Path:
    root = lab.workdir / name
    root.mkdir()
    etc = _copy_tree(root)
    main = etc / "e2guardian.conf"
    text = main.read_text()
    base = {
        "filterip": address, "filterports": str(PORT), "nodaemon": "on",
        "pidfilename": f"'{root}/e2guardian.pid'", "loglocation": f"'{root}/access.log'",
        "daemonuser": "'e2guardian'", "daemongroup": "'e2guardian'",
        "transparenthttpsport": "", "checkip": address,
    }
    for key, value in {**base, **settings}.items():
        text = _set(text, key, value)
    main.write_text(text)
    group = etc / "e2guardianf1.conf"
    gtext = group.read_text()
    for key, value in group_settings.items():
        gtext = _set(gtext, key, value)
    group.write_text(gtext)
    for rel, content in lists.items():
        (etc / rel).write_text(content)
    # It drops to its own user before opening its log.
    shutil.chown(root, "e2guardian", "e2guardian")
    return etc


def start(lab: Lab, ns: str, name: str, address: str, etc: Path) -> None:
    lab.spawn(ns, name, ["e2guardian", "-N", "-c", str(etc / "e2guardian.conf")])
    lab.wait_listening(ns, name, address, PORT)


def add_group(etc: Path, number: int, groupname: str, settings: Mapping[str, str]) -> None:
    """Filter group N: a copy of group 1 (same lists) with its own settings."""
    text = (etc / "e2guardianf1.conf").read_text()
    for key, value in {"groupname": f"'{groupname}'", **settings}.items():
        text = _set(text, key, value)
    path = etc / f"e2guardianf{number}.conf"
    path.write_text(text)
    shutil.chown(path, "e2guardian", "e2guardian")
