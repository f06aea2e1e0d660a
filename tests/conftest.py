from __future__ import annotations

# The test kit is also a pytest11 plugin once installed; naming it here makes an
# uninstalled checkout work too (pytest skips a plugin already registered by that name).
pytest_plugins = ["runner.testing"]


def median(trial: dict, metric: str) -> float:
    """The median of ``metric`` in one trial of a JSON result file."""
    return float(trial["summary"][metric]["median"])
