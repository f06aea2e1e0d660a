"""Installed as a user installs it: the wheel, a fresh venv, the README's first command.

All slow: they build wheels and virtual environments, and the README's command installs
the dependencies from the package index.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from runner import DISTRIBUTION, __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))


def _run(argv: list, cwd: Path, env: dict | None = None, timeout: float = 900) -> str:
    proc = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"{argv}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _copy_checkout(dest: Path) -> Path:
    """The project's tracked files, so builds leave the checkout as it is."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell the project's files")
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _site_dirs() -> list[str]:
    import site
    import sysconfig

    dirs = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), *site.getsitepackages()]
    return list(dict.fromkeys(d for d in dirs if Path(d).is_dir()))


def _venv(where: Path) -> tuple[Path, dict[str, str]]:
    """A fresh venv over this environment's packages (the dependencies), none of its .pth."""
    _run([sys.executable, "-m", "venv", "--without-pip", where], where.parent)
    py = where / "bin" / "python"
    purelib = _run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], where)
    (Path(purelib.strip()) / "_outer_env.pth").write_text("".join(f"{d}\n" for d in _site_dirs()))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PATH=f"{where / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(where))
    env.update(NO_COLOR="1", RUNNER_DISABLE_PLUGIN_AUTOLOAD="1")
    return where, env


def _pip(venv: Path, env: dict, cwd: Path, *args: str) -> None:
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
          "--no-build-isolation", *args], cwd, env)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _copy_checkout(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "-w", out, src], src)  # fmt: skip
    (found,) = out.glob("*.whl")
    return found


def test_the_wheel_carries_builtins_examples_license_and_urls(wheel: Path) -> None:
    assert wheel.name.startswith(f"{DISTRIBUTION.replace('-', '_')}-{__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"runner", f"{DISTRIBUTION.replace('-', '_')}-{__version__}.dist-info"}
    plugins = sorted(str(p.relative_to(ROOT / "plugins")) for p in (ROOT / "plugins").rglob("*.py"))
    assert sorted(n[len("runner/builtins/") :] for n in names
                  if n.startswith("runner/builtins/")) == plugins  # fmt: skip
    assert sorted(n[len("runner/examples/") :] for n in names
                  if n.startswith("runner/examples/")) == EXAMPLES  # fmt: skip
    assert "runner/templates/plugin/setup.cfg.tmpl" in names
    assert "runner/py.typed" in names
    info = next(n for n in names if n.endswith(".dist-info/METADATA"))
    meta = zipfile.ZipFile(wheel).read(info).decode()
    assert f"Name: {DISTRIBUTION}\n" in meta
    assert "Project-URL: Homepage, https://pypi.org/project/concurrency-runner/" in meta
    assert any(n.endswith((".dist-info/LICENSE", ".dist-info/licenses/LICENSE")) for n in names)
    assert "License-File: LICENSE" in meta


def _other_distribution(folder: Path) -> Path:
    """A distribution that ships a top-level ``plugins/thread.py``, as some do."""
    (folder / "plugins").mkdir(parents=True)
    (folder / "plugins" / "__init__.py").write_text("")
    (folder / "plugins" / "thread.py").write_text('raise ImportError("not runner\'s thread")\n')
    (folder / "setup.cfg").write_text(
        "[metadata]\nname = other-plugins\nversion = 1.0\n\n[options]\npackages = plugins\n"
    )
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    return folder


def test_an_installed_runner_is_not_shadowed_by_another_distribution(
    wheel: Path, tmp_path: Path
) -> None:
    venv, env = _venv(tmp_path / "venv")
    _pip(venv, env, tmp_path, wheel)
    _pip(venv, env, tmp_path, _other_distribution(tmp_path / "other"))
    runner = venv / "bin" / "runner"
    work = tmp_path / "work"
    work.mkdir()
    spec = work / "counter.yaml"
    spec.write_text("model: thread\nparams: {increments: 1000}\nrepeat: 1\nwarmup: 0\n")

    def check() -> None:
        assert "[plugin thread]" in _run([runner, "list", "thread"], work, env).splitlines()[0]
        _run([runner, "run", spec, "-q", "--no-db", "-o", "out.json"], work, env)
        trials = json.loads((work / "out.json").read_text())["experiments"][0]["trials"]
        assert [t["status"] for t in trials] == ["ok"]

    check()
    _run([venv / "bin" / "python", "-m", "pip", "uninstall", "--yes", "--quiet", "other-plugins"],
         tmp_path, env)  # fmt: skip
    check()  # uninstalling the other took nothing of runner's


def test_an_installed_user_gets_the_examples_and_the_scaffold_names_the_distribution(
    wheel: Path, tmp_path: Path
) -> None:
    venv, env = _venv(tmp_path / "venv")
    _pip(venv, env, tmp_path, wheel)
    runner = venv / "bin" / "runner"
    out = _run([runner, "init", "lab"], tmp_path, env)
    assert out.splitlines()[-1].startswith(f"{len(EXAMPLES)} written, 0 kept")
    assert sorted(p.name for p in (tmp_path / "lab" / "experiments").iterdir()) == EXAMPLES
    _run([runner, "validate", *sorted((tmp_path / "lab" / "experiments").iterdir())], tmp_path, env)
    _run([runner, "new-plugin", "relay"], tmp_path, env)
    cfg = configparser.ConfigParser()
    cfg.read(tmp_path / "runner-relay" / "setup.cfg")
    assert cfg["options"]["install_requires"].split() == [f"{DISTRIBUTION}>={__version__}"]


# -- the README's first command, with each Python here --------------------------------------


def _interpreters() -> list[str]:
    """Debian's own python3 (PEP 668) and every 3.10-3.13 pyenv has, as found."""
    found = ["/usr/bin/python3"]
    pyenv = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False) \
        if shutil.which("pyenv") else None  # fmt: skip
    if pyenv is not None and pyenv.returncode == 0:
        versions = Path(pyenv.stdout.strip()) / "versions"
        for minor in ("3.10", "3.12", "3.13"):
            found += sorted(str(p / "bin" / "python3") for p in versions.glob(f"{minor}.*"))[-1:]
    return found


