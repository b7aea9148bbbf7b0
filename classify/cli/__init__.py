"""The ``classify`` command line: one module per command over one typer app (``_common``).

A command parses its options and makes one call into the library. The commands are registered here,
in the order ``classify --help`` lists them.
"""

from __future__ import annotations

from classify.cli import audit, drift, evaluate, label, models, predict, serve, train, tune
from classify.cli._common import app, flag

__all__ = ["app", "flag", "main"]

for _name, _command in (
    ("train", train.train_cli),
    ("predict", predict.predict_cli),
    ("evaluate", evaluate.evaluate_cli),
    ("topics", models.topics_cli),
    ("tune", tune.tune_cli),
    ("audit", audit.audit_cli),
    ("convert", models.convert_cli),
    ("serve", serve.serve_cli),
    ("label", label.label_cli),
    ("drift", drift.drift_cli),
):
    app.command(_name)(_command)


def main() -> None:
    """Console-script entry point."""
    app()
