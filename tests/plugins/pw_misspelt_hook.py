"""A hook name with a typo: runner must name the plugin and suggest the right hook."""

from runner import hookimpl


@hookimpl
def runner_trial_dne(session, trial, result):
    pass
