"""A plugin with a misspelt hook name."""

from runner import hookimpl


@hookimpl
def runner_model():
    return []
