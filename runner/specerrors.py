"""A spec's values checked against a schema (the envelope, a model's params), with each
refusal told as ``FILE:LINE:COL: key.path: what is wrong``.

msgspec says what it refused and where, as a path (``$.matrix[...]``); this finds the
spec's own key behind that path and the line and column it is written at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec

from runner import yamlsrc
from runner.envelope import Envelope, Expect
from runner.errors import SpecError
from runner.model import convert, field_names


def convert_spec(src: yamlsrc.Source, schema: type[Any], data: Any, to_source: Any) -> Any:
    """``data`` as ``schema``, or a SpecError with a line for each wrong key (up to 10).

    msgspec stops at the first error; each key found wrong is left out (its default
    stands in) and the rest is checked again, so a spec's author sees all of them at once.
    Checks across keys are reported only when they come first: with a default standing in
    they could blame what is right.
    """
    lines: list[str] = []
    while len(lines) < 10:
        try:
            result = convert(schema, data)
        except msgspec.ValidationError as exc:
            line, err_loc = _translate(src, exc, to_source, data, schema)
        else:
            if not lines:
                return result
            break
        if lines and not err_loc:
            break
        lines.append(line)
        # Only on an error: every trial of a spec comes through here, and most pass.
        required = {f.name for f in msgspec.structs.fields(schema) if f.required}
        key = err_loc[0] if err_loc else None
        if not isinstance(data, dict) or key not in data or key in required:
            break
        data = {k: v for k, v in data.items() if k != key}
    raise SpecError("\n".join(lines))


# msgspec's message ends with where the refused value is: `... - at `$.a[0].b``, or for
# a refused key of a mapping `... - at `key` in `$.a``.  A mapping's value is `[...]`.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at (?P<key>`key` in )?`\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]*)`$")
_GOT = re.compile(r", got `[^`]*`$")


def _translate(
    src: yamlsrc.Source,
    exc: msgspec.ValidationError,
    to_source: Any,
    data: Any,
    schema: type[Any],
) -> tuple[str, tuple[Any, ...]]:
    """The error as ``FILE:LINE:COL: key.path: what is wrong``, and the path it names."""
    match = _AT.match(str(exc))
    assert match is not None  # the pattern matches any text
    msg = match["msg"]
    err_loc = _locate(schema, data, str(exc), match["path"] or "", bool(match["key"]))
    unknown, missing = _UNKNOWN.match(msg), _MISSING.match(msg)
    if unknown:
        key = unknown["key"]
        err_loc = (*err_loc, key)
        msg = "unknown key" + suggest(key, _known_keys(schema, err_loc[:-1]))
    elif missing:
        err_loc = (*err_loc, missing["key"])
        msg = f"required key `{missing['key']}` is missing"
    else:
        if msg.startswith("Invalid enum value"):
            choices = _choices(schema, err_loc)
            msg = f"must be {choices}" if choices else msg
        found, value = _value_at(data, err_loc)
        if match["key"]:
            msg = f"the key {msg[0].lower()}{msg[1:]} (got {_short(err_loc[-1])})"
        elif found and not isinstance(value, (dict, list)) and _short(value) not in msg:
            msg = f"{_GOT.sub('', msg)} (got {_short(value)})"
    loc = to_source(err_loc)
    if not missing:
        loc = _trim(src, loc)
    at_value = not (unknown or missing or match["key"])
    return f"{src.where(loc, at_value)}: {yamlsrc.dotted(loc)}: {msg}", err_loc


def _locate(schema: type[Any], data: Any, error: str, path: str, at_key: bool) -> tuple[Any, ...]:
    """The path msgspec names, with the key of each mapping (`[...]`) found: the one
    that, alone in its mapping, is refused with the same error."""
    loc: tuple[Any, ...] = ()
    for key, index in _PART.findall(path):
        if index == "...":
            culprit = _culprit(schema, data, loc, error)
            if culprit is None:
                return loc
            loc = (*loc, culprit)
        else:
            loc = (*loc, int(index) if index else key)
    culprit = _culprit(schema, data, loc, error) if at_key else None
    return loc if culprit is None else (*loc, culprit)


def _culprit(schema: type[Any], data: Any, loc: tuple[Any, ...], error: str) -> Any:
    """The key of the mapping at ``loc`` that, alone there, is refused with ``error``."""
    found, mapping = _value_at(data, loc)
    if not found or not isinstance(mapping, dict):
        return None
    for key in mapping:
        try:
            convert(schema, _replace_at(data, loc, {key: mapping[key]}))
        except msgspec.ValidationError as exc:
            if str(exc) == error:
                return key
    return None


def _replace_at(data: Any, loc: tuple[Any, ...], value: Any) -> Any:
    if not loc:
        return value
    copy = list(data) if isinstance(data, list) else dict(data)
    copy[loc[0]] = _replace_at(data[loc[0]], loc[1:], value)
    return copy


def _choices(schema: type[Any], loc: tuple[Any, ...]) -> str:
    """The values a ``Literal`` field allows, for an error naming one it does not."""
    import typing

    names = [part for part in loc if isinstance(part, str)]
    hints = typing.get_type_hints(schema) if names else {}
    kind = hints.get(names[-1]) if names else None
    values: list[str] = []
    others: list[str] = []

    def collect(t: Any) -> None:
        origin = typing.get_origin(t)
        if origin is typing.Literal:
            values.extend(repr(v) for v in typing.get_args(t))
        elif origin is typing.Annotated:
            collect(typing.get_args(t)[0])
        elif origin is not None:
            for arg in typing.get_args(t):
                collect(arg)
        elif isinstance(t, type) and t is not type(None):
            others.append(f"an {t.__name__}" if t.__name__[0] in "aeiou" else f"a {t.__name__}")

    collect(kind)
    listed = f"one of {', '.join(values)}" if len(values) > 1 else "".join(values)
    return " or ".join(filter(None, (listed, *others)))


def _value_at(data: Any, loc: tuple[Any, ...]) -> tuple[bool, Any]:
    for key in loc:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, data


def _trim(src: yamlsrc.Source, loc: yamlsrc.Loc) -> yamlsrc.Loc:
    # A refused key of a dict comes with the path of its value; keep the deepest known.
    while loc and tuple(loc) not in src.marks:
        loc = loc[:-1]
    return tuple(loc)


def _known_keys(schema: type[Any], parent: tuple[Any, ...]) -> list[str]:
    if not parent:
        return field_names(schema)
    if isinstance(parent[-1], int) and schema is Envelope:
        return field_names(Expect)
    return []


def suggest(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'X'?`` for the choice closest to ``word``, or nothing."""
    import difflib  # only for a spec that is wrong

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
