"""The command line."""

from classify.cli._all import _flag, app, main

__all__ = ["_flag", "app", "main"]
