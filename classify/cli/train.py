"""``classify train``: a labelled file in, a model file out (:func:`classify.training.files.train_file`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from classify.cli._common import (
    ConfigOpt,
    LabelCol,
    MinCountOpt,
    TextCol,
    deprecated,
    error,
    handle_errors,
    info,
    progress_display,
    say,
    warn,
)
from classify.io.labelled import LABEL_SEP
from classify.training.selftrain import DEFAULT_ROUNDS, DEFAULT_THRESHOLD


@handle_errors
def train_cli(
    data: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[DATA]...",
            help="Labelled CSV, TSV or JSON Lines file(s); several are trained on as one.",
            show_default=False,
        ),
    ] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    min_count: MinCountOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to save the model [default: DATA's name with .model, in the current folder].",
            dir_okay=False,
        ),
    ] = None,
    old_output: Annotated[
        Path | None,
        typer.Option(
            "--model",
            hidden=True,
            dir_okay=False,
            help="Deprecated: -o/--output.",
            callback=deprecated("train --model", "-o/--output"),
        ),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="(Re)build the default model from the shipped corpus.")
    ] = False,
    config: ConfigOpt = None,
    unlabelled: Annotated[
        Path | None,
        typer.Option(
            "--unlabelled",
            metavar="POOL",
            help="Self-training: also learn from this file of unlabelled headlines (confident predictions "
            "become labels, for a few rounds).",
            dir_okay=False,
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            metavar="P",
            min=0.01,
            max=1.0,
            help="With --unlabelled: probability from which a prediction is used.",
        ),
    ] = DEFAULT_THRESHOLD,
    rounds: Annotated[
        int,
        typer.Option("--rounds", metavar="N", min=0, help="With --unlabelled: rounds of pseudo-labelling."),
    ] = DEFAULT_ROUNDS,
    pool_text_col: Annotated[
        str | None,
        typer.Option(
            "--pool-text-col",
            metavar="COL",
            help="With --unlabelled: column holding the headline, for a table POOL.",
        ),
    ] = None,
    stream: Annotated[
        bool | None,
        typer.Option(
            "--stream/--no-stream",
            help="Read DATA in chunks with hashed features, never holding it in memory [default: on for "
            "files over 32 MB (x4 for .gz) and for Parquet].",
            show_default=False,
        ),
    ] = None,
    passes: Annotated[
        int | None,
        typer.Option(
            "--passes",
            metavar="N",
            min=1,
            help="Passes over DATA when streaming [default: 2; 1 from 500,000 rows].",
        ),
    ] = None,
    label_sep: Annotated[
        str,
        typer.Option(
            "--label-sep",
            metavar="SEP",
            help="Between the topics of a label cell that holds several (economy|diplomacy): such data "
            "trains a multi-label model. An empty string: a cell is one topic. JSON Lines labels may "
            "also be lists.",
        ),
    ] = LABEL_SEP,
    min_precision: Annotated[
        float | None,
        typer.Option(
            "--min-precision",
            min=0.0,
            max=1.0,
            metavar="P",
            help="Multi-label data: choose each topic's threshold for this precision (the most recall "
            "that reaches it) instead of for the best F1.",
        ),
    ] = None,
) -> None:
    """Train a model on a labelled file and save it (--unlabelled POOL: self-training)."""
    output = output or old_output
    if default:
        _train_default(data, config, unlabelled, output)
        return
    if not data:
        error("missing DATA: give a labelled CSV, TSV or JSON Lines file (or --default)", code=2)
    from classify.training.files import train_file

    with progress_display():
        result = train_file(
            data,
            output=output,
            text_col=text_col,
            label_col=label_col,
            min_count=min_count,
            config=config,
            stream=stream,
            passes=passes,
            pool=unlabelled,
            pool_text_col=pool_text_col,
            threshold=threshold,
            rounds=rounds,
            label_sep=label_sep or None,
            min_precision=min_precision,
            on_info=info,
            on_warning=warn,
        )
    topics = ", ".join(f"{t} {n}" for t, n in result.counts.items())
    if result.route == "stream":
        from classify.evaluation.render import passes_text

        how = f"(streaming, {passes_text(result.passes)}) "
        say(f"trained {how}on {result.n_rows} rows in {result.seconds:.1f}s")
    else:
        columns = f"{result.columns[0]} -> {result.columns[1]}" if result.columns else ""
        say(f"trained on {result.n_rows} rows ({columns}) in {result.seconds:.1f}s")
    say(f"topics ({len(result.counts)}): {topics}")
    thresholds = result.model.thresholds()
    if thresholds is not None:
        cuts = ", ".join(f"{t} {v:.2f}" for t, v in thresholds.values.items())
        say(f"multi-label: a topic is a label from its threshold ({thresholds.rule}): {cuts}")
    say(f"saved {result.path}")


def _train_default(
    data: list[Path] | None, config: Path | None, unlabelled: Path | None, output: Path | None
) -> None:
    from classify.training.default_model import build_default_model

    if data:
        error("--default trains on the shipped corpus; give no DATA with it", code=2)
    if config is not None:
        error("--default builds the default model with the default settings; drop --config", code=2)
    if unlabelled is not None:
        error("--default builds the default model from the shipped corpus alone; drop --unlabelled", code=2)
    model, path, seconds = build_default_model(output)
    rows, n_topics = model.meta["n_rows"], len(model.topics)
    info(f"default model: {rows} rows, {n_topics} topics, {seconds:.1f}s -> {path}")
