"""docs/architecture.md stays true: every module and folder it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"


def test_every_path_the_architecture_names_exists():
    named = set(
        re.findall(r"`((?:runner|plugins|experiments|bench|docs|tests)/[\w./-]*)`", DOC.read_text())
    )
    assert len(named) > 20, named
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"{DOC.name} names what does not exist: {missing}"


def test_every_core_module_is_on_the_map():
    text = DOC.read_text()
    modules = [
        p for p in (ROOT / "runner").glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    ]
    unmapped = [p.name for p in modules if f"runner/{p.name}" not in text]
    assert not unmapped, f"add these to {DOC.name}: {unmapped}"
