"""Builds the plugin manager (built-ins, entry points, -p, spec plugins) and its typed facade."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from runner import hookspecs
from runner.errors import PluginError
from runner.modelcheck import check_hookimpls, import_failure

if TYPE_CHECKING:
    import argparse

    from runner.hookspecs import Executor
    from runner.model import Model
    from runner.results import RunRecord, SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial

# Built-in plugins, name -> module, in registration order.  They use the same hooks as
# third-party plugins; this and BUILTIN_MODELS are the only place the core names one.
# The models live in the repository's plugins/ folder, imported as runner.builtins
# (installed there by setup.cfg; in a checkout, runner/checkout.py maps it) so nothing can
# shadow them.  The executors' and the terminal's hooks are thin modules of their own: what
# they call is imported when a session starts, not by every command.
_COMMANDS = ("run", "validate", "show", "listing", "schema", "init", "new_plugin", "history",
             "compare", "export", "report", "plot")  # fmt: skip
BUILTIN_PLUGINS: dict[str, str] = {
    "executors": "runner.executors",
    "terminal": "runner.report",
    "jsonfile": "runner.report.jsonfile",
    "store": "runner.recorder",
    "environment": "runner.environment",
    **{name: f"runner.commands.{name}" for name in _COMMANDS},
    "serve": "runner.builtins.net.serve",
}
# Built-in plugins that only define models, each module named for its model: imported when
# that model is first asked for by name, or all at once by a listing, so a command imports
# only the models it uses.
BUILTIN_MODELS: tuple[str, ...] = (
    "runner.builtins.thread",
    "runner.builtins.pool",
    "runner.builtins.udp",
    "runner.builtins.tcp",
    "runner.builtins.process",
    "runner.builtins.queue",
    "runner.builtins.coroutine",
)

ENTRY_POINT_GROUP = "runner.plugins"
AUTOLOAD_ENV = "RUNNER_DISABLE_PLUGIN_AUTOLOAD"


@dataclasses.dataclass
class PluginConfig:
    """Which plugins to load; sent to workers so they load exactly the same set."""

    extra: list[str] = dataclasses.field(default_factory=list)  # -p NAME, spec plugins
    blocked: list[str] = dataclasses.field(default_factory=list)  # -p no:NAME
    autoload: bool = True  # third-party entry points
    trace: bool = False

    @classmethod
    def from_args(cls, values: Sequence[str], trace: bool = False) -> PluginConfig:
        cfg = cls(autoload=not os.environ.get(AUTOLOAD_ENV), trace=trace)
        for value in values:
            if value.startswith("no:"):
                cfg.blocked.append(value[3:])
            else:
                cfg.extra.append(str(Path(value).resolve()) if _is_path(value) else value)
        return cfg


@dataclasses.dataclass
class PluginInfo:
    name: str
    source: str  # built-in, entry point DIST VERSION, -p, spec
    version: str
    hooks: list[str]


def _is_path(value: str) -> bool:
    return value.endswith(".py") or os.sep in value


class PluginHost:
    """The plugin manager with one typed method per hook, so the core's calls are checked."""

    def __init__(self, config: PluginConfig | None = None) -> None:
        self.config = config or PluginConfig()
        self.pm = pluggy.PluginManager("runner")
        self.pm.add_hookspecs(hookspecs)
        self.sources: dict[str, str] = {}
        self._models: dict[str, Model] | None = None
        self._pending: list[str] = []  # BUILTIN_MODELS not imported yet
        self._model_plugin: dict[str, str] = {}
        for name in self.config.blocked:
            self.pm.set_blocked(name)
        if self.config.trace:
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    # -- loading -------------------------------------------------------------------------

    def load_defaults(self) -> PluginHost:
        for name, module in BUILTIN_PLUGINS.items():
            self._load_module(module, name, "built-in")
        self._pending = list(BUILTIN_MODELS)
        pending = {_basename(module) for module in self._pending}
        if self.config.autoload:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if self.pm.is_blocked(ep.name):
                    continue
                if self.pm.has_plugin(ep.name) or ep.name in pending:
                    dist = f" of {ep.dist.name}" if ep.dist else ""
                    taken = (
                        "built-in" if ep.name in pending else self.sources.get(ep.name, "loaded")
                    )
                    raise PluginError(
                        f"plugin {ep.name!r} (entry point {ep.value}{dist}) has the name of "
                        f"the {taken} plugin {ep.name!r}; rename the entry point, or block it "
                        f"with -p no:{ep.name}"
                    )
                try:
                    plugin = ep.load()
                except Exception as exc:
                    raise PluginError(
                        f"plugin {ep.name!r} ({ep.value}): {import_failure(exc)}"
                    ) from exc
                dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "?"
                self.register(plugin, ep.name, f"entry point ({dist})")
        for item in self.config.extra:
            self.load(item, "-p")
        return self

    def load(self, item: str, source: str) -> None:
        """Load a plugin by module name or ``.py`` file path (idempotent)."""
        if item in self.config.blocked or self.pm.has_plugin(item):
            return
        if _is_path(item):
            self._load_file(Path(item), source)
        else:
            self._load_module(item, item, source)
        if item not in self.config.extra:
            self.config.extra.append(item)
        self._models = None

    def _load_module(self, module: str, name: str, source: str) -> None:
        if self.pm.is_blocked(name) or self.pm.is_blocked(module):
            return
        try:
            plugin = importlib.import_module(module)
        except Exception as exc:
            raise PluginError(f"plugin {module!r}: {import_failure(exc)}") from exc
        if self.pm.is_registered(plugin):  # e.g. `-p pkg.mod` of an autoloaded entry point
            return
        self.register(plugin, name if source == "built-in" else module, source)

    def _load_pending(self, names: Collection[str] | None = None) -> None:
        """Import the built-in models' modules (those of ``names`` only, if given), once.

        A built-in model's module is named for its model, so a spec that uses ``pool``
        imports runner.builtins.pool alone.
        """
        wanted = [m for m in self._pending if names is None or _basename(m) in names]
        self._pending = [m for m in self._pending if m not in wanted]
        for module in wanted:
            self._load_module(module, _basename(module), "built-in")

    def _load_file(self, path: Path, source: str) -> None:
        if not path.is_file():
            raise PluginError(f"plugin file {path}: not found")
        modname = f"runner_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(modname, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Registered in sys.modules so its functions pickle for process pools.
        sys.modules[modname] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[modname]
            raise PluginError(f"plugin file {path}: {import_failure(exc)}") from exc
        self.register(module, str(path), source)

    def register(self, plugin: object, name: str, source: str = "session") -> None:
        """Register ``plugin`` (a module or an object with hook methods) as ``name``.

        Its hooks are checked first, as every plugin's are: an unknown hook, a wrong
        argument or a name already taken is a one-line ``PluginError``.  Objects a plugin
        registers for one session (a reporter with state) come through here too.
        """
        if self.pm.has_plugin(name):
            raise PluginError(
                f"plugin {name!r}: the name is taken by the {self.sources.get(name, '?')} "
                f"plugin {name!r}; choose another name"
            )
        check_hookimpls(plugin, name, self.pm)
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            # check_hookimpls has explained the usual causes; this is pluggy's own word.
            raise PluginError(f"plugin {name!r}: {' '.join(str(exc).split())}") from exc
        except ValueError as exc:
            raise PluginError(f"plugin {name!r}: {exc}") from exc
        self.sources[name] = source
        if hasattr(plugin, "runner_models"):
            self._models = None

    def unregister(self, plugin: object) -> None:
        """Remove a plugin registered with :meth:`register`; unknown plugins are ignored."""
        if self.pm.is_registered(plugin):
            name = self.pm.get_name(plugin)
            self.pm.unregister(plugin)
            self.sources.pop(name or "", None)
            if hasattr(plugin, "runner_models"):
                self._models = None

    # -- models --------------------------------------------------------------------------

    def models(self) -> Mapping[str, Model]:
        """Every model by name; two plugins defining one name is an error naming both.

        A look-up by name imports only the built-in model it needs; iterating imports them
        all.
        """
        return _Models(self)

    def import_models(self) -> None:
        """Import and check every model now: a worker does it once, before it forks."""
        self._model_table()

    def _model_table(self, names: Collection[str] | None = None) -> dict[str, Model]:
        """The models of the plugins loaded, after importing the built-ins of ``names``
        (all when None)."""
        self._load_pending(names)
        if self._models is None:
            from runner.modelcheck import check_model

            models: dict[str, Model] = {}
            owner: dict[str, str] = {}
            for plugin_name, found in self._each_result("runner_models"):
                if hasattr(found, "run") or not isinstance(found, Iterable):
                    raise PluginError(
                        f"plugin {plugin_name!r}: runner_models() returned "
                        f"{type(found).__name__}; return a list of models, e.g. [MyModel()]"
                    )
                for model in found:
                    # Built-ins are checked in full by their tests, not at every start-up.
                    deep = self.sources.get(plugin_name) != "built-in"
                    check_model(model, plugin_name, deep=deep)
                    if model.name in models:
                        raise PluginError(
                            f"model {model.name!r} is defined by two plugins: "
                            f"{owner[model.name]!r} and {plugin_name!r}; "
                            "block one with -p no:NAME"
                        )
                    models[model.name] = model
                    owner[model.name] = plugin_name
            self._models, self._model_plugin = models, owner
            # A plugin's model with the name of a built-in not imported yet: import it, so
            # that the clash is an error now, whichever model the command needs.
            taken = {_basename(m) for m in self._pending} & set(models)
            if taken:
                return self._model_table(taken | set(names or ()))
        return self._models

    def _each_result(self, hook: str) -> Iterable[tuple[str, Any]]:
        """Call ``hook`` on each plugin alone, through pluggy's hook caller (so that
        ``--trace-hooks`` shows it), and yield which plugin answered what."""
        caller = getattr(self.pm.hook, hook)
        impls = caller.get_hookimpls()  # registration order
        plugins = [impl.plugin for impl in impls]
        # Built-ins first, as registered before their lazy import: a clash names them first.
        impls.sort(key=lambda impl: self.sources.get(impl.plugin_name) != "built-in")
        for impl in impls:
            others = [p for p in plugins if p is not impl.plugin]
            for answer in self.pm.subset_hook_caller(hook, remove_plugins=others)():
                yield impl.plugin_name, answer

    def model_plugin(self, model: str) -> str:
        self._model_table({model})
        return self._model_plugin[model]

    def info(self) -> list[PluginInfo]:
        self._load_pending()
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or ())
            source = self.sources.get(name, "?")
            out.append(PluginInfo(name, source, _version(plugin, source), hooks))
        return out

    def blame(self, exc: BaseException) -> str | None:
        """``'NAME' (FILE:LINE)`` of the plugin whose code raised ``exc`` last, if any.

        A hook call does not say which implementation raised, the traceback does.
        """
        import traceback

        files: dict[str, str] = {}
        for name, plugin in self.pm.list_name_plugin():
            if self.sources.get(name) == "built-in":
                continue  # a built-in's failure is runner's own: an internal error
            module = plugin if isinstance(plugin, types.ModuleType) else None
            module = module or sys.modules.get(type(plugin).__module__)
            path = getattr(module, "__file__", None)
            if path:
                files[str(Path(path).resolve())] = name
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            culprit = files.get(str(Path(frame.filename).resolve()))
            if culprit is not None:
                return f"{culprit!r} ({frame.filename}:{frame.lineno})"
        return None

    # -- typed hook calls ----------------------------------------------------------------

    def register_commands(self, subparsers: argparse._SubParsersAction) -> None:
        self.pm.hook.runner_register_commands(subparsers=subparsers)

    def session_start(self, session: Session) -> None:
        self.pm.hook.runner_session_start(session=session)

    def trial_start(self, session: Session, trial: Trial) -> None:
        self.pm.hook.runner_trial_start(session=session, trial=trial)

    def run_done(self, session: Session, trial: Trial, record: RunRecord) -> None:
        self.pm.hook.runner_run_done(session=session, trial=trial, record=record)

    def trial_done(self, session: Session, trial: Trial, result: TrialResult) -> None:
        self.pm.hook.runner_trial_done(session=session, trial=trial, result=result)

    def session_finish(self, session: Session, result: SessionResult) -> None:
        self.pm.hook.runner_session_finish(session=session, result=result)

    def make_executor(self, name: str, session: Session) -> Executor:
        executor: Executor | None = self.pm.hook.runner_make_executor(name=name, session=session)
        if executor is None:
            raise PluginError(f"no executor named {name!r}; a plugin may be missing")
        return executor


class _Models(Mapping[str, "Model"]):
    """The host's models, importing a built-in model's module when it is first asked for."""

    def __init__(self, host: PluginHost) -> None:
        self._host = host

    def __getitem__(self, name: str) -> Model:
        return self._host._model_table({name})[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._host._model_table())

    def __len__(self) -> int:
        return len(self._host._model_table())


def _basename(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def _version(plugin: object, source: str) -> str:
    """The plugin's ``__version__``, else its distribution's; built-ins have runner's."""
    if source == "built-in":
        from runner import __version__

        return __version__
    version = getattr(plugin, "__version__", None)
    if version:
        return str(version)
    if source.startswith("entry point ("):
        return source.rsplit(" ", 1)[-1].rstrip(")")
    top = str(getattr(plugin, "__name__", "")).split(".")[0]
    from importlib.metadata import packages_distributions
    from importlib.metadata import version as dist_version

    for dist in packages_distributions().get(top, ()):
        return dist_version(dist)
    return ""


def build(config: PluginConfig | None = None) -> PluginHost:
    """A PluginHost with built-ins, entry points and ``config.extra`` loaded and checked."""
    return PluginHost(config).load_defaults()
