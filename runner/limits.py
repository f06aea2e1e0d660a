"""Bounds the spec loader and the gate enforce and the command line shows: a module that
costs nothing to import, as every command reads it."""

DEFAULT_MAX_TRIALS = 10_000  # trials of all specs of a session together (--max-trials)
DEFAULT_MAX_REPEAT = 30  # measured runs a trial may reach through the gate's re-runs
DEFAULT_BUDGET_S = 300.0  # seconds the gate may spend measuring more, in all
