"""A plugin that cannot be imported."""

raise ImportError("missing_dependency is not installed")