def _readme_commands() -> list[str]:
    text = README.read_text()
    block = text[text.index("```sh\n") + len("```sh\n") :]
    return block[: block.index("```")].strip().splitlines()


@pytest.mark.parametrize("python", _interpreters())
def test_the_readme_first_command_works_with(python: str, tmp_path: Path) -> None:
    if not Path(python).is_file():
        pytest.skip(f"{python} is not installed")
    probe = subprocess.run([python, "-c", "import venv, ensurepip"], capture_output=True,
                           check=False)  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"{python} has no venv/ensurepip (Debian: apt install python3-venv)")
    src = _copy_checkout(tmp_path / "src")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(python)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}  # fmt: skip
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", NO_COLOR="1")
    first, second = _readme_commands()
    _run(["bash", "-c", f"set -e; {first}"], src, env, timeout=1800)
    trials = json.loads((src / "results.json").read_text())["experiments"][0]["trials"]
    assert [t["status"] for t in trials] == ["ok", "ok"]
    version = _run([src / ".venv" / "bin" / "python", "-c", "import sys; print(sys.version)"], src)
    assert version.startswith(_run([python, "-c", "import sys; print(sys.version)"], src))
    if python == _interpreters()[0]:
        # The second command, as far as the test that needs a venv to be right: the
        # scaffold test builds a venv of its own from inside this one.
        scaffold = "tests/test_new_plugin.py -k scaffolded_plugin_installs"
        command = second.replace(
            "python -m pytest", f"python -m pytest -q -p no:cacheprovider {scaffold}"
        )
        assert command != second
        out = _run(["bash", "-c", f"set -e; {command}"], src, env, timeout=1800)
        assert "1 passed" in out
