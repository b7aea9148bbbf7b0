"""``classify predict``: headlines in, topics out (:func:`classify.prediction.files.predict_files`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from classify.cli._common import (
    AllowPickle,
    DaskOpt,
    ModelOpt,
    OutputFormat,
    error,
    handle_errors,
    info,
    load_model,
    progress_display,
    warn,
)
from classify.io.formats import TEXT_COLUMNS
from classify.io.ticker import SEPARATOR_MARKS


@handle_errors
def predict_cli(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[INPUT]...",
            help="Files of headlines (one per line, tickers split), CSV/TSV/JSON Lines tables, or '-' "
            "for stdin (also read when no INPUT is given).",
            show_default=False,
        ),
    ] = None,
    model_path: ModelOpt = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="Output format: table, csv or jsonl [default: table on a terminal, else jsonl].",
        ),
    ] = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", metavar="K", min=1, help="Also give the K most likely topics.")
    ] = 1,
    text_col: Annotated[
        str | None,
        typer.Option(
            "--text-col",
            metavar="COL",
            help="Read the input as a table and classify this column; the other columns pass through "
            "[default for .csv/.tsv/.jsonl files: the first of " + ", ".join(TEXT_COLUMNS) + "].",
        ),
    ] = None,
    no_split: Annotated[
        bool, typer.Option("--no-split", help="One headline per line: do not split ticker lines.")
    ] = False,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            metavar="REGEX",
            help="Separator regex for ticker lines [default: a tab, 3 or more spaces, or a mark standing "
            "alone between spaces: " + " ".join(SEPARATOR_MARKS) + "].",
        ),
    ] = None,
    from_page: Annotated[
        bool, typer.Option("--from-page", help="Input is text scraped from a news page: keep its headlines.")
    ] = False,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            "--min-confidence",
            min=0.0,
            max=1.0,
            metavar="P",
            help="Below this probability the topic is 'uncertain' (best guess kept).",
        ),
    ] = None,
    uncertain_label: Annotated[
        str,
        typer.Option(
            "--uncertain-label", metavar="TOPIC", help="Topic given to headlines below --min-confidence."
        ),
    ] = "uncertain",
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the words that pushed each headline to its topic.")
    ] = False,
    coverage: Annotated[
        float | None,
        typer.Option(
            "--coverage",
            metavar="P",
            help="Add each headline's prediction set: the topics that hold the true one with "
            "probability P (e.g. 0.9), best first. Needs a model trained by this classify.",
        ),
    ] = None,
    per_topic_coverage: Annotated[
        bool,
        typer.Option(
            "--per-topic-coverage",
            help="With --coverage, hold P for every topic alone (class-conditional sets; larger).",
        ),
    ] = False,
    summary: Annotated[
        bool, typer.Option("--summary", help="After the rows, count and share of headlines per topic.")
    ] = False,
    allow_pickle: AllowPickle = False,
    dask: DaskOpt = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="DIR",
            help="Write one output file per input file into DIR (atomically), e.g. for a glob of "
            "partitions; with --dask, on the cluster.",
            file_okay=False,
        ),
    ] = None,
    verbatim_csv: Annotated[
        bool,
        typer.Option(
            "--verbatim-csv",
            help="Write CSV text cells as they are. By default a cell starting with = + - @ or a tab "
            "gets a leading ' so that spreadsheets do not run it as a formula.",
        ),
    ] = False,
) -> None:
    """Classify headlines from files or standard input, in input order."""
    if (dask is not None or output_dir is not None) and coverage is not None:
        error("--coverage is not available with --dask or --output; classify to stdout", code=2)
    if per_topic_coverage and coverage is None:
        error("--per-topic-coverage needs --coverage P", code=2)
    if dask is not None or output_dir is not None:
        _predict_partitioned(inputs, model_path, dask, output_dir, text_col, top_k, fmt)
        return
    from classify.prediction.files import predict_files
    from classify.prediction.results import PredictOptions

    sources: list[Path | str] = list(inputs or [])
    if not sources:
        if sys.stdin is None or sys.stdin.isatty():
            error("no input: give files of headlines, or pipe them on stdin", code=2)
        sources = ["-"]
    for source in sources:
        if str(source) != "-" and not Path(source).exists():
            error(f"{source}: no such file")
    if no_split and split is not None:
        error("give --split or --no-split, not both", code=2)
    model = load_model(model_path, allow_pickle)
    options = PredictOptions(
        top_k=top_k,
        min_confidence=min_confidence,
        uncertain_label=uncertain_label,
        explain=explain,
        coverage=coverage,
        per_topic_coverage=per_topic_coverage,
    )
    fmt = fmt or (OutputFormat.table if sys.stdout.isatty() else OutputFormat.jsonl)
    with progress_display():
        run = predict_files(
            model,
            sources,
            sys.stdout,
            fmt=fmt.value,
            options=options,
            text_col=text_col,
            split=not no_split,
            pattern=split,
            from_page=from_page,
            formula_guard=not verbatim_csv,
        )
    for note in run.warnings:
        warn(note)
    if not run.counts:
        error("no headlines in the input (every line was blank)")
    if summary:
        from classify.prediction.table import summary_lines

        # The summary goes with the table for people; beside machine formats it goes to stderr so
        # that stdout stays parseable.
        to_stderr = fmt is not OutputFormat.table
        typer.echo("", err=to_stderr)
        for line in summary_lines(run.counts):
            typer.echo(line, err=to_stderr)


def _predict_partitioned(
    inputs: list[Path] | None,
    model_path: Path | None,
    dask: str | None,
    output_dir: Path | None,
    text_col: str | None,
    top_k: int,
    fmt: OutputFormat | None,
) -> None:
    from classify.cluster.jobs import predict_partitions, require_dask

    if dask is not None:
        require_dask()
    if output_dir is None:
        error("--dask writes one file per input partition: give --output DIR", code=2)
    if not inputs:
        error("give the input files, e.g. 'archive/*.csv' (quoted: classify expands the glob)", code=2)
    if fmt is OutputFormat.table:
        error("--output writes jsonl or csv files; drop --format table", code=2)
    model = load_model(model_path)
    started = time.perf_counter()
    result = predict_partitions(
        model,
        [str(p) for p in inputs],
        output_dir,
        address=dask,
        text_col=text_col,
        top_k=top_k,
        fmt=(fmt or OutputFormat.jsonl).value,
        on_done=lambda path, n: info(f"wrote {path} ({n} rows)"),
    )
    seconds = time.perf_counter() - started
    parts = f"{result.partitions} partition(s)"
    info(f"classified {result.rows} rows from {parts} in {seconds:.1f}s -> {output_dir}")
