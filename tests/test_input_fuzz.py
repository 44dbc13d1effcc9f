"""Fuzzed configuration and targets files (hypothesis, bounded and derandomized): whatever the
bytes, `load_config` and `load_catalogue` either load or raise the project's InputError, whose
message is one line naming the file (and, where known, the line and key). Never another
exception, so never a traceback at the command line (which prints InputError as that line).

Three kinds of input: arbitrary bytes (NUL, invalid UTF-8, BOMs, control characters); YAML
documents of random structure over the real keys; and the shipped sample files with a few
random edits (characters deleted, inserted, replaced). ACCESS_PROBE_FUZZ_CASES raises the count.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access_probe.catalogue import load_catalogue
from access_probe.config import keys, load_config
from access_probe.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = (ROOT / "installer" / "config.sample.yaml").read_bytes()
SAMPLE_TARGETS = (ROOT / "access_probe" / "targets.yaml").read_bytes()[:6000]
CASES = max(int(os.environ.get("ACCESS_PROBE_FUZZ_CASES", "300")) // 2, 150)
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats() | st.text(max_size=30)
           | st.sampled_from(["", "~", "yes", "0x1F", "1e400", ".nan", "http://[", "\x00",
                              "a" * 5000, "127.1", "::1", "%zz", "${HOME}", "*anchor"]))
TREE = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10) | st.sampled_from(sorted(
                        {k for key in keys() for k in key.split(".")} | {"targets", "services",
                                                                         "url", "id"})),
                                      inner, max_size=5), max_leaves=25)


def _dotted_tree(data: dict[str, Any]) -> dict[str, Any]:
    """Real dotted keys ('probe.timeout_seconds') as nested mappings, with random values."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = node[part] = {}
            node = nxt
        node[last] = value
    return out


CONFIG_TREES = st.dictionaries(st.sampled_from(keys()), TREE, max_size=6).map(_dotted_tree)


def _edited(sample: bytes) -> st.SearchStrategy[bytes]:
    edit = st.tuples(st.integers(0, len(sample)), st.integers(0, 8),
                     st.binary(max_size=6) | st.sampled_from([b":", b"\n", b"  ", b"- ", b"[",
                                                               b"{", b"'", b'"', b"\x00", b"&a",
                                                               b"*a", b"!!python/object", b"\t"]))

    def apply(edits: list[tuple[int, int, bytes]]) -> bytes:
        data = sample
        for at, cut, new in edits:
            data = data[:at] + new + data[at + cut:]
        return data
    return st.lists(edit, min_size=1, max_size=4).map(apply)


def _dump(tree: object) -> bytes:
    return yaml.safe_dump(tree, allow_unicode=True).encode("utf-8", "surrogatepass")


def _inputs(sample: bytes, trees: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=300), trees.map(_dump), _edited(sample),
                     st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))


def _one_line_or_loads(load: Callable[[Path], object], data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="ap-fuzz-") as folder:
        path = Path(folder) / "input.yaml"
        path.write_bytes(data)
        try:
            load(path)
        except InputError as exc:
            message = str(exc)
            assert "\n" not in message and "Traceback" not in message, message
            assert str(path) in message or "input.yaml" in message, message
            assert len(message) < 2000


@FUZZ
@given(data=_inputs(SAMPLE_CONFIG, CONFIG_TREES | TREE))
def test_fuzzed_config_file_loads_or_says_one_line(data: bytes) -> None:
    _one_line_or_loads(lambda p: load_config(p, env={}, machine_file=Path("/nonexistent/m"),
                                             user_file=Path("/nonexistent/u")), data)


@FUZZ
@given(data=_inputs(SAMPLE_TARGETS, TREE))
def test_fuzzed_targets_file_loads_or_says_one_line(data: bytes) -> None:
    _one_line_or_loads(load_catalogue, data)
