"""A plugin that fails to import: the error must point at this file and line."""

from runner import Params


class BrokenParams(Params):
    count: int = Feild(1, ge=1)  # noqa: F821 - the typo under test
