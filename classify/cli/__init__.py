"""The ``classify`` command line: one module per command over one typer app (``_common``).

A command parses its options and makes one call into the library; importing this package registers
every command on :data:`app`.
"""

from __future__ import annotations

from classify.cli import audit, evaluate, label, models, predict, serve, train, tune
from classify.cli._common import app, flag

__all__ = ["app", "flag", "main"]
_COMMANDS = (train, predict, evaluate, models, tune, audit, serve, label)  # registered on import


def main() -> None:
    """Console-script entry point."""
    app()
