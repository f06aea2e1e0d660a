"""`runner init [DIR]`: copy the example specs into ``DIR/experiments/`` to start from.

The examples are the repository's experiments/ folder, installed as package data
(``runner/examples``, see setup.cfg), so an installed user has them without a checkout.
A file that exists is never overwritten.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from runner import hookimpl
from runner.errors import UsageError

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from runner.plugins import PluginHost


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "init",
        help="copy the example specs into DIR/experiments/",
        description="Write runner's example specs into DIR/experiments/ (DIR defaults to "
        "the working folder), one per model and lesson; existing files are kept as they are.",
    )
    p.add_argument("dir", nargs="?", type=Path, default=Path(), metavar="DIR")
    p.set_defaults(func=init)


def examples() -> list[Traversable]:
    """The example spec files: installed package data, else the checkout's experiments/."""
    from importlib.resources import files

    folder: Traversable = files("runner").joinpath("examples")
    if not folder.is_dir():
        folder = Path(__file__).resolve().parents[2] / "experiments"
    found = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=str)
    if not found:
        raise UsageError("init: this installation has no example specs; reinstall runner")
    return found


def init(args: argparse.Namespace, host: PluginHost) -> int:
    target: Path = args.dir / "experiments"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"init: cannot create {target}: {exc.strerror}") from None
    written = kept = 0
    for example in examples():
        path = target / example.name
        try:
            with path.open("x", encoding="utf-8") as fh:
                fh.write(example.read_text("utf-8"))
        except FileExistsError:
            print(f"kept {path} (exists)")
            kept += 1
            continue
        except OSError as exc:
            raise UsageError(f"init: cannot write {path}: {exc.strerror}") from None
        print(f"wrote {path}")
        written += 1
    print(f"{written} written, {kept} kept; next: runner run {target / 'pool_async.yaml'}")
    return 0
