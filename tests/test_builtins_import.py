"""Built-ins under a name only runner owns, and commands that import only what they use."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
from pathlib import Path

from runner.modelcheck import check_model
from runner.plugins import BUILTIN_MODELS, BUILTIN_PLUGINS, PluginConfig, build
from runner.testing import RunnerCli

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "experiments" / "pool_async.yaml"

# A working folder's own `plugins` package, as many projects have: it must not matter.
IMPOSTOR = """
raise ImportError("the working folder's own plugins package was imported")
"""


def _imported(cli: RunnerCli, *args: str) -> set[str]:
    """The modules loaded once ``runner ARGS`` has done its work."""
    out = cli.path / "modules.json"
    code = (
        "import json, sys; from runner.cli import main; code = main(sys.argv[1:]); "
        f"json.dump(sorted(sys.modules), open({str(out)!r}, 'w')); sys.exit(code)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cli.path, env=cli.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(json.loads(out.read_text()))


def test_every_built_in_is_a_runner_builtins_module() -> None:
    for module in (*BUILTIN_PLUGINS.values(), *BUILTIN_MODELS):
        assert module.startswith("runner."), module  # a name only runner owns
    assert not any(re.search(r"^\s*(from|import) plugins\b", p.read_text(), re.M)
                   for p in (ROOT / "plugins").rglob("*.py"))  # fmt: skip


def test_a_working_folder_with_its_own_plugins_package(runner_cli: RunnerCli) -> None:
    # `python -m runner` puts the working folder first on the path, and so does the
    # worker's `python -c`: the folder's `plugins` must be neither imported nor needed.
    runner_cli.write("plugins/__init__.py", IMPOSTOR)
    runner_cli.write("plugins/thread.py", IMPOSTOR)
    res = runner_cli.run_spec(SPEC, "--repeat", "1", "--warmup", "0", "--no-db", "-q")
    assert res.code == 0, res.stderr
    assert [t["status"] for t in res.trials] == ["ok", "ok"]
    listed = runner_cli.run("list", "--plugins")
    assert listed.code == 0, listed.stderr
    assert "thread 0.1.0 [built-in]: runner_models" in listed.stdout.splitlines()


def test_a_checkout_maps_plugins_to_runner_builtins(runner_cli: RunnerCli) -> None:
    code = (
        "import runner.builtins.thread as t, runner.builtins.net.address as a, sys; "
        "print(t.__file__); print(a.__file__); print('plugins' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=runner_cli.path, env=runner_cli.env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    thread, address, top = proc.stdout.split()
    assert Path(thread) == ROOT / "plugins" / "thread.py"
    assert Path(address) == ROOT / "plugins" / "net" / "address.py"
    assert top == "False"  # nothing imports a top-level `plugins`


def test_setup_cfg_installs_every_package_of_plugins() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    packages = cfg["options"]["packages"].split()
    folders = sorted(p.parent for p in (ROOT / "plugins").rglob("__init__.py"))
    wanted = [
        ".".join(("runner.builtins", *f.relative_to(ROOT / "plugins").parts)) for f in folders
    ]
    assert [p for p in packages if p.startswith("runner.builtins")] == wanted
    assert "runner.builtins = plugins" in cfg["options"]["package_dir"]


def test_list_validate_show_import_only_what_they_use(runner_cli: RunnerCli) -> None:
    heavy = {"scipy", "matplotlib", "numpy", "rich", "sqlite3", "gevent", "multiprocessing.pool"}
    # What only a session needs: the executors, the worker, the results and the store.
    session = {"runner.executors.local", "runner.worker", "runner.results", "runner.store"}
    for args in (["list"], ["validate", str(SPEC)], ["show", str(SPEC)]):
        mods = _imported(runner_cli, *args)
        assert not (heavy | session) & mods, (args, (heavy | session) & mods)
        assert "runner.builtins.pool" in mods
        # A spec imports the built-in model it uses, not the others; a listing all of them.
        assert ("runner.builtins.thread" in mods) == (args == ["list"]), args
    # A command that needs no model imports no model module, nor msgspec.
    mods = _imported(runner_cli, "history", "--help")
    assert not {m for m in mods if m in BUILTIN_MODELS or m.startswith("msgspec")}


def test_built_in_models_pass_the_full_model_check() -> None:
    """Start-up checks built-ins lightly (no schema build); here they get the full check."""
    host = build(PluginConfig(autoload=False))
    models = host.models()
    # Each built-in model's module is named for it: a spec imports only the one it uses.
    assert {name: host.model_plugin(name) for name in models} == {
        m.rsplit(".", 1)[-1]: m.rsplit(".", 1)[-1] for m in BUILTIN_MODELS
    }
    for name, model in models.items():
        check_model(model, host.model_plugin(name), deep=True)
