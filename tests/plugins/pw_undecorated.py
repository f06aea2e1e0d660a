"""A hook function without @hookimpl: it would never be called, silently."""

from runner import Metric, Model


class Nothing(Model):
    name = "pw_nothing"
    metrics = (Metric("x", "", None),)


def runner_models():
    return [Nothing()]
