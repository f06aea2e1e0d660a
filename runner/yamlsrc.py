"""Safe YAML 1.2 loading that remembers where every value came from.

ruamel.yaml (safe, pure) composes the document into nodes with their positions and
resolves scalars as YAML 1.2 does, as editors do: ``1e3`` is a number, ``yes`` and ``on``
are strings, ``010`` is ten.  The nodes are then built by hand: only the plain mapping,
sequence and scalar tags (no Python objects, no ``!!set``), duplicate keys are errors,
``<<`` merge keys are resolved with the mapping's own keys overriding the merged ones,
aliases count towards a node budget, and every key path maps to its ``line:col`` so that
validation errors can point at the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runner.errors import SpecError

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000  # values built, aliases included: bounds the billion-laughs attack
MAX_DEPTH = 100  # levels of nesting: the composer recurses, as does the builder

Loc = tuple  # a key path: str keys and int indexes
_TAG = "tag:yaml.org,2002:"
_SCALARS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_MAP, _SEQ, _MERGE = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}merge"
_TIMESTAMP = f"{_TAG}timestamp"  # not in YAML 1.2's core schema: a date stays a string


class Source:
    """A loaded YAML document: its data and the position of every key path."""

    def __init__(
        self,
        path: Path,
        data: Any,
        marks: dict[Loc, tuple[int, int]],
        value_marks: dict[Loc, tuple[int, int]],
    ) -> None:
        self.path = path
        self.data = data
        self.marks = marks  # where each key is written
        self.value_marks = value_marks  # where its value starts

    def where(self, loc: Loc, value: bool = False) -> str:
        """``FILE:LINE:COL`` of the deepest known prefix of ``loc``: its key, or its value."""
        loc = tuple(loc)
        while loc not in self.marks and loc:
            loc = loc[:-1]
        marks = self.value_marks if value else self.marks
        line, col = marks.get(loc, self.marks.get(loc, (1, 1)))
        return f"{self.path}:{line}:{col}"

    def error(self, loc: Loc, message: str, value: bool = False) -> SpecError:
        """A one-line error: ``FILE:LINE:COL: key.path: message``."""
        return SpecError(f"{self.where(loc, value)}: {dotted(loc)}: {message}")


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def load(path: Path) -> Source:
    """Read and compose ``path``; raise SpecError with file:line on any problem."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(f"{path}:1:1: file is {size:,} bytes; specs are limited to 1 MiB")
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}:1:1: not UTF-8 text ({exc.reason})") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: is a directory; give a .yaml spec file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    return loads(text, path)


def loads(text: str, path: Path) -> Source:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="safe", pure=True)
    builder = _Builder(path, yaml)
    try:
        node = yaml.compose(text)
        data = builder.build(node, ()) if node is not None else None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if problem.startswith("but ") and exc.context:  # "expected ..., but found ..."
            problem = f"{exc.context}, {problem}"
        raise SpecError(f"{path}:{line}:{col}: invalid YAML: {problem}") from None
    except YAMLError as exc:
        raise SpecError(f"{path}:1:1: invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:  # the composer's recursion ran out first: find where, by events
        raise _too_deep(path, _deepest(yaml, text)) from None
    return Source(path, data, builder.marks, builder.value_marks)


class _Builder:
    def __init__(self, path: Path, yaml: Any) -> None:
        self.path = path
        self.yaml = yaml
        self.marks: dict[Loc, tuple[int, int]] = {}
        self.value_marks: dict[Loc, tuple[int, int]] = {}
        self.count = 0
        self.active: set[int] = set()

    def _fail(self, node: Any, message: str) -> SpecError:
        m = node.start_mark
        return SpecError(f"{self.path}:{m.line + 1}:{m.column + 1}: {message}")

    def build(self, node: Any, loc: Loc) -> Any:
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        if len(loc) > MAX_DEPTH:
            m = node.start_mark
            raise _too_deep(self.path, (m.line, m.column))
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(node, f"more than {MAX_NODES:,} values (aliases included); simplify")
        here = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.marks.setdefault(loc, here)
        self.value_marks.setdefault(loc, here)
        kind = _MAP if isinstance(node, MappingNode) else _SEQ
        if isinstance(node, (MappingNode, SequenceNode)) and node.tag != kind:
            raise self._fail(node, f"invalid YAML: the tag {node.tag!r} is not allowed in a spec")
        if id(node) in self.active:
            raise self._fail(node, "an alias refers to itself")
        if isinstance(node, (MappingNode, SequenceNode)):
            self.active.add(id(node))
            try:
                if isinstance(node, MappingNode):
                    return self._mapping(node, loc)
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        return self._scalar(node)

    def _scalar(self, node: Any) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value
        if node.tag not in _SCALARS:
            raise self._fail(node, f"invalid YAML: the tag {node.tag!r} is not allowed in a spec")
        return self.yaml.constructor.construct_object(node, deep=True)

    def _mapping(self, node: Any, loc: Loc) -> dict[Any, Any]:
        from ruamel.yaml.nodes import ScalarNode

        # Merged keys first, so the mapping's own keys override them and their positions.
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self._merge(value_node, loc))
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self._scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise self._fail(key_node, f"{dotted(loc)}: keys must be plain strings")
            key_loc = (*loc, key)
            if key in out:
                first = self.marks[key_loc]
                raise self._fail(
                    key_node, f"{dotted(key_loc)}: duplicate key (first at line {first[0]})"
                )
            if key in merged:  # overridden: the merged value's positions give way
                for marks in (self.marks, self.value_marks):
                    for stale in [k for k in marks if k[: len(key_loc)] == key_loc]:
                        del marks[stale]
            self.marks[key_loc] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, key_loc)
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def _merge(self, node: Any, loc: Loc) -> dict[Any, Any]:
        """``<<: *base`` or ``<<: [*a, *b]`` (earlier mappings win): the merged keys."""
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                raise self._fail(source, f"{dotted(loc)}: `<<` merges mappings (or a list of them)")
            merged.update(self.build(source, loc))
        return merged


def _too_deep(path: Path, mark: tuple[int, int]) -> SpecError:
    line, col = mark
    return SpecError(f"{path}:{line + 1}:{col + 1}: more than {MAX_DEPTH} levels of nesting")


def _deepest(yaml: Any, text: str) -> tuple[int, int]:
    """Where the nesting first goes past MAX_DEPTH (the parser does not recurse)."""
    from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent

    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH + 1:  # the top mapping is level 0 of the key path
                return event.start_mark.line, event.start_mark.column
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return 0, 0
