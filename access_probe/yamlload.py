"""YAML loading that remembers where every key and value came from.

PyYAML's safe composer builds a node tree that carries line marks; `parse_yaml` walks it into
plain Python values and a table of lines keyed by path, so that validators can raise errors of
the form `file:line: key: problem`. Paths are dotted for mappings and indexed for sequences:
`schedule.every_minutes`, `services[3].endpoints[0].url`; the document root is "".

Stricter than `yaml.safe_load` on purpose: duplicate keys, non-scalar keys, merge keys (`<<`)
and several documents in one file are errors, and so is a document that expands (through
aliases) into more than `MAX_NODES` nodes. Mapping keys are always strings: the key's text as
written, so `on:` is the key "on", not True.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from access_probe.errors import InputError

__all__ = ["MAX_NODES", "YAMLDocument", "join", "load_yaml", "parse_yaml"]

MAX_NODES = 100_000  # far beyond any real config or catalogue; stops alias bombs
# libyaml's parser when PyYAML has it (Debian's and PyPI's wheels do): the block-page data
# alone took a check three CPU seconds through the pure-Python one. Same nodes, same marks.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True, kw_only=True)
class YAMLDocument:
    """One parsed YAML document: plain values plus where each path sits in the file."""

    file: str
    data: object  # None for an empty document
    value_lines: Mapping[str, int] = field(default_factory=dict)  # 1-based
    key_lines: Mapping[str, int] = field(default_factory=dict)  # mapping entries only

    def line(self, path: str) -> int | None:
        """The line of the value at `path` (or of the nearest enclosing value)."""
        while True:
            if path in self.value_lines:
                return self.value_lines[path]
            if not path:
                return None
            path = _parent(path)

    def key_line(self, path: str) -> int | None:
        """The line of the key that introduces `path`; falls back to the value's line."""
        return self.key_lines.get(path) or self.line(path)


def join(path: str, key: str | int) -> str:
    """The path of `key` (a mapping key or a sequence index) under `path`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def load_yaml(path: Path, *, error: type[InputError] = InputError) -> YAMLDocument:
    """Read and parse one YAML file; any problem raises `error` naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from exc
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    return parse_yaml(text, file=str(path), error=error)


def parse_yaml(text: str, *, file: str, error: type[InputError] = InputError) -> YAMLDocument:
    """Parse YAML text (one document) as `load_yaml` does; `file` names it in errors."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file, error) from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, ...)
        line = text.count("\n", 0, exc.position) + 1
        raise error(f"invalid YAML: character #x{exc.character:04x} is not allowed "
                    "(control characters other than tab and newline are not)",
                    file=file, line=line) from exc
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {' '.join(str(exc).split())}", file=file) from exc
    finally:
        loader.dispose()
    if node is None:
        return YAMLDocument(file=file, data=None)
    walker = _Walker(loader, file, error)
    data = walker.value(node, "")
    return YAMLDocument(file=file, data=data, value_lines=walker.value_lines,
                        key_lines=walker.key_lines)


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _syntax_error(exc: yaml.MarkedYAMLError, file: str,
                  error: type[InputError]) -> InputError:
    mark = exc.problem_mark or exc.context_mark
    problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
    return error(f"invalid YAML: {problem}", file=file,
                 line=mark.line + 1 if mark is not None else None)


class _Walker:
    """Turns a composed node tree into plain values, recording lines as it goes."""

    def __init__(self, loader: yaml.SafeLoader, file: str, error: type[InputError]) -> None:
        self.loader = loader
        self.file = file
        self.error = error
        self.value_lines: dict[str, int] = {}
        self.key_lines: dict[str, int] = {}
        self.count = 0

    def fail(self, problem: str, node: yaml.Node, path: str) -> InputError:
        return self.error(problem, file=self.file, line=node.start_mark.line + 1,
                          key=path or None)

    def value(self, node: yaml.Node, path: str) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(f"document too large (more than {MAX_NODES} nodes)", node, path)
        self.value_lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, join(path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: str) -> object:
        if node.tag == "tag:yaml.org,2002:merge":
            raise self.fail("merge keys (<<) are not supported", node, path)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            raise self.fail(f"invalid value: {exc.problem}", node, path) from exc
        except Exception as exc:  # constructors fail loosely on odd tags: !!int x, !!timestamp x
            raise self.fail(f"invalid value for {node.tag}", node, path) from exc

    def mapping(self, node: yaml.MappingNode, path: str) -> dict[str, object]:
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, path)
            child = join(path, key)
            if key in result:
                first = self.key_lines[child]
                raise self.fail(f"duplicate key (first at line {first})", key_node, child)
            self.key_lines[child] = key_node.start_mark.line + 1
            result[key] = self.value(value_node, child)
        return result

    def key(self, node: yaml.Node, path: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail("a key must be a plain string", node, path)
        if node.tag == "tag:yaml.org,2002:merge":
            raise self.fail("merge keys (<<) are not supported", node, join(path, "<<"))
        return str(node.value)
