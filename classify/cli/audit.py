"""``classify audit``: rows whose label looks wrong (:func:`classify.evaluation.auditing.audit`)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from classify.cli._common import (
    ConfigOpt,
    DataArg,
    FoldsOpt,
    LabelCol,
    MinCountOpt,
    OldFoldsOpt,
    TextCol,
    handle_errors,
    load_labelled,
    progress_display,
)
from classify.evaluation.splits import DEFAULT_FOLDS


class AuditFormat(StrEnum):
    table = "table"
    csv = "csv"


@handle_errors
def audit_cli(
    data: DataArg,
    folds: FoldsOpt = DEFAULT_FOLDS,
    old_folds: OldFoldsOpt = None,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            "-n",
            metavar="N",
            min=0,
            help="Rows of likely label errors, and near-duplicate groups, to show (0: all).",
        ),
    ] = 20,
    fmt: Annotated[
        AuditFormat | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="Output format: table or csv [default: table on a terminal, else csv].",
        ),
    ] = None,
    config: ConfigOpt = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    min_count: MinCountOpt = None,
) -> None:
    """List rows whose label looks wrong, and near-duplicates labelled differently.

    Each row is judged by a model cross-validated on grouped folds that never saw it.
    """
    folds = old_folds or folds
    from classify.evaluation import auditing as audit

    params = None
    if config is not None:
        from classify.pipeline.settings import load_settings_file

        params = load_settings_file(config).settings
    with progress_display():
        labelled = load_labelled(data, text_col, label_col, min_count)
        result = audit.audit(labelled, folds=folds, params=params)
    fmt = fmt or (AuditFormat.table if sys.stdout.isatty() else AuditFormat.csv)
    if fmt is AuditFormat.csv:
        audit.write_csv(result, sys.stdout, top or None)
        return
    from rich.console import Console

    from classify.evaluation.render import audit_tables

    console = Console()
    for table in audit_tables(result, top or None):
        console.print(table)
