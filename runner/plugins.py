"""Builds the plugin manager (built-ins, entry points, -p, spec plugins) and its typed facade."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from runner import hookspecs
from runner.errors import PluginError

if TYPE_CHECKING:
    import argparse

    from runner.model import Model
    from runner.results import RunRecord, SessionResult, TrialResult
    from runner.session import Session
    from runner.spec import Trial

# Built-in plugins, by module name, in registration order.  They use the same hooks as
# third-party plugins; this tuple is the only place the core names a model.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "runner.executors.local",
    "runner.report.terminal",
    "runner.report.jsonfile",
    "runner.commands.run",
    "runner.commands.validate",
    "runner.commands.show",
    "runner.commands.listing",
    "runner.commands.schema",
    "plugins.thread",
    "plugins.pool",
    "plugins.process",
    "plugins.queue",
    "plugins.coroutine",
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
        self._model_plugin: dict[str, str] = {}
        for name in self.config.blocked:
            self.pm.set_blocked(name)
        if self.config.trace:
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()

    # -- loading -------------------------------------------------------------------------

    def load_defaults(self) -> PluginHost:
        for module in BUILTIN_PLUGINS:
            self._load_module(module, module.rsplit(".", 1)[-1], "built-in")
        if self.config.autoload:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                if self.pm.is_blocked(ep.name) or self.pm.has_plugin(ep.name):
                    continue
                try:
                    plugin = ep.load()
                except Exception as exc:
                    raise PluginError(f"plugin {ep.name!r} ({ep.value}): cannot import: {exc}") from exc
                dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "?"
                self._register(plugin, ep.name, f"entry point ({dist})")
        for item in self.config.extra:
            self.load(item, "-p")
        self.check()
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
            raise PluginError(f"plugin {module!r}: cannot import: {type(exc).__name__}: {exc}") from exc
        self._register(plugin, name if source == "built-in" else module, source)

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
            raise PluginError(f"plugin file {path}: cannot import: {type(exc).__name__}: {exc}") from exc
        self._register(module, str(path), source)

    def _register(self, plugin: object, name: str, source: str) -> None:
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name!r}: {exc}") from exc
        except ValueError as exc:
            raise PluginError(f"plugin {name!r}: {exc}") from exc
        self.sources[name] = source

    def check(self) -> None:
        """Refuse hook implementations that match no hook (typos), naming the plugin."""
        known = [n for n in dir(hookspecs) if n.startswith("runner_")]
        for hook_name in self.pm.hook.__dict__:
            caller = getattr(self.pm.hook, hook_name)
            if not hook_name.startswith("runner_") or caller.spec is not None:
                continue
            plugins = ", ".join(sorted(i.plugin_name for i in caller.get_hookimpls()))
            close = difflib.get_close_matches(hook_name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise PluginError(f"plugin {plugins!r}: unknown hook {hook_name!r}{hint}")

    # -- models --------------------------------------------------------------------------

    def models(self) -> Mapping[str, Model]:
        """Every model by name; two plugins defining one name is an error naming both."""
        if self._models is None:
            from runner.modelcheck import check_model

            models: dict[str, Model] = {}
            owner: dict[str, str] = {}
            for impl in reversed(self.pm.hook.runner_models.get_hookimpls()):
                for model in impl.function() or ():
                    check_model(model, impl.plugin_name)
                    if model.name in models:
                        raise PluginError(
                            f"model {model.name!r} is defined by two plugins: "
                            f"{owner[model.name]!r} and {impl.plugin_name!r}; block one with -p no:NAME"
                        )
                    models[model.name] = model
                    owner[model.name] = impl.plugin_name
            self._models, self._model_plugin = models, owner
        return self._models

    def model_plugin(self, model: str) -> str:
        self.models()
        return self._model_plugin[model]

    def info(self) -> list[PluginInfo]:
        out = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or ())
            version = str(getattr(plugin, "__version__", "") or "")
            source = self.sources.get(name, "?")
            if source.startswith("entry point ("):
                version = version or source.rsplit(" ", 1)[-1].rstrip(")")
            out.append(PluginInfo(name, source, version, hooks))
        return out

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

    def make_executor(self, name: str, session: Session) -> Any:
        executor = self.pm.hook.runner_make_executor(name=name, session=session)
        if executor is None:
            raise PluginError(f"no executor named {name!r}; a plugin may be missing")
        return executor


def build(config: PluginConfig | None = None) -> PluginHost:
    """A PluginHost with built-ins, entry points and ``config.extra`` loaded and checked."""
    return PluginHost(config).load_defaults()
