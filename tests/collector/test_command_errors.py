"""Collector commands facing a database that is not there: one clear line, exit 1."""

from __future__ import annotations

import socket

import pytest

from access_probe.cli import main


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [
    ["collector", "migrate"],
    ["collector", "token", "create", "--org", "E07000223"],
    ["collector", "token", "list"],
    ["collector", "serve", "--port", "1"],
])
def test_unreachable_database(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{closed_port()}/nowhere"
    assert main([*command, "--db", url]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("access-probe: error: database ")
    assert "Traceback" not in err and "s3cret" not in err
    assert "refused" in err.lower()
