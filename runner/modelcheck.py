"""Checks that turn a plugin author's mistake into one line naming plugin, model and fix.

Hook implementations are checked when a plugin is registered, models when they are first
collected, and what ``run()`` returns after every run in the worker.  pluggy alone would
accept some of these mistakes silently (an argument with a default is never passed, a
hook function without ``@hookimpl`` is never called) or explain them over several lines.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
import sys  # difflib, sysconfig, traceback: imported by the errors that need them
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import hookspecs
from runner.errors import ModelError, PluginError

if TYPE_CHECKING:
    import pluggy

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
HOOKS = tuple(n for n in dir(hookspecs) if n.startswith("runner_"))

# Which plugin defined each checked model, so errors found later in the same process (a
# bad metric from run(), in the worker) can name it.  Keyed by id: models may be unhashable.
_OWNERS: dict[int, str] = {}


def check_model(model: Any, plugin: str, deep: bool = True) -> None:
    """Raise PluginError if ``model`` lacks what the core needs.

    ``deep`` also builds the params schema and validates the defaults, the costly part.
    """
    from runner.model import Params

    if isinstance(model, type):
        raise PluginError(
            f"plugin {plugin!r}: runner_models() returned the class {model.__name__}; "
            f"return an instance: {model.__name__}()"
        )
    name = getattr(model, "name", None)
    where = f"plugin {plugin!r}, model {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(f"{where}: `name` must be an identifier (letters, digits, _ . -)")
    if not isinstance(getattr(model, "description", None), str):
        raise PluginError(f"{where}: `description` must be a one-line string")
    params = getattr(model, "Params", None)
    if not (isinstance(params, type) and issubclass(params, Params)):
        raise PluginError(f"{where}: `Params` must be a class that subclasses runner.Params")
    if deep:
        import msgspec

        from runner.model import field_defaults, json_schema_hook

        defaults = field_defaults(params)
        _check_not_pydantic(params, defaults, where)
        try:
            msgspec.json.schema(params, schema_hook=json_schema_hook)
        except Exception as exc:
            # msgspec's last line names the type: "type <class 'socket.socket'> is not ..."
            problem = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
            raise PluginError(
                f"{where}: params schema cannot be built: {problem}; give each field a type "
                "specs can hold (bool, int, float, str, Literal[...], lists of those), or a "
                "class with `parse` and `json_schema` (see runner.affinity.CpuSet)"
            ) from exc
        _check_defaults(params, defaults, where)
    _check_metrics_declared(getattr(model, "metrics", None), where)
    for method, args in (("run", 2), ("setup", 2), ("teardown", 2), ("prelude", 1)):
        _check_method(model, method, args, where)
    _OWNERS[id(model)] = plugin


def _check_not_pydantic(params: type, defaults: dict[str, Any], where: str) -> None:
    # Params were pydantic models before 0.2; a field written the old way would be taken
    # for its default, and a validator never called.
    for name, value in {**vars(params), **defaults}.items():
        if type(value).__module__.split(".")[0] == "pydantic":
            raise PluginError(
                f"{where}: {name!r} is a pydantic {type(value).__name__}; params are msgspec "
                "structs now: write "
                "`name: Annotated[int, msgspec.Meta(ge=1, description=...)] = default`, and "
                "checks across fields in __post_init__ (docs/writing-plugins.md)"
            )


def _check_defaults(params: type, defaults: dict[str, Any], where: str) -> None:
    # A bad default fails every spec that leaves the field out, blaming the spec's author.
    import msgspec

    from runner.model import convert, field_names

    if len(defaults) < len(field_names(params)):  # a required field: defaults alone fail
        return
    try:  # msgspec trusts defaults; give them to it as a spec would
        convert(params, msgspec.to_builtins(defaults))
    except (msgspec.ValidationError, TypeError) as exc:
        msg, _, at = str(exc).partition(" - at `$.")
        field = at.rstrip("`") or "(all)"
        raise PluginError(
            f"{where}: the default of param {field!r} is invalid: {msg}; fix the default"
        ) from None


def _check_metrics_declared(metrics: Any, where: str) -> None:
    from runner.model import Metric

    if not metrics or not all(isinstance(m, Metric) for m in metrics):
        raise PluginError(f"{where}: `metrics` must be a non-empty sequence of runner.Metric")
    names = [m.name for m in metrics]
    for m in metrics:
        if not isinstance(m.name, str) or not _NAME.match(m.name):
            raise PluginError(f"{where}: metric name {m.name!r} must be an identifier")
        if names.count(m.name) > 1:
            raise PluginError(f"{where}: metric {m.name!r} appears twice in `metrics`")
        if not isinstance(m.unit, str):
            raise PluginError(f"{where}: metric {m.name!r}: `unit` must be a string ('' for none)")
        if m.higher_is_better not in (True, False, None):
            raise PluginError(
                f"{where}: metric {m.name!r}: `higher_is_better` must be True, False or None"
            )


def _check_method(model: Any, method: str, args: int, where: str) -> None:
    func = getattr(model, method, None)
    shape = "(params, ctx)" if args == 2 else "(params)"
    if not callable(func):
        raise PluginError(
            f"{where}: `{method}{shape}` is missing; subclass runner.Model to get the defaults"
        )
    try:
        inspect.signature(func).bind(*([None] * args))
    except TypeError:
        raise PluginError(f"{where}: `{method}` must take {shape}") from None
    except ValueError:  # no signature (a builtin): trust it
        pass


def check_metrics(model: Any, values: Any) -> dict[str, float]:
    """Validate what ``run()`` returned; raise ModelError naming the offending metric."""
    plugin = _OWNERS.get(id(model))
    who = f"plugin {plugin!r}, model {model.name!r}" if plugin else f"model {model.name!r}"
    if not isinstance(values, Mapping):
        raise ModelError(
            f"{who}: run() returned {type(values).__name__}; return a dict of metric values"
        )
    declared = {m.name for m in model.metrics}
    out: dict[str, float] = {}
    for key, value in values.items():
        if key not in declared:
            raise ModelError(
                f"{who}: run() returned undeclared metric {key!r}; "
                f"add Metric({key!r}, ...) to `metrics` (declared: {', '.join(sorted(declared))})"
            )
        # numbers.Real takes numpy scalars too; bool is an int but never a measurement.
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ModelError(
                f"{who}: metric {key!r} is {type(value).__name__} {_short(value)}, not a number; "
                "return an int or a float"
            )
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an int no float can hold: results could not store it
            digits = int(int(value).bit_length() * math.log10(2)) + 1  # type: ignore[call-overload]
            raise ModelError(
                f"{who}: metric {key!r} is an integer of about {digits} digits, beyond the "
                "largest number results hold (about 1.8e308); return it in a larger unit"
            ) from None
        if not finite:
            raise ModelError(f"{who}: metric {key!r} is {value}, not a finite number")
        out[key] = int(value) if isinstance(value, numbers.Integral) else float(value)
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


def _first_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


# -- hook implementations ------------------------------------------------------------------


def check_hookimpls(plugin: object, name: str, pm: pluggy.PluginManager) -> None:
    """Raise PluginError for a hook implementation pluggy would misuse or explain at length."""
    for attr in dir(plugin):
        if attr.startswith("__"):
            continue
        opts = pm.parse_hookimpl_opts(plugin, attr)
        func = getattr(plugin, attr, None)
        if opts is None:
            if attr in HOOKS and inspect.isroutine(func):
                raise PluginError(
                    f"plugin {name!r}: {attr}() is not marked as a hook, so it is never "
                    "called; decorate it with @runner.hookimpl"
                )
            continue
        hook = opts.get("specname") or attr
        if hook not in HOOKS:
            import difflib

            close = difflib.get_close_matches(hook, HOOKS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see `runner list --plugins`"
            raise PluginError(f"plugin {name!r}: unknown hook {hook!r}; {hint}")
        _check_arguments(name, hook, func)


def _check_arguments(plugin: str, hook: str, func: Any) -> None:
    offered = list(inspect.signature(getattr(hookspecs, hook)).parameters)
    where = f"plugin {plugin!r}: {hook}()"
    for arg in inspect.signature(func).parameters.values():
        if arg.kind in (arg.VAR_POSITIONAL, arg.VAR_KEYWORD):
            raise PluginError(
                f"{where}: *{arg.name} is never filled; name the arguments it needs "
                f"(any of: {', '.join(offered) or 'none'})"
            )
        if arg.name not in offered:
            import difflib

            close = difflib.get_close_matches(arg.name, offered, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise PluginError(
                f"{where}: no argument {arg.name!r}; {hint}"
                f"(it offers: {', '.join(offered) or 'none'})"
            )
        if arg.default is not arg.empty or arg.kind is arg.KEYWORD_ONLY:
            raise PluginError(
                f"{where}: argument {arg.name!r} is never passed when it has a default or "
                "follows *; make it a plain argument"
            )


def import_failure(exc: BaseException) -> str:
    """``cannot import (FILE:LINE): Error: first line`` for a plugin that failed to import."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"cannot import ({_show_path(exc.filename)}:{exc.lineno}): SyntaxError: {exc.msg}"
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    library = _library_dirs()
    runner_dir = str(Path(__file__).parent) + "/"
    # The plugin's own line first; runner's only when the failing plugin is a built-in.
    mine = [f for f in frames if not f.filename.startswith((*library, runner_dir))]
    ours = [f for f in frames if not f.filename.startswith(library)]
    where = ""
    for frame in (mine or ours)[-1:]:
        where = f" ({_show_path(frame.filename)}:{frame.lineno})"
    return f"cannot import{where}: {type(exc).__name__}: {_first_line(exc)}"


def _library_dirs() -> tuple[str, ...]:
    # Frames in these are how an error surfaced, not where the plugin author must look.
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = {paths["stdlib"], paths["platstdlib"]}
    for module in ("msgspec", "pluggy", "yaml", "typing_extensions"):
        file = getattr(sys.modules.get(module), "__file__", None)
        if file:
            dirs.add(str(Path(file).parent))
    return tuple(d.rstrip("/") + "/" for d in dirs)


def _show_path(filename: str) -> str:
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
