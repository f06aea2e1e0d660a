"""Experiment specs: YAML -> validated Experiment -> expanded Trials.

Every error is one line, ``FILE:LINE:COL: key.path: what is wrong``.  Validation uses the
envelope (runner/envelope.py) and each model's own ``Params`` (msgspec, strict).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner import yamlsrc
from runner.envelope import Envelope, Expect, SpecFile
from runner.errors import SpecError
from runner.limits import DEFAULT_MAX_TRIALS
from runner.model import dump, field_names
from runner.specerrors import convert_spec, suggest

if TYPE_CHECKING:
    from runner.model import Model


@dataclasses.dataclass
class Trial:
    """One point of an experiment's matrix: full params, run in one worker."""

    id: str
    experiment: str
    model: str
    index: int
    params: dict[str, Any]
    swept: dict[str, Any]
    repeat: int
    warmup: int
    timeout: float
    spec: str
    max_memory: int | None = None  # bytes
    cpus: list[int] | None = None  # the CPUs its processes are pinned to; None: any

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Experiment:
    name: str
    description: str
    model: str
    params: dict[str, Any]
    matrix: dict[str, list[Any]]
    repeat: int
    warmup: int
    timeout: float
    expect: list[Expect]
    path: Path
    trials: list[Trial] = dataclasses.field(default_factory=list)
    regress: dict[str, float] = dataclasses.field(default_factory=dict)  # metric -> percent
    max_memory: int | None = None  # bytes
    cpus: list[int] | None = None

    @property
    def trial_count(self) -> int:
        return math.prod(len(v) for v in self.matrix.values())


def read(paths: Sequence[Path]) -> list[yamlsrc.Source]:
    """Read each spec file once: its plugins and its experiments come from this."""
    return [yamlsrc.load(path) for path in paths]


def spec_plugins(src: yamlsrc.Source) -> list[tuple[str, str]]:
    """The ``plugins:`` of a spec file, resolved against its folder, before validation.

    They must be loaded first: they may define the models the spec uses.  Each comes with
    the ``FILE:LINE:COL: key.path`` that names it, for errors.
    """
    path = src.path
    data = src.data if isinstance(src.data, dict) else {}
    found: list[tuple[Any, yamlsrc.Loc]] = [(data.get("plugins"), ("plugins",))]
    for i, exp in enumerate(data.get("experiments") or []):
        if isinstance(exp, dict):
            found.append((exp.get("plugins"), ("experiments", i, "plugins")))
    out: list[tuple[str, str]] = []
    for value, loc in found:
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise src.error(loc, "must be a list of plugin files or module names")
        for i, item in enumerate(value):
            out.append(
                (
                    _resolve_plugin(path, item),
                    f"{src.where((*loc, i))}: {yamlsrc.dotted((*loc, i))}",
                )
            )
    return out


def _resolve_plugin(spec: Path, item: str) -> str:
    if item.endswith(".py") or "/" in item:
        return str((spec.parent / item).resolve())
    return item


def _load_one(
    src: yamlsrc.Source, models: Mapping[str, Model], max_trials: int
) -> list[Experiment]:
    """Validate and expand one spec file."""
    path, data = src.path, src.data
    if not isinstance(data, dict):
        raise src.error((), "a spec is a mapping with at least `model:` (see `runner schema`)")
    items: list[tuple[yamlsrc.Loc, Any]]
    if "experiments" in data:
        top = _validate(src, (), SpecFile, data)
        items = [(("experiments", i), exp) for i, exp in enumerate(top.experiments)]
    else:
        items = [((), data)]
    experiments: list[Experiment] = []
    seen: dict[str, yamlsrc.Loc] = {}
    total = 0
    for loc, raw in items:
        if not isinstance(raw, dict):
            raise src.error(loc, "each experiment is a mapping")
        named = {"name": path.stem if not loc else f"{path.stem}_{loc[-1]}", **raw}
        env = _validate(src, loc, Envelope, named)
        if env.name in seen:
            raise src.error((*loc, "name"), f"experiment name {env.name!r} is used twice", True)
        seen[env.name] = loc
        model = _model(src, loc, models, env.model)
        exp = Experiment(
            env.name, env.description, env.model, env.params, env.matrix, env.repeat,
            env.warmup, env.timeout, env.expect, path, regress=dict(env.regress),
            max_memory=env.max_memory,  # type: ignore[arg-type]
            cpus=env.cpus,
        )  # fmt: skip
        total += exp.trial_count
        if total > max_trials:
            raise src.error(
                (*loc, "matrix"),
                f"{total:,} trials is above the limit of {max_trials:,}; "
                "shrink the matrix or pass --max-trials",
            )
        exp.trials = list(_expand(src, loc, exp, model))
        _check_expect(src, loc, exp, model)
        experiments.append(exp)
    return experiments


