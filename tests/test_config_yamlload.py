"""yamlload: values with lines, strictness beyond yaml.safe_load."""

from __future__ import annotations

from pathlib import Path

import pytest

from access_probe.errors import CatalogueError, InputError
from access_probe.yamlload import MAX_NODES, join, load_yaml, parse_yaml

TEXT = """\
# a comment
schedule:
  every_minutes: 30
services:
  - id: hub
    endpoints:
      - https://hub.example/
      - url: https://cdn.example/x.ico
        role: cdn
on: yes
"""


def test_values_and_lines() -> None:
    doc = parse_yaml(TEXT, file="t.yaml")
    assert doc.data == {
        "schedule": {"every_minutes": 30},
        "services": [{"id": "hub", "endpoints": [
            "https://hub.example/", {"url": "https://cdn.example/x.ico", "role": "cdn"}]}],
        "on": True,  # the key stays the text "on"; the value is YAML 1.1's boolean
    }
    assert doc.line("schedule.every_minutes") == 3
    assert doc.key_line("schedule") == 2
    assert doc.line("services[0].id") == 5
    assert doc.line("services[0].endpoints[0]") == 7
    assert doc.line("services[0].endpoints[1].role") == 9
    assert doc.key_line("on") == 10
    assert doc.line("services[0].endpoints[1].nothing") == 8  # falls back to the enclosing value
    assert doc.line("absent") == 2  # the root mapping starts after the comment


def test_join() -> None:
    assert join("", "a") == "a"
    assert join("a", "b") == "a.b"
    assert join("a", 3) == "a[3]"
    assert join("", 0) == "[0]"


@pytest.mark.parametrize(("text", "line", "key", "fragment"), [
    ("a: 1\nb: 2\na: 3\n", 3, "a", "duplicate key (first at line 1)"),
    ("x:\n  y: 1\n  y: 2\n", 3, "x.y", "duplicate key (first at line 2)"),
    ("a: [1,\n", 2, None, "invalid YAML"),
    ("a: 1\n---\nb: 2\n", 2, None, "expected a single document"),
    ("base: &b {x: 1}\nc:\n  <<: *b\n", 3, "c.<<", "merge keys"),
    ("? [a, b]\n: 1\n", 1, None, "a key must be a plain string"),
    ("a: !!python/object:os.system x\n", 1, "a", "could not determine a constructor"),
    ("a: !!int nine\n", 1, "a", "invalid value for tag:yaml.org,2002:int"),
    ("a:\n  - 1\n  - !!timestamp never\n", 3, "a[1]", "invalid value"),
])
def test_errors_are_located(text: str, line: int, key: str | None, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_yaml(text, file="t.yaml")
    err = caught.value
    assert (err.file, err.line, err.key) == ("t.yaml", line, key)
    assert fragment in err.problem


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 8)]
    with pytest.raises(InputError, match=f"more than {MAX_NODES} nodes"):
        parse_yaml("\n".join(lines) + "\n", file="bomb.yaml")


def test_empty_document() -> None:
    assert parse_yaml("# nothing\n", file="e.yaml").data is None


def test_load_yaml_errors_use_the_given_class(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_yaml(tmp_path / "absent.yaml", error=CatalogueError)
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(CatalogueError, match="not UTF-8"):
        load_yaml(bad, error=CatalogueError)
    good = tmp_path / "ok.yaml"
    good.write_text("a: 1\n", encoding="utf-8")
    assert load_yaml(good).file == str(good)


def test_public_names_exist() -> None:
    from access_probe import catalogue, config, yamlload

    for module in (catalogue, config, yamlload):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{module.__name__}.__all__ names missing: {missing}"
        assert len(set(module.__all__)) == len(module.__all__)
