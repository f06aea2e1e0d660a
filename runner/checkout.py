"""Gives an uninstalled checkout's top-level ``plugins/`` folder the name ``runner.builtins``.

Installed, the built-in models are the subpackage ``runner/builtins`` (setup.cfg maps the
folder there): a name that neither a working folder's own ``plugins/`` package nor another
distribution's ``plugins/thread.py`` can shadow or overwrite.  A checkout has only
``plugins/`` beside ``runner/``; this finder gives it the same name, so every import of a
built-in (the loader, workers, functions pickled for pool children) is ``runner.builtins.*``
wherever runner runs from.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

PACKAGE = "runner.builtins"


class CheckoutFinder:
    """A meta path finder for ``runner.builtins`` alone; its submodules follow ``__path__``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != PACKAGE:
            return None
        from importlib.util import spec_from_file_location

        init = os.path.join(self.folder, "__init__.py")
        return spec_from_file_location(PACKAGE, init, submodule_search_locations=[self.folder])


def install(package_dir: str) -> None:
    """Add the finder when ``package_dir`` (runner's own folder) is a checkout's."""
    if os.path.isdir(os.path.join(package_dir, "builtins")):
        return  # installed from a wheel: the real subpackage is there
    folder = os.path.join(os.path.dirname(package_dir), "plugins")
    if not os.path.isfile(os.path.join(folder, "__init__.py")):
        return
    if not any(isinstance(f, CheckoutFinder) for f in sys.meta_path):
        # Last: an editable install's own finder, if any, answers first with the same folder.
        sys.meta_path.append(CheckoutFinder(folder))
