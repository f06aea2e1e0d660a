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
        for field, info in model.Params.model_fields.items():
            default = "" if info.is_required() else f" = {_show(info.default)}"
            doc = f"  {info.description}" if info.description else ""
            print(f"    {field}: {_type(info.annotation)}{default}{doc}")
        print("  metrics:")
        for m in model.metrics:
            direction = {True: "higher is better", False: "lower is better", None: ""}
            extra = ", ".join(x for x in (direction[m.higher_is_better], m.description) if x)
            unit = f" [{m.unit}]" if m.unit else ""
            print(f"    {m.name}{unit}{'  ' + extra if extra else ''}")
    return 0


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


def _type(annotation: Any) -> str:
    """``int``, ``apply | apply_async``, ``str | None``: types as a spec author reads them."""
    import types
    import typing

    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(str(v) for v in typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # int | max
        return " | ".join(_type(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")
