"""The collector's pure parts, no database: aggregate rules, councils, tokens, settings,
input models."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from ipaddress import ip_network
from pathlib import Path

import pytest

from access_probe.collector import aggregate, councils, tokens
from access_probe.collector.aggregate import AggregateQuery, AggregateRow, QueryError
from access_probe.collector.ingest import strip_url
from access_probe.collector.models_in import CheckIn
from access_probe.collector.settings import Settings
from access_probe.collector.store.records import TokenRecord
from access_probe.errors import ConfigError
from access_probe.schema import CHECK_SCHEMA


def test_parse_query_keys_filters_and_dates() -> None:
    query = aggregate.parse_query([("group_by", "service, status"), ("org", "E07000223,ADU"),
                                   ("vendor", ""), ("hour", "9"), ("since", "2026-11-01")])
    assert query == AggregateQuery(group_by=("service", "status"),
                                   filters=(("org", ("E07000223", "ADU")), ("vendor", (None,)),
                                            ("hour", (9,))),
                                   since=date(2026, 11, 1))


@pytest.mark.parametrize("params", [[("group_by", "ip")], [("group_by", "org,org")],
                                    [("until", "tomorrow")], [("hour", "-1")],
                                    [("callback", "x")], [("service", "x" * 300)],
                                    [("service", ",".join(["s"] * 51))]])
def test_parse_query_rejects(params: list[tuple[str, str]]) -> None:
    with pytest.raises(QueryError):
        aggregate.parse_query(params)


def test_suppression_counts_what_it_hides() -> None:
    rows = [AggregateRow(keys=("a",), count=10, orgs=3), AggregateRow(keys=("b",), count=99,
                                                                        orgs=2)]
    assert aggregate.suppress(rows, k=3, admin=False) == (rows[:1], 1)
    assert aggregate.suppress(rows, k=3, admin=True) == (rows, 0)
    assert aggregate.suppress(rows, k=1, admin=False) == (rows, 0)


def test_csv_neutralises_formulas() -> None:
    query = AggregateQuery(group_by=("network", "day"))
    rows = [AggregateRow(keys=("=HYPERLINK(\"x\")", date(2026, 11, 24)), count=1, orgs=3)]
    parsed = list(csv.reader(io.StringIO(aggregate.to_csv(query, rows))))
    assert parsed == [["network", "day", "count", "orgs"],
                      ["'=HYPERLINK(\"x\")", "2026-11-24", "1", "3"]]


def test_councils_by_any_code() -> None:
    table = councils.load()
    adur = table.lookup("E07000223")
    assert adur is not None and adur.name == "Adur District Council"
    assert (adur.type, adur.nation, adur.region) == ("Non-metropolitan district", "England",
                                                     "South East")
    assert table.lookup("adu") == adur and table.canonical("ADU") == "E07000223"
    glasgow = table.lookup("S12000046")  # a former GSS code
    assert glasgow is not None and glasgow.code == "S12000049"
    assert table.lookup("E99999999") is None and table.canonical("lga-1") == "LGA-1"
    assert len(table) > 400


def test_councils_data_ships_with_attribution() -> None:
    readme = Path(councils.__file__).with_name("data") / "README.md"
    assert "CC BY 4.0" in readme.read_text() and "mySociety" in readme.read_text()


def test_tokens_hash_verify_and_parse() -> None:
    new = tokens.new_token()
    assert new.token.startswith(f"ap_{new.id}_") and new.token not in new.secret_hash
    assert tokens.verify(new.token, new.secret_hash)
    assert not tokens.verify(new.token + "x", new.secret_hash)
    assert tokens.token_id(new.token) == new.id and tokens.token_id("ap_zz_zz") is None


def test_token_cache_reads_a_row_at_most_once_per_bound() -> None:
    """A revocation reaches a process within `seconds`: the row is read again after that.
    Unknown ids are never kept (each is read, and charged by the caller's throttle)."""
    now = [100.0]
    rows: dict[str, TokenRecord] = {"aaaaaaaa": _record("aaaaaaaa")}
    reads: list[str] = []

    def lookup(token_id: str) -> TokenRecord | None:
        reads.append(token_id)
        return rows.get(token_id)

    cache = tokens.TokenCache(lookup, 5.0, clock=lambda: now[0])
    assert cache.find("aaaaaaaa") == rows["aaaaaaaa"] and cache.find("aaaaaaaa")
    assert cache.kept("aaaaaaaa") == rows["aaaaaaaa"] and reads == ["aaaaaaaa"]
    rows["aaaaaaaa"] = _record("aaaaaaaa", revoked=True)
    now[0] += 4.9
    assert cache.find("aaaaaaaa").revoked_at is None  # type: ignore[union-attr]
    now[0] += 0.1
    assert cache.kept("aaaaaaaa") is None
    assert cache.find("aaaaaaaa").revoked_at is not None  # type: ignore[union-attr]
    assert [cache.find("bbbbbbbb"), cache.find("bbbbbbbb")] == [None, None]
    assert reads == ["aaaaaaaa", "aaaaaaaa", "bbbbbbbb", "bbbbbbbb"]
    uncached = tokens.TokenCache(lookup, 0.0, clock=lambda: now[0])
    uncached.find("aaaaaaaa")
    uncached.find("aaaaaaaa")
    assert reads[-2:] == ["aaaaaaaa", "aaaaaaaa"] and uncached.kept("aaaaaaaa") is None


def _record(token_id: str, *, revoked: bool = False) -> TokenRecord:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    return TokenRecord(id=token_id, secret_hash="0" * 64, org="E07000223", admin=False,
                       created_at=at, revoked_at=at if revoked else None)


@pytest.mark.parametrize("overrides", [{"db_url": "mysql://x"}, {"k": 0}, {"k": True},
                                       {"max_body_bytes": -1}, {"control_cache_seconds": -1},
                                       {"token_cache_seconds": -1},
                                       {"config": Path("/nonexistent.yaml")}])
def test_settings_fail_fast(overrides: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Settings(**{"db_url": "sqlite:///x.db", **overrides})  # type: ignore[arg-type]


def test_settings_travel_through_the_environment() -> None:
    settings = Settings(db_url="postgresql://u@h/db", k=5, catalogue_only=True,
                        control_allow=(ip_network("198.51.100.0/24"),))
    assert Settings.from_env(settings.to_env()) == settings


def test_strip_url_drops_identifying_parts() -> None:
    assert strip_url("HTTPS://u:p@Example.org:8443/a?b=c#d") == "https://example.org:8443/a"
    assert strip_url("http://[2001:db8::1]/") == "http://[2001:db8::1]/"


def test_input_model_follows_the_contract_schema_string() -> None:
    doc = {"schema": CHECK_SCHEMA, "started_at": "2026-01-01T00:00:00Z",
           "finished_at": "2026-01-01T00:00:00Z", "context": {}, "results": []}
    assert CheckIn.model_validate_json(json.dumps(doc)).results == []
