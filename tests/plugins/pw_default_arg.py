"""An argument with a default: pluggy would never pass it, silently."""

from runner import hookimpl


@hookimpl
def runner_trial_done(trial, result=None):
    pass
