"""Pieces of the process and queue models, many of them run in child processes.

Kept free of msgspec, pluggy and the runner, so a spawn or forkserver child imports only
what its work needs.
"""
