"""End to end: the agent's `check --json` asks this collector for the control, its document
(anonymised as the agent submits it) goes into the collector and comes out in the aggregate;
and the `collector` commands (migrate, token create/list/revoke) through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from ipaddress import ip_network
from pathlib import Path

import pytest

from access_probe.agent.anonymise import anonymise
from access_probe.cli import main
from access_probe.schema import CheckDocument
from tests.collector.conftest import Collector, auth, postgres_database
from tests.servers import Page, WebServer

ROOT = Path(__file__).parents[2]


def run_check(url: str, *, collector: Collector, token: str, home: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("ACCESS_PROBE_")}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_DATA_HOME": str(home),
            "ACCESS_PROBE_ORG": "E07000223", "ACCESS_PROBE_NETWORK": "lab-lan",
            "ACCESS_PROBE_PROXY": "none", "ACCESS_PROBE_CONTROL_URL": collector.url,
            "ACCESS_PROBE_COLLECTOR_TOKEN": token}
    # A loopback baseline, so the run never falls back to the packaged Internet ones.
    targets = home / "targets.yaml"
    targets.write_text(f"version: 1\nservices:\n  - id: lab-baseline\n    category: baseline\n"
                       f"    endpoints: ['{url}']\n")
    done = subprocess.run([sys.executable, "-m", "access_probe.cli", "check", "--json",
                           "--no-submit", "--targets", str(targets), url], env=env, cwd=ROOT,
                          capture_output=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    doc: dict[str, object] = json.loads(done.stdout)
    return doc


def test_check_document_round_trips_into_the_aggregate(
        make_collector: Callable[..., Collector], tmp_path: Path) -> None:
    with WebServer({"/": Page.html("Hello lab")}) as web:
        collector = make_collector(control_allow=(ip_network("127.0.0.1/32"),))
        token = collector.token("E07000223")
        doc = run_check(f"http://127.0.0.1:{web.port}/", collector=collector, token=token,
                        home=tmp_path)
        assert len(web.requests) >= 2  # the agent's own fetch and the collector's control
    results = doc["results"]
    assert isinstance(results, list) and len(results) == 1
    item = results[0]
    assert item["control"] == {"status": "accessible"} and item["status"] == "accessible"
    body = anonymise(CheckDocument.from_json(doc))
    answer = collector.http.post("/api/v1/submissions", json=body, headers=auth(token))
    assert answer.json() == {"accepted": 1, "duplicates": 0}
    rows = collector.http.get("/api/v1/aggregate", headers=auth(collector.token(admin=True)),
                              params={"group_by": "org,network,status,region"}).json()["rows"]
    assert rows == [{"org": "E07000223", "network": "lab-lan", "status": "accessible",
                     "region": "South East", "count": 1, "orgs": 1}]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_commands_migrate_and_tokens(backend: str, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    if backend == "sqlite":
        _commands(f"sqlite:///{tmp_path / 'sub' / 'c.sqlite3'}", capsys, sqlite=True)
    else:
        with postgres_database() as url:
            _commands(url, capsys, sqlite=False)


def _commands(db: str, capsys: pytest.CaptureFixture[str], *, sqlite: bool) -> None:
    create = ["collector", "token", "create", "--org", "ADU", "--db", db]
    if sqlite:  # a folder that does not exist is a typo until the operator says otherwise
        assert main(create) == 2
        assert "does not exist" in capsys.readouterr().err
        assert main(["collector", "token", "list", "--db", db]) == 2
        capsys.readouterr()
        create = [*create, "--create-db"]
    if not sqlite:  # PostgreSQL is never migrated behind the operator's back
        assert main(create) == 2
        assert "collector migrate" in capsys.readouterr().err
        assert main(["collector", "migrate", "--db", db]) == 0
        capsys.readouterr()
    assert main(create) == 0
    out = capsys.readouterr().out.splitlines()
    token = out[-1]
    assert token.startswith("ap_") and "Adur" in out[0]
    assert main(["collector", "token", "create", "--admin", "--db", db]) == 0
    capsys.readouterr()
    assert main(["collector", "token", "create", "--org", "not a code!", "--db", db]) == 2
    capsys.readouterr()
    # A code outside the councils table (or a council's name typed for its code) is refused
    # unless the operator says it is meant.
    assert main(["collector", "token", "create", "--org", "nowhere", "--db", db]) == 2
    captured = capsys.readouterr()
    assert "NOWHERE is not in the councils table" in captured.err
    assert "--unlisted" in captured.err
    assert not captured.out
    assert main(["collector", "token", "create", "--org", "Adur", "--db", db]) == 2
    assert "did you mean Adur District Council (E07000223)" in capsys.readouterr().err
    assert main(["collector", "token", "create", "--org", "lga", "--unlisted", "--db", db]) == 0
    assert "councils table" not in capsys.readouterr().err
    assert main(["collector", "token", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert "E07000223" in listing and "admin" in listing and "LGA" in listing
    assert token not in listing and token[3:11] in listing
    assert main(["collector", "token", "revoke", token[:14], "--db", db]) == 0
    assert main(["collector", "token", "revoke", token[3:11], "--db", db]) == 2
    capsys.readouterr()
    assert main(["collector", "token", "list", "--db", db]) == 0
    assert "revoked" in capsys.readouterr().out


def test_serve_command_runs_migrates_sqlite_and_logs_no_addresses(tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    db = f"sqlite:///{tmp_path / 'fresh' / 'c.sqlite3'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "access_probe.cli", "collector", "serve", "--port", str(port),
         "--db", db, "--create-db", "--k", "2"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        deadline, health = time.monotonic() + 20, None
        while health is None and time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health.json() == {"status": "ok", "database": True}
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/aggregate").status_code == 401
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert b"127.0.0.1:" not in output.replace(f"127.0.0.1:{port}".encode(), b"")
    assert b"GET /healthz" not in output  # no access log


def test_serve_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collector", "serve", "--db", "mysql://x/y"]) == 2
    assert "db" in capsys.readouterr().err
    assert main(["collector", "serve", "--db", "sqlite:///x.db", "--control-allow", "nope"]) == 2
    assert main(["collector", "serve", "--db", "sqlite:///x.db", "--k", "0"]) == 2
