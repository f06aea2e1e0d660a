"""`runner schema`: the JSON Schema of spec files, for editors."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from runner import hookimpl

if TYPE_CHECKING:
    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of specs",
        description="Print the JSON Schema of spec files, every loaded model's params "
        "included, for editors (e.g. yaml-language-server).",
    )
    p.set_defaults(func=schema)


def schema(args: argparse.Namespace, host: PluginHost) -> int:
    from runner.spec import json_schema

    print(json.dumps(json_schema(host), indent=1))
    return 0
