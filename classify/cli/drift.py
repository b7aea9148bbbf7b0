"""``classify drift``: whether current headlines still look like the model's (:mod:`classify.monitoring`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from classify.cli._common import AllowPickle, ModelOpt, ReportFormat, error, handle_errors, info, load_model
from classify.monitoring.settings import SAMPLE_SIZE, Thresholds

_DEFAULTS = Thresholds()


@handle_errors
def drift_cli(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="[REFERENCE] CURRENT",
            help="Headline files in any input format: REFERENCE (default: the model's training statistics) "
            "and CURRENT.",
            show_default=False,
            dir_okay=False,
        ),
    ],
    model_path: ModelOpt = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", metavar="FORMAT", help="Output format: text or json.")
    ] = ReportFormat.text,
    text_col: Annotated[
        str | None,
        typer.Option("--text-col", metavar="COL", help="Column holding the headline, for table files."),
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", metavar="P", min=0.0, max=1.0, help="Significance level of the tests.")
    ] = _DEFAULTS.alpha,
    write_sample: Annotated[
        Path | None,
        typer.Option(
            "--write-sample",
            metavar="FILE",
            help="Also write a random sample of the CURRENT headlines, one per line: a pool for "
            "'classify label FILE'.",
            dir_okay=False,
        ),
    ] = None,
    sample_size: Annotated[
        int, typer.Option("--sample-size", metavar="N", min=1, help="Headlines in the --write-sample file.")
    ] = SAMPLE_SIZE,
    allow_pickle: AllowPickle = False,
) -> None:
    """Tell whether CURRENT headlines have drifted from REFERENCE (or from the model's training data).

    Compares, through the model: the topic mix (Jensen-Shannon distance, chi-square test), the
    confidence (mean, share under 0.5, Kolmogorov-Smirnov test), the share of unseen words, and the
    accuracy the calibrated confidences promise; then says drift: true or false, why, and what to do.
    No labels needed.
    """
    from classify.monitoring.drift import drift_files
    from classify.monitoring.render import render_text

    if len(files) > 2:
        error("give at most two files: [REFERENCE] CURRENT", code=2)
    reference, current = (files[0], files[1]) if len(files) == 2 else (None, files[0])
    model = load_model(model_path, allow_pickle)
    report = drift_files(
        current,
        reference,
        model=model,
        text_col=text_col,
        thresholds=Thresholds(alpha=alpha),
        write_sample=write_sample,
        sample_size=sample_size,
    )
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(report.to_dict(), indent=1))
    else:
        typer.echo(render_text(report))
    if write_sample is not None:
        info(f"sample of {current} -> {write_sample}; label it with: classify label {write_sample}")
