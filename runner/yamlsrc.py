"""Safe YAML loading that remembers where every value came from.

``yaml.safe_load`` forgets positions, accepts duplicate keys and lets aliases multiply a
small file into a huge object.  Here the document is composed into nodes (safe tags only),
then built by hand: duplicate keys are errors, aliases count towards a node budget, and
every key path maps to its ``line:col`` so validation errors can point at the source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from runner.errors import SpecError

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000  # values built, aliases included: bounds the billion-laughs attack

Loc = tuple  # a key path: str keys and int indexes
_PLAIN_TAGS = (
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
)


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
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        builder = _Builder(path, loader)
        data = builder.build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"{path}:{line}:{col}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}:1:1: invalid YAML: {exc}") from None
    except RecursionError:
        raise SpecError(f"{path}:1:1: nested too deeply for a spec; flatten it") from None
    finally:
        loader.dispose()
    return Source(path, data, builder.marks, builder.value_marks)


class _Builder:
    def __init__(self, path: Path, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader
        self.marks: dict[Loc, tuple[int, int]] = {}
        self.value_marks: dict[Loc, tuple[int, int]] = {}
        self.count = 0
        self.active: set[int] = set()

    def _fail(self, node: yaml.Node, message: str) -> SpecError:
        m = node.start_mark
        return SpecError(f"{self.path}:{m.line + 1}:{m.column + 1}: {message}")

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._fail(node, f"more than {MAX_NODES:,} values (aliases included); simplify")
        here = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.marks.setdefault(loc, here)
        self.value_marks.setdefault(loc, here)
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            raise self._fail(node, f"invalid YAML: the tag {node.tag!r} is not allowed in a spec")
        if id(node) in self.active:
            raise self._fail(node, "an alias refers to itself")
        if isinstance(node, yaml.MappingNode):
            self.active.add(id(node))
            try:
                return self._mapping(node, loc)
            finally:
                self.active.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.active.add(id(node))
            try:
                return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys the safe way
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise self._fail(key_node, f"{dotted(loc)}: keys must be plain strings")
            key_loc = (*loc, key)
            if key in out:
                first = self.marks[key_loc]
                raise self._fail(
                    key_node, f"{dotted(key_loc)}: duplicate key (first at line {first[0]})"
                )
            self.marks[key_loc] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, key_loc)
        return out
