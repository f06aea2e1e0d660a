"""`runner schema`: the JSON Schema of spec files, for editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookimpl

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of specs",
        description="Print the JSON Schema of spec files, every loaded model's params "
        "included, for editors (e.g. yaml-language-server).  Models of plugins loaded with "
        "-p, and of the plugins a --spec file names, are included too.",
    )
    p.add_argument(
        "--spec", action="append", type=Path, default=[], metavar="SPEC",
        help="also load the plugins SPEC names in its `plugins:`; repeatable",
    )  # fmt: skip
    p.set_defaults(func=schema)


def schema(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.commands.common import load_spec_plugins

    load_spec_plugins(args.spec, host)
    print(json.dumps(json_schema(host), indent=1))
    return 0


def json_schema(host: PluginHost) -> dict[str, Any]:
    """JSON Schema of spec files, with every loaded model's params."""
    import msgspec

    from runner.envelope import Envelope
    from runner.model import json_schema_hook

    models = host.models()
    kinds = [Envelope, *(m.Params for m in models.values())]
    (envelope_ref, *refs), defs = msgspec.json.schema_components(
        kinds, schema_hook=json_schema_hook
    )
    envelope = defs.pop(envelope_ref["$ref"].rsplit("/", 1)[-1])
    envelope["required"] = ["model"]  # the name defaults to the file's stem
    branches = []
    for m, ref in zip(models.values(), refs, strict=True):
        props = defs[ref["$ref"].rsplit("/", 1)[-1]]["properties"]
        branches.append(
            {
                "if": {"properties": {"model": {"const": m.name}}, "required": ["model"]},
                "then": {
                    "properties": {
                        "params": ref,
                        "matrix": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {k: _values(v) for k, v in props.items()},
                        },
                    }
                },
            }
        )
    envelope["properties"]["model"]["enum"] = sorted(models)
    envelope["allOf"] = branches
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "runner experiment spec",
        "oneOf": [
            {"$ref": "#/$defs/Experiment"},
            {
                "type": "object",
                "required": ["experiments"],
                "additionalProperties": False,
                "properties": {
                    "experiments": {"type": "array", "items": {"$ref": "#/$defs/Experiment"}},
                    "plugins": {"type": "array", "items": {"type": "string"}},
                },
            },
        ],
        "$defs": {**defs, "Experiment": envelope},
    }


def _values(param: dict[str, Any]) -> dict[str, Any]:
    """A matrix entry: a non-empty list of values the param itself accepts."""
    items = {k: v for k, v in param.items() if k not in ("default", "title", "description")}
    out: dict[str, Any] = {"type": "array", "minItems": 1, "items": items}
    if "description" in param:
        out["description"] = param["description"]
    return out