def _validate(src: yamlsrc.Source, loc: yamlsrc.Loc, schema: type[Any], data: Any) -> Any:
    return convert_spec(src, schema, data, lambda err_loc: (*loc, *err_loc))


def _model(src: yamlsrc.Source, loc: yamlsrc.Loc, models: Mapping[str, Model], name: str) -> Model:
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise src.error(
            (*loc, "model"),
            f"unknown model {name!r}{suggest(name, models)} (known: {known}; "
            "a plugin may be missing: see `runner list`)",
            value=True,
        )
    return models[name]


def _expand(
    src: yamlsrc.Source, loc: yamlsrc.Loc, exp: Experiment, model: Model
) -> Iterable[Trial]:
    keys = list(exp.matrix)
    fields = field_names(model.Params)
    for key in [*exp.params, *keys]:
        if key not in fields:
            where = (*loc, "matrix" if key in exp.matrix else "params", key)
            raise src.error(where, f"unknown param of model {model.name!r}{suggest(key, fields)}")
    combos = itertools.product(*(enumerate(exp.matrix[k]) for k in keys))
    for index, combo in enumerate(combos):
        swept = {k: v for k, (_, v) in zip(keys, combo, strict=False)}
        positions = {k: i for k, (i, _) in zip(keys, combo, strict=False)}

        def to_source(err_loc: tuple[Any, ...], _pos: dict[str, int] = positions) -> yamlsrc.Loc:
            if not err_loc:  # a check across params: where they are written
                return (*loc, "params" if exp.params or not _pos else "matrix")
            key = err_loc[0]
            if key in _pos:
                return (*loc, "matrix", key, _pos[key], *err_loc[1:])
            return (*loc, "params", *err_loc)

        params = convert_spec(src, model.Params, {**exp.params, **swept}, to_source)
        suffix = ",".join(f"{k}={_label(v)}" for k, v in swept.items())
        yield Trial(
            id=f"{exp.name}[{suffix}]" if suffix else exp.name,
            experiment=exp.name,
            model=exp.model,
            index=index,
            params=dump(params),
            swept=swept,
            repeat=exp.repeat,
            warmup=exp.warmup,
            timeout=exp.timeout,
            cpus=exp.cpus,
            spec=str(exp.path),
            max_memory=exp.max_memory,
        )


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _check_expect(src: yamlsrc.Source, loc: yamlsrc.Loc, exp: Experiment, model: Model) -> None:
    metrics = [m.name for m in model.metrics]
    fields = field_names(model.Params)
    for i, rule in enumerate(exp.expect):
        here = (*loc, "expect", i)
        if rule.metric not in metrics:
            hint = suggest(rule.metric, metrics)
            raise src.error(
                (*here, "metric"),
                f"model {model.name!r} has no metric {rule.metric!r}{hint}",
                value=True,
            )
        for key in rule.where:
            if key not in fields:
                raise src.error((*here, "where", key), f"unknown param{suggest(key, fields)}")
        if not any(matches(rule.where, t.params) for t in exp.trials):
            raise src.error((*here, "where"), "matches no trial of this experiment")
    directed = [m.name for m in model.metrics if m.higher_is_better is not None]
    for name in exp.regress:
        if name not in directed:
            known = ", ".join(directed) or "none"
            raise src.error(
                (*loc, "regress", name),
                f"model {model.name!r} has no metric {name!r} with a direction"
                f"{suggest(name, directed)} (metrics that can regress: {known})",
            )


def matches(where: dict[str, Any], params: dict[str, Any]) -> bool:
    """True when every ``where`` key equals the trial's param."""
    return all(params.get(k) == v for k, v in where.items())


def load(
    specs: Sequence[Path | yamlsrc.Source],
    models: Mapping[str, Model],
    max_trials: int = DEFAULT_MAX_TRIALS,
) -> list[Experiment]:
    """Validate and expand spec files (paths, or sources already read) against ``models``.

    The plugins the specs name must be loaded first (``spec_plugins``); experiment names
    must be unique across the files.
    """
    out: list[Experiment] = []
    names: dict[str, Path] = {}
    for item in specs:
        src = item if isinstance(item, yamlsrc.Source) else yamlsrc.load(item)
        path = src.path
        for exp in _load_one(src, models, max_trials - sum(len(e.trials) for e in out)):
            if exp.name in names:
                raise SpecError(f"{path}: experiment {exp.name!r} is also in {names[exp.name]}")
            names[exp.name] = path
            out.append(exp)
    return out
