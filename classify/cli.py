"""The ``classify`` command line: a thin typer layer over the library.

This is the only module that prints, reads argv or exits. Every library error becomes one
``Error: ...`` line on stderr and exit code 1; usage errors exit 2 (typer's convention).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from classify import __version__
from classify.config import DEFAULT_FOLDS, MODELS_DIR
from classify.errors import ClassifyError

app = typer.Typer(
    name="classify",
    help="Sort news headlines into topics (TF-IDF + linear classifier).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


def _error(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _warn(message: str) -> None:
    typer.echo(f"Warning: {message}", err=True)


def _info(message: str) -> None:
    typer.echo(message, err=True)


def _handle_errors(fn: F) -> F:
    """Turn exceptions into one line on stderr (``--debug`` shows the traceback instead)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except ClassifyError as exc:
            if _state["debug"]:
                raise
            _error(str(exc))
        except KeyboardInterrupt:
            _error("interrupted", code=130)
        except BrokenPipeError:
            # The reader (e.g. `head`) went away: stop quietly, as Unix tools do.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:  # the last line of defence: never a traceback without --debug
            if _state["debug"]:
                raise
            _error(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)")

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"classify {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")] = False,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """Sort news headlines into topics (TF-IDF + linear classifier)."""
    _state["debug"] = debug


# Shared option types -------------------------------------------------------------------------
TextCol = Annotated[str | None, typer.Option("--text-col", help="Column holding the headline.")]
LabelCol = Annotated[str | None, typer.Option("--label-col", help="Column holding the topic.")]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model file (default: the built-in default model).", dir_okay=False),
]


def _load_model(path: Path | None) -> Any:
    """Load ``path``, or the default model (built on first use, with a note on stderr)."""
    from classify.default_model import load_default_model
    from classify.model import load_model

    model = load_model(path) if path is not None else load_default_model(on_build=_info)
    for note in model.warnings:
        _warn(note)
    return model


def _load_labelled(path: Path, text_col: str | None, label_col: str | None) -> Any:
    from classify.data import load_labelled

    data = load_labelled(path, text_col=text_col, label_col=label_col)
    if data.skipped:
        _warn(f"{path}: skipped {data.skipped} row(s) with an empty headline or label")
    return data


# Commands ------------------------------------------------------------------------------------
@app.command("train")
@_handle_errors
def train_cli(
    data: Annotated[
        Path | None, typer.Argument(help="Labelled CSV, TSV or JSON Lines file.", show_default=False)
    ] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-o",
            help="Where to save the model [default: models/<DATA name>.joblib].",
            dir_okay=False,
        ),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="(Re)build the default model from the shipped corpus.")
    ] = False,
) -> None:
    """Train a model on a labelled file and save it."""
    if default:
        from classify.default_model import build_default_model

        if data is not None:
            _error("--default trains on the shipped corpus; give no DATA with it", code=2)
        model, path, seconds = build_default_model(output)
        rows, topics = model.meta["n_rows"], len(model.topics)
        _info(f"default model: {rows} rows, {topics} topics, {seconds:.1f}s -> {path}")
        return
    if data is None:
        _error("missing DATA: give a labelled CSV, TSV or JSON Lines file (or --default)", code=2)
    from classify.model import save_model
    from classify.train import train

    labelled = _load_labelled(data, text_col, label_col)
    result = train(labelled)
    path = output or MODELS_DIR / f"{data.stem}.joblib"
    save_model(result.model, path)
    topics = ", ".join(f"{t} {n}" for t, n in result.counts.items())
    columns = f"{labelled.text_col} -> {labelled.label_col}"
    typer.echo(f"trained on {result.n_rows} rows ({columns}) in {result.seconds:.1f}s")
    typer.echo(f"topics ({len(result.counts)}): {topics}")
    typer.echo(f"saved {path}")


@app.command("predict")
@_handle_errors
def predict_cli(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files with one headline per line; '-' or nothing reads stdin.", show_default=False
        ),
    ] = None,
    model_path: ModelOpt = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", "-f", help="Output format [default: table on a terminal, else jsonl]."),
    ] = None,
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, help="Also give the K most likely topics.")
    ] = 1,
) -> None:
    """Classify headlines (one per line) from files or standard input."""
    from classify.data import iter_lines
    from classify.predict import predict

    sources: list[Path | str] = list(inputs or [])
    if not sources:
        if sys.stdin is None or sys.stdin.isatty():
            _error("no input: give files of headlines, or pipe them on stdin", code=2)
        sources = ["-"]
    for source in sources:
        if str(source) != "-" and not Path(source).exists():
            _error(f"{source}: no such file")
    model = _load_model(model_path)
    predictions = predict(model, iter_lines(sources), top_k=top_k)
    fmt = fmt or (OutputFormat.table if sys.stdout.isatty() else OutputFormat.jsonl)
    count = _write_predictions(predictions, fmt, top_k)
    if count == 0:
        _error("no headlines in the input (every line was blank)")


def _write_predictions(predictions: Iterable[Any], fmt: OutputFormat, top_k: int) -> int:
    from classify import render

    if fmt is OutputFormat.table:
        from rich.console import Console

        table, count = render.prediction_table(predictions, top_k=top_k)
        if count:
            Console().print(table)
        return count
    writer = render.write_jsonl if fmt is OutputFormat.jsonl else render.write_csv
    return writer(predictions, sys.stdout, top_k=top_k)


@app.command("evaluate")
@_handle_errors
def evaluate_cli(
    data: Annotated[Path, typer.Argument(help="Labelled CSV, TSV or JSON Lines file.", show_default=False)],
    model_path: Annotated[
        Path | None, typer.Option("--model", "-m", help="Score this trained model on DATA.", dir_okay=False)
    ] = None,
    test: Annotated[
        Path | None, typer.Option("--test", help="Train on DATA and score on this file.", dir_okay=False)
    ] = None,
    folds: Annotated[
        int, typer.Option("--folds", "-k", min=2, help="Cross-validation folds.")
    ] = DEFAULT_FOLDS,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")] = ReportFormat.text,
    text_col: TextCol = None,
    label_col: LabelCol = None,
) -> None:
    """Measure accuracy: cross-validation on DATA, a trained model on DATA, or DATA -> --test."""
    from classify import evaluate as ev
    from classify import render

    if model_path is not None and test is not None:
        _error("give --model or --test, not both", code=2)
    started = time.perf_counter()
    labelled = _load_labelled(data, text_col, label_col)
    if model_path is not None:
        result = ev.evaluate_model(_load_model(model_path), labelled)
        source = f"{data} with {model_path}"
    elif test is not None:
        result = ev.train_and_test(labelled, _load_labelled(test, text_col, label_col))
        source = f"{data} -> {test}"
    else:
        result = ev.cross_validate(labelled, folds=folds)
        source = str(data)
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(render.evaluation_text(result, source=source), nl=False)
        _info(f"took {time.perf_counter() - started:.1f}s")


@app.command("topics")
@_handle_errors
def topics_cli(model_path: ModelOpt = None) -> None:
    """List a model's topics with their descriptions (where known) and training counts."""
    from classify.topics import default_topics

    model = _load_model(model_path)
    described = {t.name: t for t in default_topics()}
    counts = model.meta.get("counts", {})
    width = max(len(t) for t in model.topics)
    for topic in model.topics:
        known = described.get(topic)
        text = f"{known.description} [IPTC {known.iptc}]" if known else ""
        typer.echo(f"{topic:<{width}}  {counts.get(topic, 0):>6}  {text}".rstrip())


def main() -> None:
    """Console-script entry point."""
    app()
