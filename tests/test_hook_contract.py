"""Tests that keep the plugin contract honest: every hook documented, called and tested,
and every model shown by an example spec."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
from pathlib import Path

import yaml

from runner import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "writing-plugins.md"
EVERY_HOOK = ROOT / "tests" / "plugins" / "pw_every_hook.py"
HOOKS = [name for name in vars(hookspecs) if name.startswith("runner_")]  # declaration order


def _doc_sections() -> dict[str, str]:
    """``### runner_*`` heading -> the text up to the next heading."""
    parts = re.split(r"^(#{2,3} .*)$", DOC.read_text(), flags=re.M)
    return {
        head[4:].strip(): body
        for head, body in zip(parts[1::2], parts[2::2], strict=True)
        if head.startswith("### runner_")
    }


def test_the_contract_declares_hooks() -> None:
    assert {"runner_models", "runner_session_start", "runner_trial_done"} <= set(HOOKS)


def test_hook_names_follow_the_rule_the_contract_states() -> None:
    lifecycle = re.compile(r"^runner_(session|trial|run)_(start|done|finish)$")
    giving = [h for h in HOOKS if not lifecycle.match(h)]
    doc = hookspecs.__doc__ or ""
    assert all(f"``{h}``" in doc for h in giving), (
        f"name these in the contract's docstring: {giving}"
    )
    assert len(giving) == 3 and "three" in doc


def test_every_hook_is_documented_in_writing_plugins() -> None:
    sections = _doc_sections()
    missing = [h for h in HOOKS if h not in sections]
    assert not missing, f"hooks with no '### NAME' section in {DOC.name}: {missing}"
    stale = [h for h in sections if h not in HOOKS]
    assert not stale, f"{DOC.name} documents hooks that do not exist: {stale}"
    for hook in HOOKS:
        args = list(inspect.signature(getattr(hookspecs, hook)).parameters)
        signature = f"`{hook}({', '.join(args)})"
        assert signature in sections[hook], f"{DOC.name}: {hook} should show {signature}`"


def test_every_hookspec_docstring_names_each_argument() -> None:
    for hook in HOOKS:
        spec = getattr(hookspecs, hook)
        doc = inspect.getdoc(spec) or ""
        assert doc.split("\n")[0].strip(), f"{hook} has no docstring"
        for arg in inspect.signature(spec).parameters:
            assert f":param {arg}:" in doc, f"{hook}'s docstring lacks ':param {arg}:'"


def test_the_every_hook_plugin_implements_every_hook() -> None:
    text = EVERY_HOOK.read_text()
    implemented = re.findall(r"^@hookimpl\ndef (runner_\w+)\(", text, flags=re.M)
    missing = [h for h in HOOKS if h not in implemented]
    assert not missing, f"add these hooks to {EVERY_HOOK.name} so a test calls them: {missing}"


def test_every_hook_is_called(runner_cli) -> None:
    log = runner_cli.path / "hooks.jsonl"
    runner_cli.env["PW_HOOK_LOG"] = str(log)
    spec = (
        "name: every\nmodel: thread\nparams: {workload: sleep, threads: 2, task_seconds: 0.01}\n"
        "matrix: {tasks: [1, 2]}\nrepeat: 2\nwarmup: 1\n"
    )
    res = runner_cli.run_spec(spec, "-p", str(EVERY_HOOK), "--no-db")
    assert res.code == 0, res.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    called = {c["hook"] for c in calls}
    assert not set(HOOKS) - called, f"hooks never called by `runner run`: {set(HOOKS) - called}"

    cli_pid = next(c["pid"] for c in calls if c["hook"] == "runner_session_start")
    # Models are collected in the CLI and again in the worker; every other hook in the CLI.
    assert {c["pid"] for c in calls if c["hook"] == "runner_models"} - {cli_pid}
    assert {c["pid"] for c in calls if c["hook"] != "runner_models"} == {cli_pid}

    order = [c["hook"] for c in calls if c["hook"] not in ("runner_models",)]
    trial = ["runner_trial_start", *["runner_run_done"] * 3, "runner_trial_done"]
    assert order == [
        "runner_register_commands",
        "runner_make_executor",
        "runner_session_start",
        *trial,
        *trial,
        "runner_session_finish",
    ]
    runs = [c for c in calls if c["hook"] == "runner_run_done"]
    assert [r["warmup"] for r in runs] == [True, False, False] * 2
    assert all(r["metrics"] == ["serial_s", "speedup", "wall_s"] for r in runs)
    done = [c for c in calls if c["hook"] == "runner_trial_done"]
    assert [(d["trial"], d["status"]) for d in done] == [
        ("every[tasks=1]", "ok"),
        ("every[tasks=2]", "ok"),
    ]
    (finish,) = [c for c in calls if c["hook"] == "runner_session_finish"]
    assert finish["run_id"] == res.results["run_id"] and not finish["interrupted"]


def test_a_command_added_by_a_plugin_runs(runner_cli) -> None:
    res = runner_cli.run("-p", str(EVERY_HOOK), "pw-hello", "world")
    assert (res.code, res.stdout) == (0, "hello world\n"), res.stderr


def _spec_models(path: Path) -> set[str]:
    data = yaml.safe_load(path.read_text()) or {}
    entries = data.get("experiments") or [data]
    return {e["model"] for e in entries if isinstance(e, dict) and "model" in e}


def test_every_model_has_an_example_spec_that_validates(runner_cli) -> None:
    schema = runner_cli.run("schema")
    assert schema.code == 0, schema.stderr
    models = json.loads(schema.stdout)["$defs"]["Experiment"]["properties"]["model"]["enum"]
    assert {"thread", "pool"} <= set(models)
    specs = sorted((ROOT / "experiments").glob("*.yaml"))
    shown = {model for spec in specs for model in _spec_models(spec)}
    missing = sorted(set(models) - shown)
    assert not missing, f"models with no example spec in experiments/: {missing}"
    # Specs with link_* params are valid only with root and nftables (see test_link.py).
    link_ready = os.geteuid() == 0 and all(shutil.which(t) for t in ("nft", "ip"))
    res = runner_cli.run(
        "validate", *(s for s in specs if link_ready or "link_" not in s.read_text())
    )
    assert res.code == 0, res.stderr
