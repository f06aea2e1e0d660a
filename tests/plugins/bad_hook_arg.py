"""A plugin whose hook asks for an argument the hook does not have."""

from runner import hookimpl


@hookimpl
def runner_trial_done(trial, outcome):
    pass
