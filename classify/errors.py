"""Domain exceptions.

The library raises these; only the CLI turns them into one ``Error: ...`` line and an exit code, so
that Python callers can catch them and no traceback reaches a user of the command line.
"""

from __future__ import annotations


class ClassifyError(Exception):
    """Base class: a problem the user can fix (bad input, missing file, unusable model)."""


class DataError(ClassifyError):
    """A data file is missing, unreadable, or lacks what the command needs."""


class ModelError(ClassifyError):
    """A model file is missing, corrupt, or was made by an incompatible version."""
