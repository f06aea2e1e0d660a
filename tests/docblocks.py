"""The fenced blocks of the project's Markdown pages, for the tests that run or check them.

A block's info string says how it is checked:

- ```` ```python file=PATH ````: a file the page's commands use, written before they run;
- ```` ```console check ````: each ``$ command`` is run and prints exactly what follows it;
- ```` ```console check-shape ````: the same, but numbers and column widths may differ
  (measurements); ``check-shape tty`` runs the command on an 80-column terminal;
- ```` ```yaml same-as=PATH ````: the same data as the project's file PATH.

Any other block must follow an ``<!-- illustrative -->`` line: an example that is not run
(a CI workflow, a command for another machine, output with times and ids in it).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ILLUSTRATIVE = "<!-- illustrative -->"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.M | re.S)


@dataclasses.dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence, from 1
    info: str  # the words after the fence: "console check", "python file=x.py"
    text: str
    illustrative: bool

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def words(self) -> list[str]:
        return self.info.split()

    def option(self, name: str) -> str | None:
        """The value of ``name=VALUE`` in the info string, if any."""
        for word in self.words:
            if word.startswith(name + "="):
                return word.partition("=")[2]
        return None

    def commands(self) -> list[tuple[str, str]]:
        """(command, expected output) of each ``$ command`` line of the block."""
        out = []
        for chunk in re.split(r"^\$ ", self.text, flags=re.M)[1:]:
            command, _, expected = chunk.partition("\n")
            out.append((command, expected))
        return out


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text()
    found = []
    for m in _FENCE.finditer(text):
        before = [ln for ln in text[: m.start()].splitlines() if ln.strip()]
        line = text.count("\n", 0, m.start()) + 1
        marked = bool(before) and before[-1].strip() == ILLUSTRATIVE
        found.append(Block(doc, line, m[1].strip(), m[2], marked))
    return found


def pages() -> list[Path]:
    """Every page whose blocks are checked: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def doc_files(doc: Path) -> dict[str, str]:
    """Every block of ``doc`` whose info string names a ``file=PATH``: path -> text."""
    return {b.option("file"): b.text for b in blocks(doc) if b.option("file")}  # type: ignore[misc]


def console_checks(doc: Path, kind: str = "check") -> list[tuple[str, str]]:
    """(command, expected output) of every command in ``doc``'s ```` ```console KIND````
    blocks."""
    return [
        c
        for b in blocks(doc)
        if b.words[:1] == ["console"] and kind in b.words[1:2]
        for c in b.commands()
    ]


def command_argv(command: str, runner: list[str]) -> list[str]:
    """``runner ARGS`` or ``python3 -m runner ARGS`` as the argv to run: ``runner`` (the
    command, perhaps with options) and ARGS."""
    argv = shlex.split(command)
    if argv[:3] == ["python3", "-m", "runner"]:
        argv = argv[2:]
    assert argv[0] == "runner", command
    return [*runner, *argv[1:]]


def run_console_check(command: str, expected: str, cwd: Path, env: dict, runner: list[str]) -> None:
    """Run ``command`` in ``cwd``; what it prints must be ``expected``, to the character."""
    proc = subprocess.run(
        command_argv(command, runner),
        check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.stdout + proc.stderr == expected, f"$ {command}\n{proc.stdout}{proc.stderr}"


NUMBER = re.compile(r"[-+]?(?:\d[\d,]*)?\.?\d+(?:e[-+]?\d+)?")
RULES = re.compile(r"[\s│┃┏┓┗┛┡┩┣┫━─┳╇┴└┘┬┼┌┐├┤╋|]+")


def shape(text: str) -> list[list[str]]:
    """Text without what a measurement changes: numbers, column widths and rules, and
    whether a noisy run marked a median unstable (the `!` and the hint it brings)."""
    from runner.report.terminal import UNSTABLE_HINT

    lines = []
    in_hint = False
    for line in _ANSI.sub("", text).splitlines():
        bare = line.strip(" │┃")
        in_hint = bare.startswith("! unstable:") or (
            in_hint and bool(bare) and bare in UNSTABLE_HINT
        )
        if in_hint:
            continue
        words = [w for w in RULES.split(NUMBER.sub("N", line)) if w]
        words = [re.sub(r"-{2,}", "--", w).removesuffix("!") for w in words]
        if words:
            lines.append(words)
    return lines
