"""The product, run as a user would in each council network, says what the table in
scenarios.py expects. A failure message carries the whole result the product produced."""

from __future__ import annotations

import json

import pytest

from access_probe.catalogue import packaged_catalogue

from .runner import Outcome
from .scenarios import ANY, EXPECTATIONS, PRIVATE_WORDS, RUNS, Expect, Run


@pytest.mark.parametrize("expect", EXPECTATIONS, ids=lambda e: e.id)
def test_verdict(outcomes: dict[str, Outcome], expect: Expect) -> None:
    outcome = outcomes[expect.run]
    assert outcome.doc is not None, outcome.describe()
    result = outcome.result(expect.url)
    assert result is not None, f"no result for {expect.url}\n{outcome.describe()}"
    shown = json.dumps(result, indent=1)
    blocking = result.get("blocking") or {}
    got = (result["status"], blocking.get("layer"), blocking.get("method"))
    assert got == (expect.status, expect.layer, expect.method), shown
    if expect.vendor != ANY:
        assert blocking.get("vendor") == expect.vendor, shown
    if expect.category != ANY:
        assert blocking.get("category") == expect.category, shown
    interception = (result.get("interception") or {}).get("issuer")
    assert interception == expect.interception, shown
    if expect.control != ANY:
        assert (result.get("control") or {}).get("status") == expect.control, shown


@pytest.mark.parametrize("run", RUNS, ids=lambda r: r.id)
def test_output_is_one_contract_document(outcomes: dict[str, Outcome], run: Run) -> None:
    outcome = outcomes[run.id]
    assert outcome.returncode == 0, outcome.describe()
    assert outcome.doc is not None and outcome.doc["schema"] == "access-probe/check/1"
    expected = outcome.run.urls or [e.url for _, e in packaged_catalogue().endpoints()]
    assert sorted(r["url"] for r in outcome.doc["results"]) == sorted(expected)


def test_whole_catalogue_on_an_open_network(outcomes: dict[str, Outcome]) -> None:
    """Every catalogue endpoint, through a network that filters nothing: what the lab's
    Internet serves is accessible, what it does not have fails from outside too. Not one
    false block, and no offline."""
    outcome = outcomes["open-catalogue"]
    assert outcome.doc is not None, outcome.describe()
    results = outcome.doc["results"]
    by_status: dict[str, list[str]] = {}
    for result in results:
        by_status.setdefault(result["status"], []).append(result["target"])
    assert set(by_status) <= {"accessible", "unreachable"}, json.dumps(by_status, indent=1)
    assert len(by_status.get("accessible", [])) >= 5  # the sites the lab serves
    for result in results:
        if result["status"] == "unreachable":
            assert (result.get("control") or {}).get("status") == "unreachable", result


@pytest.mark.parametrize("run", RUNS, ids=lambda r: r.id)
def test_no_names_or_addresses_in_results(outcomes: dict[str, Outcome], run: Run) -> None:
    """e2guardian's pages print the user's name and address; no result may carry them."""
    outcome = outcomes[run.id]
    text = outcome.stdout
    for word in (*PRIVATE_WORDS, outcome.client_addr):
        assert word not in text, f"{word!r} in the output of {outcome.run.id}"
