"""A hook argument with a typo: runner must name the hook, the argument and the fix."""

from runner import hookimpl


@hookimpl
def runner_trial_done(sesion, result):
    pass
