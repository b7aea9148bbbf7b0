"""``classify tune``: search pipeline settings (:func:`classify.evaluation.tuning.tune`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from classify.cli._common import (
    DaskOpt,
    DataArg,
    FoldsOpt,
    LabelCol,
    MinCountOpt,
    OldFoldsOpt,
    TextCol,
    handle_errors,
    info,
    load_labelled,
    progress_display,
    usage_parser,
    warn,
)
from classify.evaluation.splits import DEFAULT_FOLDS

_budget = usage_parser("classify.evaluation.tuning", "parse_budget")


@handle_errors
def tune_cli(
    data: DataArg,
    budget: Annotated[
        float,
        typer.Option(
            "--budget", "-b", metavar="TIME", parser=_budget, help="Time to search for: 30s, 10m, 1h."
        ),
    ] = "10m",  # type: ignore[assignment]  # parsed by _budget
    folds: FoldsOpt = DEFAULT_FOLDS,
    old_folds: OldFoldsOpt = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Where to save the best settings (JSON).", dir_okay=False
        ),
    ] = Path("best.json"),
    top: Annotated[
        int, typer.Option("--top", "-n", metavar="N", min=1, help="Leaderboard rows to show.")
    ] = 10,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", metavar="N", help="Folds fitted at once (-1: one per CPU).")
    ] = -1,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    min_count: MinCountOpt = None,
    dask: DaskOpt = None,
) -> None:
    """Search pipeline settings by grouped cross-validated macro-F1 and save the best.

    Successive halving within the time budget; 'classify train DATA --config FILE' uses the result.
    """
    folds = old_folds or folds
    from classify.evaluation import render
    from classify.evaluation import tuning as tune

    if dask is not None:
        from classify.cluster.jobs import joblib_on_dask, require_dask

        require_dask()
    from classify.atomic import refuse_input_as_output

    refuse_input_as_output(output, [data], what="settings file")
    with progress_display():
        labelled = load_labelled(data, text_col, label_col, min_count)
        if dask is not None:
            # Fold fits go through joblib.Parallel; its dask backend sends them to the cluster.
            with joblib_on_dask(dask) as threads:
                result = tune.tune(labelled, budget=budget, folds=folds, n_jobs=threads, on_progress=info)
        else:
            result = tune.tune(labelled, budget=budget, folds=folds, n_jobs=jobs, on_progress=info)
    if sys.stdout.isatty():
        from rich.console import Console

        title = f"{data}: {result.folds}-fold grouped macro-F1"
        Console().print(render.leaderboard_table(result, top, title=title))
    else:
        typer.echo(render.leaderboard_text(result, top), nl=False)
    best, base = result.best, result.default
    versus = ""
    if base is not None and base is not best and base.train_rows == best.train_rows:
        versus = f" (defaults {base.mean:.3f}, {best.mean - base.mean:+.3f})"
    typer.echo(f"best: {best.settings.describe()}  macro-F1 {best.mean:.3f} ± {best.std:.3f}{versus}")
    stop = "budget spent mid-round" if result.stopped else "budget spent"
    info(
        f"{result.candidates} setting(s) in {result.rounds} round(s), {result.seconds:.0f}s ({stop}); "
        f"the top rung trains on {result.full_rows} rows per fold"
    )
    if best.train_rows < result.full_rows:
        warn("no setting was scored on all training rows: give a larger --budget")
    tune.save_config(result, output)
    typer.echo(f"saved {output}; use it with: classify train {data} --config {output}")
