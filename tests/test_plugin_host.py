"""The plugin host is the only way in: registration checks, name clashes, traced hooks."""

from __future__ import annotations

import os
from pathlib import Path

PLUGINS = Path(__file__).parent / "plugins"


def _dist_with_entry_point(root: Path, name: str, target: str) -> None:
    """An installed-looking distribution on PYTHONPATH with one runner.plugins entry point."""
    info = root / "shadow_dist-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow-dist\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[runner.plugins]\n{name} = {target}\n")
    (root / "shadow_mod.py").write_text("")


def test_an_entry_point_with_a_builtins_name_is_an_error_naming_both(runner_cli, tmp_path):
    site = tmp_path / "site"
    _dist_with_entry_point(site, "thread", "shadow_mod")
    runner_cli.env.pop("RUNNER_DISABLE_PLUGIN_AUTOLOAD", None)
    runner_cli.env["PYTHONPATH"] = os.pathsep.join([runner_cli.env["PYTHONPATH"], str(site)])
    res = runner_cli.run("list")
    assert res.code == 2, res.stderr
    line = res.stderr.strip()
    assert "\n" not in line
    assert "'thread'" in line and "shadow-dist" in line and "built-in" in line
    assert "-p no:thread" in line


def test_a_session_object_registered_by_a_plugin_is_checked_like_any(runner_cli):
    spec = runner_cli.write(
        "s.yaml", "model: thread\nparams: {workload: sleep, task_seconds: 0}\nrepeat: 1\n"
    )
    res = runner_cli.run("-p", PLUGINS / "session_reporter_typo.py", "run", spec, "--no-db")
    assert res.code == 2, res.stderr
    assert "unknown hook 'runner_trial_dome'; did you mean 'runner_trial_done'" in res.stderr


def test_trace_hooks_shows_the_models_hook(runner_cli):
    res = runner_cli.run("--trace-hooks", "list")
    assert res.code == 0, res.stderr
    assert "runner_models" in res.stderr
