"""The product, run as a user would in each council network, says what the table in
scenarios.py expects. A failure message carries the whole result the product produced."""

from __future__ import annotations

import json

import pytest

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
    assert sorted(r["url"] for r in outcome.doc["results"]) == sorted(outcome.run.urls)


@pytest.mark.parametrize("run", RUNS, ids=lambda r: r.id)
def test_no_names_or_addresses_in_results(outcomes: dict[str, Outcome], run: Run) -> None:
    """e2guardian's pages print the user's name and address; no result may carry them."""
    outcome = outcomes[run.id]
    text = outcome.stdout
    for word in (*PRIVATE_WORDS, outcome.client_addr):
        assert word not in text, f"{word!r} in the output of {outcome.run.id}"
