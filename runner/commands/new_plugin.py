"""`runner new-plugin NAME`: scaffold an installable plugin package with one model.

The files come from ``runner/templates/plugin/`` (package data).  In their paths, the
segments ``PACKAGE`` and ``NAME`` become the package and model names, a leading ``dot-``
becomes ``.`` (so packaging keeps hidden files) and ``.tmpl`` is dropped; their text is a
``string.Template`` (``${name}``, ``${package}``, ...), because Python code is full of the
braces ``str.format`` would need doubled.
"""

from __future__ import annotations

import argparse
import keyword
import re
import shutil
import string
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from runner import DISTRIBUTION, __version__, hookimpl
from runner.errors import UsageError

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from runner.plugins import PluginHost

TEMPLATE = "templates/plugin"


@hookimpl
def runner_register_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "new-plugin",
        help="create a plugin package with one model, to start from",
        description="Create an installable plugin package: a model with a params schema and "
        "two metrics, its runner.plugins entry point, an example spec, a README and tests "
        "that pass as generated.  Nothing is overwritten.",
    )
    p.add_argument("name", help="the model's name, a Python identifier (e.g. pipe)")
    p.add_argument(
        "--dir", type=Path, metavar="DIR", help="folder to create (default: ./runner-NAME)"
    )
    p.set_defaults(func=new_plugin)


def new_plugin(args: argparse.Namespace, host: PluginHost) -> int:
    name: str = args.name
    check_name(name)
    models = host.models()
    if name in models:
        raise UsageError(
            f"new-plugin: a model named {name!r} already exists (plugin "
            f"{host.model_plugin(name)!r}); choose another name"
        )
    target: Path = args.dir or Path(f"runner-{name.replace('_', '-')}")
    written = scaffold(name, target)
    print(f"created {target}/ with the `{name}` model:")
    for path in written:
        print(f"  {path}")
    print("next:")
    print(f"  cd {target}")
    print("  python -m pip install -e .")
    print(f"  runner list {name}")
    print(f"  runner run experiments/{name}.yaml")
    print("  python -m pytest")
    return 0


def check_name(name: str) -> None:
    """Refuse a name that cannot be a model, package and class name all at once."""
    if name.isidentifier() and not keyword.iskeyword(name) and name.isascii():
        return
    fixed = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "my_model"
    if fixed[0].isdigit() or keyword.iskeyword(fixed):
        fixed = f"my_{fixed}"
    raise UsageError(
        f"new-plugin: {name!r} is not a valid name; use a Python identifier such as {fixed!r}"
    )


def names(name: str) -> dict[str, str]:
    """Every spelling of ``name`` the templates use."""
    return {
        "name": name,
        "package": f"runner_{name}",
        "dist": f"runner-{name.replace('_', '-')}",
        "cls": "".join(part[:1].upper() + part[1:] for part in name.split("_")) or "My",
        "runner_dist": DISTRIBUTION,
        "runner_version": __version__,
    }


def render(name: str) -> dict[Path, str]:
    """Relative path -> text of every file of the package for ``name``."""
    values = names(name)
    out: dict[Path, str] = {}
    for rel, source in _templates(files("runner").joinpath(TEMPLATE), Path()):
        parts = [_rename(part, values) for part in rel.parts]
        out[Path(*parts)] = string.Template(source.read_text("utf-8")).substitute(values)
    return dict(sorted(out.items()))


def _templates(folder: Traversable, rel: Path) -> list[tuple[Path, Traversable]]:
    found: list[tuple[Path, Traversable]] = []
    for entry in folder.iterdir():
        if entry.is_dir():
            found += _templates(entry, rel / entry.name)
        elif entry.name.endswith(".tmpl"):
            found.append((rel / entry.name, entry))
    return found


def _rename(part: str, values: dict[str, str]) -> str:
    part = part.removesuffix(".tmpl")
    if part.startswith("dot-"):
        part = "." + part[4:]
    return part.replace("PACKAGE", values["package"]).replace("NAME", values["name"])


def scaffold(name: str, target: Path) -> list[Path]:
    """Write the package for ``name`` into the new folder ``target``; never overwrite."""
    content = render(name)
    try:
        target.mkdir(parents=True)
    except FileExistsError:
        raise UsageError(
            f"new-plugin: {target} already exists; nothing was written (choose another --dir)"
        ) from None
    except OSError as exc:
        raise UsageError(f"new-plugin: cannot create {target}: {exc.strerror}") from None
    written: list[Path] = []
    try:
        for rel, text in content.items():
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as fh:
                fh.write(text)
            written.append(path)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # ours alone: it did not exist before
        raise
    return written
