"""Bounds the spec loader enforces and the command line shows, importable without pydantic."""

DEFAULT_MAX_TRIALS = 10_000  # trials of all specs of a session together (--max-trials)
