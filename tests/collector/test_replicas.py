"""Two real collector processes (`access-probe collector serve` on two loopback ports) on one
database behave as one collector: one submission limit, one failed-authentication throttle, one
control cache. Run on PostgreSQL (the deployment with replicas) and on SQLite (several
processes on one file share the same rows, by the same SQL)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector.conftest import ORGS, auth, document, make_token, result, wipe
from tests.collector.procs import collectors, origin

BURST = 12


@pytest.fixture
def replicas(db_url: str, tmp_path: Path) -> Iterator[list[str]]:
    wipe(db_url)
    args = ("--submit-per-minute", "0.01", "--submit-burst", str(BURST),
            "--control-allow", "127.0.0.1/32", "--control-cache-seconds", "300",
            "--auth-failures-per-minute", "0.01", "--auth-failure-burst", "5")
    with collectors(db_url, 2, *args, log_dir=tmp_path) as procs:
        yield [p.url for p in procs]


def test_one_submission_limit_across_replicas(db_url: str, replicas: list[str]) -> None:
    token = make_token(db_url, ORGS[0])
    codes: Counter[tuple[int, int]] = Counter()
    with httpx.Client(timeout=30) as client:
        for i, url in zip(range(3 * BURST), itertools.cycle(replicas), strict=False):
            answer = client.post(f"{url}/api/v1/submissions", headers=auth(token),
                                 json=document(ORGS[0], [result()]))
            codes[(i % 2, answer.status_code)] += 1
            if answer.status_code == 429:
                assert int(answer.headers["Retry-After"]) > 0
    # One bucket of BURST for the token, however the requests are spread: each process alone
    # would have granted BURST, so two independent limits would have let 2 x BURST through.
    assert codes[(0, 200)] + codes[(1, 200)] == BURST, codes
    assert codes[(0, 429)] > 0 and codes[(1, 429)] > 0, codes
    other = make_token(db_url, ORGS[1])  # another token has its own bucket
    assert httpx.post(f"{replicas[1]}/api/v1/submissions", headers=auth(other),
                      json=document(ORGS[1], [result()]), timeout=30).status_code == 200


def test_one_control_cache_across_replicas(db_url: str, replicas: list[str]) -> None:
    token = make_token(db_url, ORGS[0])
    with origin() as site:
        url = f"http://127.0.0.1:{site.server_address[1]}/page"
        first = httpx.post(f"{replicas[0]}/api/v1/control", json={"urls": [url]},
                           headers=auth(token), timeout=60)
        assert first.status_code == 200, first.text
        assert first.json()["results"][0]["status"] == "accessible", first.text
        hits = site.hits
        assert hits >= 1
        second = httpx.post(f"{replicas[1]}/api/v1/control", json={"urls": [url]},
                            headers=auth(token), timeout=60)
        assert second.status_code == 200
        assert second.json() == first.json()
        assert site.hits == hits, "replica B measured again instead of using A's answer"


def test_one_failed_authentication_throttle(db_url: str, replicas: list[str]) -> None:
    bad = auth("ap_0000abcd_" + "x" * 43)
    codes = [httpx.get(f"{url}/api/v1/aggregate", headers=bad, timeout=30).status_code
             for url, _ in zip(itertools.cycle(replicas), range(10), strict=False)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 5, codes
    # While the client is throttled even a valid token is not checked: no guess is tested.
    good = make_token(db_url, ORGS[0])
    answer = httpx.get(f"{replicas[0]}/api/v1/aggregate", headers=auth(good), timeout=30)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
