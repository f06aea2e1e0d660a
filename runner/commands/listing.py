"""`runner list`: models with their params, defaults and metrics; or the plugins."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl
from runner.commands.common import load_spec_plugins

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "list", help="list models or plugins", description="List models, or plugins."
    )
    p.add_argument("model", nargs="*", help="only these models")
    p.add_argument("--plugins", action="store_true", help="list plugins: source, version, hooks")
    p.add_argument(
        "--spec", action="append", type=Path, default=[], metavar="SPEC",
        help="also load the plugins SPEC names in its `plugins:`; repeatable",
    )  # fmt: skip
    p.set_defaults(func=list_)


def list_(args: argparse.Namespace, host: PluginHost) -> int:
    load_spec_plugins(args.spec, host)
    if args.plugins:
        for plugin in host.info():
            version = f" {plugin.version}" if plugin.version else ""
            print(f"{plugin.name}{version} [{plugin.source}]: {', '.join(plugin.hooks) or '-'}")
        return 0
    from msgspec.structs import fields as msgspec_fields

    from runner.model import field_defaults

    models = host.models()
    for name in args.model:
        if name not in models:
            from runner.errors import UsageError

            raise UsageError(f"unknown model {name!r} (known: {', '.join(sorted(models))})")
    for name, model in sorted(models.items()):
        if args.model and name not in args.model:
            continue
        print(f"{name}: {model.description}  [plugin {host.model_plugin(name)}]")
        print("  params:")
        defaults = field_defaults(model.Params)
        for info in msgspec_fields(model.Params):
            default = f" = {_show(defaults[info.name])}" if info.name in defaults else ""
            kind, description = _unwrap(info.type)
            doc = f"  {description}" if description else ""
            print(f"    {info.name}: {_type(kind)}{default}{doc}")
        print("  metrics:")
        for m in model.metrics:
            direction = {True: "higher is better", False: "lower is better", None: ""}
            extra = ", ".join(x for x in (direction[m.higher_is_better], m.description) if x)
            unit = f" [{m.unit}]" if m.unit else ""
            print(f"    {m.name}{unit}{'  ' + extra if extra else ''}")
    return 0


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _unwrap(annotation: Any) -> tuple[Any, str]:
    """The type inside ``Annotated[T, Meta(...)]``, and the field's description, which may
    be on a member of a union (``Annotated[float, Meta(ge=0, ...)] | None``)."""
    import types
    import typing

    description = ""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *metas = typing.get_args(annotation)
        for meta in metas:
            description = getattr(meta, "description", None) or description
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            description = description or _unwrap(member)[1]
    return annotation, description


def _type(annotation: Any) -> str:
    """``int``, ``apply | apply_async``, ``str | None``: types as a spec author reads them."""
    import types
    import typing

    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(str(v) for v in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # int | max
        return " | ".join(_type(_unwrap(a)[0]) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
