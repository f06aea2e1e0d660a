"""Specs are YAML 1.2, as editors read them, with every safety guarantee kept."""

from __future__ import annotations

import json

import pytest

from runner.testing import RunnerCli

POOL = "model: pool\nrepeat: 1\nwarmup: 0\n"


def _show(cli: RunnerCli, text: str) -> list[dict]:
    spec = cli.write("spec.yaml", text)
    res = cli.run("show", spec, "--json")
    assert res.code == 0, res.stderr
    return json.loads(res.stdout)


def _error(cli: RunnerCli, text: str) -> str:
    spec = cli.write("bad.yaml", text)
    res = cli.run("validate", spec)
    assert res.code == 2, res.stdout
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"{spec}:"), line
    return line[len(f"{spec}:") :]


def test_a_merge_key_with_overrides(runner_cli: RunnerCli) -> None:
    trials = _show(
        runner_cli,
        """\
        experiments:
          - &base
            name: first
            model: pool
            params: {workers: 2, tasks: 4, task: sleep, task_seconds: 0.01}
            repeat: 1
          - <<: *base
            name: second
            params: {workers: 3, tasks: 5, task: sleep, task_seconds: 1e-3}
        """,
    )
    by_exp = {t["experiment"]: t for t in trials}
    assert by_exp["first"]["params"]["workers"] == 2
    assert by_exp["second"]["params"]["workers"] == 3
    assert by_exp["second"]["params"]["task_seconds"] == 0.001  # 1e-3: a number in YAML 1.2
    assert by_exp["second"]["repeat"] == 1  # merged, not overridden


def test_yaml_1_2_scalars(runner_cli: RunnerCli) -> None:
    trials = _show(
        runner_cli,
        POOL + "description: yes\nparams: {tasks: 010, task: sleep, task_seconds: 1e-2}\n",
    )
    assert trials[0]["params"]["tasks"] == 10  # not octal
    assert trials[0]["params"]["task_seconds"] == 0.01
    spec = runner_cli.write("d.yaml", POOL + "description: yes\n")
    res = runner_cli.run("show", spec)
    assert "  yes" in res.stdout.splitlines()  # `yes` stays a string
    spec = runner_cli.write("n.yaml", POOL + "description: 2026-12-01\n")
    assert runner_cli.run("validate", spec).code == 0  # a date is a string too


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (POOL + "params: {tasks: 1e3}\n", "4:17: params.tasks: Expected `int`"),
        (POOL + "params: {tasks: on}\n", "4:17: params.tasks: Expected `int`"),
        (
            "experiments:\n  - &b {model: pool, name: a}\n  - <<: *b\n    name: b\n    name: c\n",
            "5:5: experiments[1].name: duplicate key (first at line 4)",
        ),
        (
            "experiments:\n  - &b {model: pool, name: a}\n  - <<: *b\n    name: b\n"
            "    params: {workers: true}\n",
            "5:23: experiments[1].params.workers: Expected `int`",
        ),
        (POOL + "<<: [1]\n", "4:6: (top): `<<` merges mappings (or a list of them)"),
        (POOL + "matrix: !!set {a: null}\n", "4:9: invalid YAML: the tag 'tag:yaml.org,2002:set'"),
        (POOL + "x: !custom 1\n", "4:4: invalid YAML: the tag '!custom' is not allowed in a spec"),
        (POOL + "? [a, b]\n: 1\n", "4:3: (top): keys must be plain strings"),
        (POOL + "---\nmodel: pool\n", "invalid YAML: expected a single document"),
    ],
)
def test_bad_yaml_is_one_line_with_its_position(
    runner_cli: RunnerCli, text: str, error: str
) -> None:
    assert error in _error(runner_cli, text)


@pytest.mark.parametrize("levels", [100, 5000])
def test_deep_nesting_is_refused_where_it_goes_too_deep(runner_cli: RunnerCli, levels: int) -> None:
    # 5,000 levels exhaust the composer's recursion; 100 reach the builder's own bound.
    text = "model: pool\nparams: {a: " + "[" * levels + "]" * levels + "}\n"
    assert _error(runner_cli, text) == "2:112: more than 100 levels of nesting"
    text = "model: pool\nmatrix: {a: " + "[" * 90 + "]" * 90 + "}\n"
    assert "levels of nesting" not in _error(runner_cli, text)
