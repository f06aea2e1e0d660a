"""A reporter whose hook raises outside any trial."""

from runner import hookimpl


@hookimpl
def runner_session_start(session):
    raise RuntimeError("the reporter is broken")
