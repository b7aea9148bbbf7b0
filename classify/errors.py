"""Domain exceptions.

The library raises these; only the CLI turns them into one ``Error: ...`` line and an exit code, so
that Python callers can catch them and no traceback reaches a user of the command line.

A message may name the library argument that fixes it as a ``{field}`` (``{text_col}``, ``{folds}``,
listed in ``arguments``). ``str(error)`` spells it as the library's keyword (``text_col``), and the CLI
spells the same error with its own flag (``--text-col``) through :meth:`ClassifyError.render`, so that
the library speaks of its own arguments and each front end adds its own way to fix the problem.
"""

from __future__ import annotations

from collections.abc import Callable


class _Templated(Exception):
    """A one-line message naming, as ``{field}``, the library arguments that fix it (the module docs)."""

    def __init__(self, message: str, *, arguments: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.template = message
        self.arguments = arguments

    def render(self, spell: Callable[[str], str]) -> str:
        """The message with each marked argument spelled by ``spell`` (e.g. as a CLI flag)."""
        text = self.template
        for name in self.arguments:
            text = text.replace("{" + name + "}", spell(name))
        return text

    def __str__(self) -> str:
        return self.render(lambda name: name)


class ClassifyError(_Templated):
    """Base class: a problem the user can fix (bad input, missing file, unusable model).

    Parameters
    ----------
    message
        One line; ``{name}`` marks where a fixing argument is named (see the module docstring).
    arguments
        The argument names marked in ``message``.
    """


class UsageError(ClassifyError):
    """Arguments that do not go together (the command line exits 2 on it, as for a bad option)."""


class DataError(ClassifyError):
    """A data file is missing, unreadable, or lacks what the command needs."""


class ModelError(ClassifyError):
    """A model file is missing, corrupt, or was made by an incompatible version."""


class ConfigError(ClassifyError):
    """A settings file (``classify tune`` output) is missing, not JSON, or holds unknown settings."""


class BudgetError(ClassifyError):
    """The time budget ran out before a single setting was scored on every fold."""


class ReportError(ClassifyError):
    """A report cannot be made: matplotlib is missing, or the folder cannot be written."""


class MissingExtraError(ClassifyError):
    """An optional part of classify is used without the extra that installs its dependencies."""


class ClusterError(ClassifyError):
    """The Dask cluster cannot be reached or a task failed on it."""


class ClassifyWarning(_Templated, UserWarning):
    """Something the user should know that does not stop the work (the command line prints it as one
    ``Warning:`` line; Python callers see it through :mod:`warnings`). Its message names arguments as
    :class:`ClassifyError`'s does."""
