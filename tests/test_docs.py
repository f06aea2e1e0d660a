"""The docs say what runner does: every command and output block of README.md and
docs/*.md is run here (and must match), checked against the file it copies, or marked
illustrative.  The conventions are in tests/docblocks.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from docblocks import (
    ROOT,
    Block,
    blocks,
    command_argv,
    doc_files,
    pages,
    run_console_check,
    shape,
)
from test_terminal import run_in_terminal, screen_lines

from runner.testing import RunnerCli

# Runs real sessions, servers or installs: the slow tier (CONTRIBUTING.md).
pytestmark = pytest.mark.slow

ALL = [b for page in pages() for b in blocks(page)]
# Pages whose console checks need more than a folder: the walkthrough's plugin must be
# installed, which tests/test_writing_plugins.py does.
OWN_TEST = {ROOT / "docs" / "writing-plugins.md"}
CHECKED = ("check", "check-shape")


def how_checked(block: Block) -> str | None:
    """What makes a block checked, or None when nothing does."""
    if block.illustrative:
        return "illustrative"
    if block.option("file"):
        return "file"
    if block.option("same-as"):
        return "same-as"
    if block.words[:1] == ["console"] and block.words[1:2] and block.words[1] in CHECKED:
        return block.words[1]
    return None


def test_every_block_is_run_checked_or_marked_illustrative():
    unchecked = [f"{b.where}: ```{b.info}" for b in ALL if how_checked(b) is None]
    assert unchecked == [], (
        "run these blocks from a test (```console check, ```console check-shape, "
        "```yaml same-as=PATH, ```LANG file=PATH) or put <!-- illustrative --> before them:\n"
        + "\n".join(unchecked)
    )


def test_every_check_is_found():
    """A check that the extractor misses would pass by not running: count them."""
    kinds = [how_checked(b) for b in ALL]
    assert kinds.count("check") >= 4 and kinds.count("check-shape") >= 2
    assert kinds.count("same-as") >= 1


@pytest.mark.parametrize("block", [b for b in ALL if b.option("same-as")], ids=lambda b: b.where)
def test_a_copy_of_a_project_file_says_what_the_file_says(block):
    original = ROOT / str(block.option("same-as"))
    assert yaml.safe_load(block.text) == yaml.safe_load(original.read_text()), (
        f"{block.where} is no longer {original.relative_to(ROOT)}"
    )


def folder_for(doc: Path, tmp_path: Path) -> Path:
    """A folder to run a page's commands in: the project's examples at hand, the page's
    files written, and nothing of the checkout touched (no result file, no store)."""
    for name in ("experiments", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    for rel, text in doc_files(doc).items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


EXACT = [b for b in ALL if how_checked(b) == "check" and b.doc not in OWN_TEST]


@pytest.mark.parametrize("block", EXACT, ids=lambda b: b.where)
def test_console_output_is_what_runner_prints(block, tmp_path):
    cli = RunnerCli(folder_for(block.doc, tmp_path))
    for command, expected in block.commands():
        run_console_check(command, expected, cli.path, cli.env, [sys.executable, "-m", "runner"])


SHAPES = [b for b in ALL if how_checked(b) == "check-shape" and b.doc not in OWN_TEST]


@pytest.mark.slow
@pytest.mark.parametrize("block", SHAPES, ids=lambda b: b.where)
def test_console_output_has_the_shape_runner_prints(block, tmp_path):
    """Measured output: the same lines, words and columns as a real run, whatever the
    figures.  ``tty``: the command runs on an 80-column terminal."""
    cli = RunnerCli(folder_for(block.doc, tmp_path))
    for command, expected in block.commands():
        argv = command_argv(command, ["runner"])
        if "tty" in block.words:
            out = "\n".join(screen_lines(run_in_terminal(cli, *argv[1:], cols=80)))
        else:
            stdout_only = argv[-1] == "2>/dev/null"
            argv = argv[:-1] if stdout_only else argv
            proc = subprocess.run(
                [sys.executable, "-m", *argv], check=False, cwd=cli.path, env=cli.env,
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            out = proc.stdout + ("" if stdout_only else proc.stderr)
        assert shape(out) == shape(expected), f"$ {command}\n{out}"


def test_shape_ignores_figures_but_not_words():
    a = "┃ mode ┃ wall_s [s] ┃\n│ apply │ 2.504 ±0.0% │\n"
    b = "┃ mode  ┃  wall_s [s] ┃\n│ apply │ 12.5 ±10.25% │\n"
    assert shape(a) == shape(b)
    assert shape(a) != shape(a.replace("apply", "map"))
    assert shape("| a |\n|---|\n") == shape("| a |\n|-----|\n")


def test_illustrative_marks_are_not_left_dangling():
    """A mark must sit right before a block: one left before prose hides nothing."""
    for page in pages():
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if line.strip() == "<!-- illustrative -->":
                after = next((ln for ln in lines[i + 1 :] if ln.strip()), "")
                assert after.startswith("```"), f"{page.relative_to(ROOT)}:{i + 1}"
