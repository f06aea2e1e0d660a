"""Each class of bad spec: exit 2 and one line naming FILE:LINE:COL and what is wrong.

Every file in tests/data/bad/ starts with ``# error: EXPECTED``: either ``LINE:COL: text``
(checked literally after the file name) or ``re:`` and a regular expression.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BAD = sorted((Path(__file__).parent / "data" / "bad").glob("*.yaml"))


def expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# error: "), path
    return first[len("# error: ") :]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_spec_is_one_line_with_its_location(runner_cli, path, command):
    res = runner_cli.run(command, path, timeout=60)
    assert res.code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines, "no error printed"
    assert "Traceback" not in res.stderr
    assert all(line.startswith(str(path)) for line in lines), lines
    want = expected(path)
    if want.startswith("re:"):
        assert re.search(want[3:], lines[0]), lines[0]
    else:
        assert lines[0].startswith(f"{path}:{want}"), lines[0]


def test_oversized_spec_is_refused(runner_cli):
    path = runner_cli.write("big.yaml", "model: pool\n" + "# padding\n" * 110_000)
    res = runner_cli.run("validate", path)
    assert res.code == 2
    assert res.stderr.startswith(f"{path}:1:1: file is ") and "limited to 1 MiB" in res.stderr


def test_max_trials_can_be_raised(runner_cli):
    path = Path(__file__).parent / "data" / "bad" / "too_many_trials.yaml"
    res = runner_cli.run("validate", path, "--max-trials", "20000")
    assert res.code == 0, res.stderr
    assert "10100 trials" in res.stdout


def test_missing_file_and_directory(runner_cli, tmp_path):
    res = runner_cli.run("run", "nope.yaml")
    assert res.code == 2 and res.stderr.strip() == "nope.yaml: no such spec file"
    res = runner_cli.run("validate", tmp_path)
    assert res.code == 2 and "is a directory" in res.stderr


def test_several_errors_are_one_line_each(runner_cli):
    path = runner_cli.write("multi.yaml", "model: pool\nrepeat: true\nwarmup: -1\n")
    res = runner_cli.run("validate", path)
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert lines == [
        f"{path}:2:9: repeat: Expected `int` (got true)",
        f"{path}:3:9: warmup: Expected `int` >= 0 (got -1)",
    ]
