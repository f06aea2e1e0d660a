"""`runner schema` with plugins and typed matrices; `runner init` writes the examples."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from runner.testing import RunnerCli

ROOT = Path(__file__).resolve().parent.parent
EXT = ROOT / "tests" / "plugins" / "extmodel.py"
EXAMPLES = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))


def _schema(cli: RunnerCli, *args: str) -> dict:
    res = cli.run(*args)
    assert res.code == 0, res.stderr
    return json.loads(res.stdout)


def _valid(schema: dict, spec: dict) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(spec)


def test_schema_knows_the_models_of_p_plugins_and_of_a_specs_plugins(
    runner_cli: RunnerCli,
) -> None:
    square = {"model": "square", "params": {"n": 4}}
    assert not _valid(_schema(runner_cli, "schema"), square)
    assert _valid(_schema(runner_cli, "-p", str(EXT), "schema"), square)
    spec = runner_cli.write("sq.yaml", f"plugins: [{EXT}]\nmodel: square\n")
    schema = _schema(runner_cli, "schema", "--spec", str(spec))
    assert _valid(schema, square)
    assert not _valid(schema, {"model": "square", "params": {"n": "four"}})


def test_a_missing_spec_plugin_is_a_one_line_error(runner_cli: RunnerCli) -> None:
    spec = runner_cli.write("sq.yaml", "plugins: [nowhere.py]\nmodel: square\n")
    res = runner_cli.run("schema", "--spec", spec)
    assert res.code == 2
    assert res.stderr.strip().startswith(f"{spec}:1:11: plugins[0]: plugin file ")


@pytest.mark.parametrize(
    ("matrix", "valid"),
    [
        ({"workers": [1, 2, 4]}, True),
        ({"workers": ["two"]}, False),
        ({"workers": [0]}, False),  # below the param's minimum
        ({"mode": ["apply", "apply_async"]}, True),
        ({"mode": ["aply"]}, False),
        ({"workers": []}, False),
        ({"nope": [1]}, False),
    ],
)
def test_matrix_values_are_typed_per_param(
    runner_cli: RunnerCli, matrix: dict, valid: bool
) -> None:
    schema = _schema(runner_cli, "schema")
    assert _valid(schema, {"model": "pool", "matrix": matrix}) is valid
    spec = runner_cli.write("m.yaml", json.dumps({"model": "pool", "matrix": matrix}))
    assert (runner_cli.run("validate", spec).code == 0) is valid  # the schema agrees


def test_init_writes_the_examples_and_never_overwrites(runner_cli: RunnerCli) -> None:
    mine = runner_cli.write("lab/experiments/pool_async.yaml", "# mine\n")
    res = runner_cli.run("init", "lab")
    assert res.code == 0, res.stderr
    folder = runner_cli.path / "lab" / "experiments"
    assert sorted(p.name for p in folder.iterdir()) == EXAMPLES
    assert mine.read_text() == "# mine\n"
    assert f"kept {Path('lab/experiments/pool_async.yaml')} (exists)" in res.stdout
    for name in EXAMPLES:
        if name != "pool_async.yaml":
            assert (folder / name).read_text() == (ROOT / "experiments" / name).read_text()
    assert res.stdout.splitlines()[-1].startswith(f"{len(EXAMPLES) - 1} written, 1 kept")
    # What it wrote is valid as it stands.
    specs = [folder / n for n in EXAMPLES if n != "pool_async.yaml"]
    assert runner_cli.run("validate", *specs).code == 0
    again = runner_cli.run("init", "lab")
    assert again.stdout.splitlines()[-1].startswith(f"0 written, {len(EXAMPLES)} kept")


def test_init_defaults_to_the_working_folder(runner_cli: RunnerCli) -> None:
    assert runner_cli.run("init").code == 0
    assert sorted(p.name for p in (runner_cli.path / "experiments").iterdir()) == EXAMPLES


def test_init_into_a_file_is_a_usage_error(runner_cli: RunnerCli) -> None:
    runner_cli.write("lab", "a file\n")
    res = runner_cli.run("init", "lab")
    assert res.code == 2
    assert res.stderr.strip().startswith("runner: error: init: cannot create lab/experiments: ")
