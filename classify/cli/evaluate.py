"""``classify evaluate``: accuracy by cross-validation, of a trained model, or on a test file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from classify.cli._common import (
    AllowPickle,
    DaskOpt,
    DataArg,
    FoldsOpt,
    LabelCol,
    MinCountOpt,
    OldFoldsOpt,
    ReportFormat,
    TextCol,
    error,
    handle_errors,
    info,
    load_labelled,
    load_model,
    progress_display,
)
from classify.evaluation.splits import DEFAULT_FOLDS, DUPLICATE_THRESHOLD


@handle_errors
def evaluate_cli(
    data: DataArg,
    model_path: Annotated[
        Path | None,
        typer.Option(
            "--model", "-m", metavar="FILE", help="Score this trained model on DATA.", dir_okay=False
        ),
    ] = None,
    test: Annotated[
        Path | None,
        typer.Option("--test", metavar="FILE", help="Train on DATA and score on this file.", dir_okay=False),
    ] = None,
    folds: FoldsOpt = DEFAULT_FOLDS,
    old_folds: OldFoldsOpt = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", metavar="FORMAT", help="Report format: text or json.")
    ] = ReportFormat.text,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    min_count: MinCountOpt = None,
    label_map: Annotated[
        str | None,
        typer.Option(
            "--label-map",
            metavar="MAP",
            help="With --model: turn DATA's labels into the model's topics, as LABEL=TOPIC,... or a "
            "file (CSV/TSV of label,topic, or JSON). Labels that differ only in case match anyway.",
        ),
    ] = None,
    group: Annotated[
        bool,
        typer.Option(
            "--group/--no-group",
            help="Keep near-duplicate headlines (one story reworded) in one fold; --no-group uses plain "
            "stratified k-fold, which lets copies leak between folds and flatters the score.",
        ),
    ] = True,
    group_threshold: Annotated[
        float,
        typer.Option(
            "--group-threshold",
            metavar="SIM",
            min=0.01,
            max=1.0,
            help="Similarity (mean of word and character TF-IDF cosines) from which two headlines "
            "are one story.",
        ),
    ] = DUPLICATE_THRESHOLD,
    split_by_date: Annotated[
        bool,
        typer.Option(
            "--split-by-date",
            help="Instead of k-fold, train on the older rows and test on the newest 20% (needs a "
            "date/published/time column, or --date-col).",
        ),
    ] = False,
    date_col: Annotated[
        str | None,
        typer.Option("--date-col", metavar="COL", help="Column holding the date, for --split-by-date."),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="DIR",
            help="Also write metrics.json, report.md, confusion.png and calibration.png into this folder.",
            file_okay=False,
        ),
    ] = None,
    coverage: Annotated[
        float | None,
        typer.Option(
            "--coverage",
            metavar="P",
            help="Also score prediction sets for coverage P: the share holding the true topic, their "
            "mean size, the share of single topics, coverage per topic.",
        ),
    ] = None,
    per_topic_coverage: Annotated[
        bool, typer.Option("--per-topic-coverage", help="With --coverage: class-conditional sets.")
    ] = False,
    allow_pickle: AllowPickle = False,
    dask: DaskOpt = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help="Cross-validate the streaming model, fitting each fold by streaming training. By "
            "default as train decides: streaming for files above 32 MB or Parquet.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Measure accuracy: cross-validation on DATA, a trained model on DATA, or DATA -> --test.

    Cross-validation keeps near-duplicate headlines in one fold unless --no-group is given.
    """
    folds = old_folds or folds
    from classify.evaluation import evaluate as ev
    from classify.evaluation import render

    if label_map is not None and model_path is None:
        error("--label-map maps DATA's labels to a trained model's topics: give --model", code=2)
    if model_path is not None and test is not None:
        error("give --model or --test, not both", code=2)
    if stream and (model_path is not None or test is not None):
        error("--stream is for cross-validation; drop --model/--test", code=2)
    if stream and report_dir is not None:
        error("--report fits the in-memory pipeline; drop --report or --stream", code=2)
    if stream is None:
        from classify.training.files import wants_stream

        stream = model_path is None and test is None and report_dir is None and wants_stream(data)
    if (model_path is not None or test is not None) and (split_by_date or report_dir is not None):
        error("--split-by-date and --report work with cross-validation; drop --model/--test", code=2)
    if date_col is not None and not split_by_date:
        error("--date-col is only used with --split-by-date", code=2)
    if dask is not None and (model_path is not None or test is not None):
        error("--dask runs the cross-validation folds on a cluster; drop --model/--test", code=2)
    if per_topic_coverage and coverage is None:
        error("--per-topic-coverage needs --coverage P", code=2)
    if per_topic_coverage and (model_path is not None or test is not None):
        error("--per-topic-coverage is for cross-validation; drop it or --model/--test", code=2)
    if stream and coverage is not None:
        error("--coverage needs models trained in memory; drop --stream", code=2)
    if dask is not None and coverage is not None:
        error("--coverage runs the folds here; drop --dask", code=2)
    if dask is not None:
        from classify.cluster.jobs import require_dask

        require_dask()
    if report_dir is not None:
        from classify.atomic import refuse_inputs_inside
        from classify.evaluation.report import require_matplotlib

        refuse_inputs_inside(report_dir, [data, model_path, test], what="report folder")

        require_matplotlib()  # fail before minutes of cross-validation, not after
    started = time.perf_counter()
    written: list[Path] = []
    with progress_display():
        labelled = load_labelled(data, text_col, label_col, min_count)
        if model_path is not None:
            from classify.evaluation.label_map import parse_label_map

            mapping = parse_label_map(label_map) if label_map is not None else None
            result = ev.evaluate_model(
                load_model(model_path, allow_pickle), labelled, label_map=mapping, coverage=coverage
            )
            source = f"{data} with {model_path}"
        elif test is not None:
            test_data = load_labelled(test, text_col, label_col, min_count)
            result = ev.train_and_test(labelled, test_data, coverage=coverage)
            source = f"{data} -> {test}"
        else:
            how: dict[str, Any] = {
                "folds": folds,
                "group": group,
                "threshold": group_threshold,
                "split_by_date": split_by_date,
                "date_col": date_col,
            }
            if dask is not None:
                from classify.cluster.jobs import run_cross_validation

                run = run_cross_validation(labelled, dask, stream=stream, **how)
            else:
                run = ev.cross_validate(
                    labelled, stream=stream, coverage=coverage, per_topic_coverage=per_topic_coverage, **how
                )
            result = run.evaluation
            if report_dir is not None:
                from classify.evaluation.report import build_report, write_report

                written = write_report(build_report(labelled, run), report_dir)
            source = str(data)
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(render.evaluation_text(result, source=source), nl=False)
        info(f"took {time.perf_counter() - started:.1f}s")
    if report_dir is not None:
        info(f"wrote {', '.join(p.name for p in written)} to {report_dir}")
