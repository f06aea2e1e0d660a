"""A reporter that registers a per-session object whose hook name is misspelt."""

from runner import hookimpl


class Reporter:
    @hookimpl
    def runner_trial_dome(self, session, trial, result):  # misspelt: runner_trial_done
        pass


@hookimpl
def runner_session_start(session):
    session.host.register(Reporter(), "typo-reporter")
