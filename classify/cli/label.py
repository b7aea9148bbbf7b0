"""``classify label``: label headlines in a local page, most useful first (:mod:`classify.labelling`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from classify.cli._common import error, handle_errors, info, load_model
from classify.labelling.session import DEFAULT_REFIT_EVERY


@handle_errors
def label_cli(
    pool: Annotated[
        Path,
        typer.Argument(
            metavar="POOL",
            help="Headlines to label: one per line, or a CSV/TSV/JSON Lines table.",
            show_default=False,
            dir_okay=False,
        ),
    ],
    model_path: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            metavar="FILE",
            help="Start from this model [default: the built-in default model].",
            dir_okay=False,
        ),
    ] = None,
    topics: Annotated[
        str | None,
        typer.Option(
            "--topics",
            metavar="TOPICS",
            help="Start with no model, from these comma-separated topics, A,B,... (cold start: diverse "
            "headlines first).",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Answers CSV: appended at each answer; an existing one is resumed.",
            dir_okay=False,
        ),
    ] = Path("labels.csv"),
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Address to listen on (keep it local).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", metavar="PORT", min=1, max=65535, help="Port of the page.")
    ] = 8001,
    refit_every: Annotated[
        int,
        typer.Option(
            "--refit-every", metavar="N", min=1, help="Refit the model on the answers every N labels."
        ),
    ] = DEFAULT_REFIT_EVERY,
    text_col: Annotated[
        str | None,
        typer.Option("--text-col", metavar="COL", help="Column holding the headline, for a table POOL."),
    ] = None,
) -> None:
    """Label headlines in a local web page, most useful first (active learning).

    Keys: 1-9 pick a topic, Enter accepts the suggestion, x skips, u undoes, ? shows help.
    """
    from classify.labelling import app as label_app
    from classify.labelling import session as labelling
    from classify.training import selftrain

    label_app.require_serve()
    if model_path is not None and topics is not None:
        error("give --model or --topics, not both", code=2)
    topic_list = None
    if topics is not None:
        try:
            topic_list = labelling.parse_topics(topics)
        except ValueError as exc:
            error(f"--topics: {exc}", code=2)
    if not pool.exists():
        error(f"{pool}: no such file")
    from classify.atomic import refuse_input_as_output

    refuse_input_as_output(output, [pool], what="answers file")
    headlines = selftrain.read_pool(pool, text_col=text_col)
    start = None if topic_list is not None else load_model(model_path)
    info(f"{pool}: {len(headlines)} headlines; preparing the order...")
    session = labelling.LabelSession(
        headlines, output, topics=topic_list, start_model=start, refit_every=refit_every
    )
    if session.added_topics:
        given = "--topics" if topic_list is not None else "the model's topics"
        info(
            f"warning: {output} holds answers with topics not in {given}: "
            f"{', '.join(session.added_topics)}; they are offered as buttons too "
            f"(add them to --topics to silence this, or fix the file)"
        )
    progress = session.progress()
    resumed = (
        f" (resuming: {progress.labelled} labelled, {progress.skipped} skipped)"
        if session.progress().labelled + progress.skipped
        else ""
    )
    info(f"{progress.remaining} to label, topics: {', '.join(session.topics)}; answers -> {output}{resumed}")
    # Said at the start: uvicorn re-raises the signal that stopped it, so nothing runs after serve().
    info("then train on the answers and the rest of the pool (self-training):")
    original, missing = labelling.original_training_file(start) if start is not None else (None, None)
    info("  " + labelling.train_command(output, pool, text_col=text_col, original=original))
    if missing:
        info(f"  ({missing})")
    info(f"open http://{host}:{port}/  (Ctrl-C to stop; every answer is already saved)")
    label_app.serve(session, host=host, port=port)
