"""The ``classify`` command line: a thin typer layer over the library.

This is the only module that prints, reads argv or exits. Every library error becomes one
``Error: ...`` line on stderr and exit code 1, with the library's argument names spelled as this
command line's flags; usage errors exit 2 (typer's convention). It is long because it declares every
command's options and help, which is its one job; the work of each command is a library call.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from classify.version import __version__
from classify.errors import ClassifyError
from classify.paths import MODELS_DIR
from classify.evaluation.splits import DEFAULT_FOLDS

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
            _error(exc.render(_flag))
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


#: Library arguments whose command-line flag is not simply ``--`` + the name with dashes.
_FLAGS = {
    "group=False": "--no-group",
    "threshold": "--group-threshold",
    "report": "--report",
    "budget": "--budget",
}


def _flag(argument: str) -> str:
    """The flag that sets a library argument named in an error (``text_col`` -> ``--text-col``)."""
    return _FLAGS.get(argument) or "--" + argument.replace("_", "-")


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
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' for a LocalCluster "
        "of this machine's cores. Needs pip install 'classify[dask]'.",
    ),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option("--model", "-m", help="Model file (default: the built-in default model).", dir_okay=False),
]


AllowPickle = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Also load a pickle-based model file of classify 0.1. Loading a pickle can run code: "
        "only for files you made or trust.",
    ),
]


def _load_model(path: Path | None, allow_pickle: bool = False) -> Any:
    """Load ``path``, or the default model (built on first use, with a note on stderr)."""
    from classify.training.default_model import load_default_model
    from classify.pipeline.model import load_model

    if path is not None:
        model = load_model(path, allow_pickle=allow_pickle)
    else:
        model = load_default_model(on_build=_info)
    for note in model.warnings:
        _warn(note)
    return model


def _load_labelled(path: Path, text_col: str | None, label_col: str | None) -> Any:
    from classify.io.labelled import load_labelled

    data = load_labelled(path, text_col=text_col, label_col=label_col)
    if data.skipped:
        _warn(f"{path}: skipped {data.skipped} row(s) with an empty headline or label")
    for note in data.warnings:
        _warn(note)
    return data


# Self-training options of `train` (issue 14); the helper _self_train is at the end of the file.
DEFAULT_SELF_TRAIN_THRESHOLD, DEFAULT_SELF_TRAIN_ROUNDS = 0.9, 3  # = classify.training.selftrain's defaults
UnlabelledOpt = Annotated[
    Path | None,
    typer.Option(
        "--unlabelled",
        metavar="POOL",
        help="Self-training: also learn from this file of unlabelled headlines (confident predictions "
        "become labels, for a few rounds).",
        dir_okay=False,
    ),
]
ThresholdOpt = Annotated[
    float,
    typer.Option(
        "--threshold",
        min=0.01,
        max=1.0,
        help="With --unlabelled: probability from which a prediction is used.",
    ),
]
RoundsOpt = Annotated[
    int, typer.Option("--rounds", min=0, help="With --unlabelled: rounds of pseudo-labelling.")
]
PoolTextColOpt = Annotated[
    str | None,
    typer.Option("--pool-text-col", help="With --unlabelled: column holding the headline, for a table POOL."),
]


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
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", metavar="FILE", help="Pipeline settings from 'classify tune' (JSON).", dir_okay=False
        ),
    ] = None,
    unlabelled: UnlabelledOpt = None,
    threshold: ThresholdOpt = DEFAULT_SELF_TRAIN_THRESHOLD,
    rounds: RoundsOpt = DEFAULT_SELF_TRAIN_ROUNDS,
    pool_text_col: PoolTextColOpt = None,
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
            "--passes", min=1, help="Passes over DATA when streaming [default: 2; 1 from 500,000 rows]."
        ),
    ] = None,
) -> None:
    """Train a model on a labelled file and save it (--unlabelled POOL: self-training)."""
    if default:
        from classify.training.default_model import build_default_model

        if data is not None:
            _error("--default trains on the shipped corpus; give no DATA with it", code=2)
        if config is not None:
            _error("--default builds the default model with the default settings; drop --config", code=2)
        if unlabelled is not None:
            _error(
                "--default builds the default model from the shipped corpus alone; drop --unlabelled", code=2
            )
        model, path, seconds = build_default_model(output)
        rows, n_topics = model.meta["n_rows"], len(model.topics)
        _info(f"default model: {rows} rows, {n_topics} topics, {seconds:.1f}s -> {path}")
        return
    if data is None:
        _error("missing DATA: give a labelled CSV, TSV or JSON Lines file (or --default)", code=2)
    if _wants_stream(data, stream, config, passes):
        _train_streaming(data, text_col, label_col, output, passes)
        return
    from classify.pipeline.model import save_model
    from classify.training.memory import train

    settings = None
    if config is not None:
        from classify.pipeline.settings import load_settings_file

        settings = load_settings_file(config)  # before reading DATA: a typo in the file fails at once
    labelled = _load_labelled(data, text_col, label_col)
    if settings is not None and settings.data_hash and settings.data_hash != labelled.fingerprint():
        _warn(f"{config}: tuned on other data than {data}; its settings may not suit it")
    if unlabelled is not None:
        result = _self_train(
            labelled, unlabelled, settings.params if settings else None, threshold, rounds, pool_text_col
        )
    else:
        result = train(labelled, params=settings.params if settings else None)
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
            help="Files of headlines (one per line, tickers split), CSV/TSV/JSON Lines tables, or '-' "
            "for stdin (also read when no INPUT is given).",
            show_default=False,
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
    text_col: Annotated[
        str | None,
        typer.Option(
            "--text-col",
            help="Read the input as a table and classify this column; the other columns pass through.",
        ),
    ] = None,
    no_split: Annotated[
        bool, typer.Option("--no-split", help="One headline per line: do not split ticker lines.")
    ] = False,
    split: Annotated[
        str | None, typer.Option("--split", metavar="REGEX", help="Separator regex for ticker lines.")
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
        str, typer.Option("--uncertain-label", help="Topic given to headlines below --min-confidence.")
    ] = "uncertain",
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the words that pushed each headline to its topic.")
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
    from classify.prediction.predictor import PredictOptions, predict_record_batches
    from classify.io.records import iter_records
    from classify.prediction.writers import get_writer, summary_lines

    if dask is not None or output_dir is not None:
        _predict_partitioned(inputs, model_path, dask, output_dir, text_col, top_k, fmt)
        return
    sources: list[Path | str] = list(inputs or [])
    if not sources:
        if sys.stdin is None or sys.stdin.isatty():
            _error("no input: give files of headlines, or pipe them on stdin", code=2)
        sources = ["-"]
    for source in sources:
        if str(source) != "-" and not Path(source).exists():
            _error(f"{source}: no such file")
    if no_split and split is not None:
        _error("give --split or --no-split, not both", code=2)
    model = _load_model(model_path, allow_pickle)
    from classify.io.reading import InputReport

    report = InputReport()  # bad bytes and cut headlines, told once the input is read
    records = iter_records(
        sources, text_col=text_col, split=not no_split, pattern=split, from_page=from_page, report=report
    )
    options = PredictOptions(
        top_k=top_k, min_confidence=min_confidence, uncertain_label=uncertain_label, explain=explain
    )
    fmt = fmt or (OutputFormat.table if sys.stdout.isatty() else OutputFormat.jsonl)
    writer = get_writer(fmt.value, sys.stdout, formula_guard=not verbatim_csv)
    counts: Counter[str] = Counter()
    for batch in _with_progress(predict_record_batches(model, records, options)):
        writer.write_batch(batch)
        counts.update(batch.topic_names())
    writer.close()
    for note in report.warnings():
        _warn(note)
    if writer.replaced:
        _warn(
            f"{writer.replaced} row(s) held text that cannot be written as {writer.encoding} (such as a "
            f"lone surrogate from a JSON escape); written with U+FFFD instead, first in output row "
            f"{writer.first_replaced}"
        )
    if not counts:
        _error("no headlines in the input (every line was blank)")
    if summary:
        # The summary goes with the table for people; beside machine formats it goes to stderr so
        # that stdout stays parseable.
        to_stderr = fmt is not OutputFormat.table
        typer.echo("", err=to_stderr)
        for line in summary_lines(counts):
            typer.echo(line, err=to_stderr)


def _with_progress(batches: Iterator[Any]) -> Iterator[Any]:
    """Show a live count on stderr for long runs, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield from batches
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.completed:,} headlines"), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=_stderr_console()) as progress:
        task = progress.add_task("classify", total=None)
        for batch in batches:
            yield batch
            progress.update(task, advance=len(batch))


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


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
            min=0.01,
            max=1.0,
            help="Similarity (mean of word and character TF-IDF cosines) from which two headlines "
            "are one story.",
        ),
    ] = 0.5,
    split_by_date: Annotated[
        bool,
        typer.Option(
            "--split-by-date",
            help="Instead of k-fold, train on the older rows and test on the newest 20% (needs a "
            "date/published/time column, or --date-col).",
        ),
    ] = False,
    date_col: Annotated[
        str | None, typer.Option("--date-col", help="Column holding the date, for --split-by-date.")
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write metrics.json, report.md, confusion.png and calibration.png into this folder.",
            file_okay=False,
        ),
    ] = None,
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
    from classify.evaluation import evaluate as ev
    from classify.evaluation import render

    if model_path is not None and test is not None:
        _error("give --model or --test, not both", code=2)
    if stream and (model_path is not None or test is not None):
        _error("--stream is for cross-validation; drop --model/--test", code=2)
    if stream and report_dir is not None:
        _error("--report fits the in-memory pipeline; drop --report or --stream", code=2)
    if stream is None:
        from classify.training.stream import should_stream

        stream = model_path is None and test is None and report_dir is None and should_stream(data)
    if (model_path is not None or test is not None) and (split_by_date or report_dir is not None):
        _error("--split-by-date and --report work with cross-validation; drop --model/--test", code=2)
    if date_col is not None and not split_by_date:
        _error("--date-col is only used with --split-by-date", code=2)
    if dask is not None and (model_path is not None or test is not None):
        _error("--dask runs the cross-validation folds on a cluster; drop --model/--test", code=2)
    if dask is not None:
        from classify.cluster.jobs import require_dask

        require_dask()
    if report_dir is not None:
        from classify.evaluation.report import require_matplotlib

        require_matplotlib()  # fail before minutes of cross-validation, not after
    started = time.perf_counter()
    written: list[Path] = []
    labelled = _load_labelled(data, text_col, label_col)
    if model_path is not None:
        result = ev.evaluate_model(_load_model(model_path, allow_pickle), labelled)
        source = f"{data} with {model_path}"
    elif test is not None:
        result = ev.train_and_test(labelled, _load_labelled(test, text_col, label_col))
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
            run = ev.cross_validate(labelled, stream=stream, **how)
        result = run.evaluation
        if report_dir is not None:
            from classify.evaluation.report import build_report, write_report

            written = write_report(build_report(labelled, run), report_dir)
        source = str(data)
    if fmt is ReportFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        typer.echo(render.evaluation_text(result, source=source), nl=False)
        _info(f"took {time.perf_counter() - started:.1f}s")
    if report_dir is not None:
        _info(f"wrote {', '.join(p.name for p in written)} to {report_dir}")


@app.command("topics")
@_handle_errors
def topics_cli(model_path: ModelOpt = None, allow_pickle: AllowPickle = False) -> None:
    """List a model's topics with their descriptions (where known) and training counts."""
    from classify.topics import default_topics

    model = _load_model(model_path, allow_pickle)
    described = {t.name: t for t in default_topics()}
    counts = model.meta.get("counts", {})
    width = max(len(t) for t in model.topics)
    for topic in model.topics:
        known = described.get(topic)
        text = f"{known.description} [IPTC {known.iptc}]" if known else ""
        typer.echo(f"{topic:<{width}}  {counts.get(topic, 0):>6}  {text}".rstrip())


def _usage_parser(module: str, name: str) -> Callable[[str], Any]:
    """An option parser for typer: the library's ``module.name(value)``, a ValueError becoming a usage
    error (exit 2) that names the value. The module is imported on use, to keep start-up short."""

    def parse(value: str) -> Any:
        import importlib

        try:
            return getattr(importlib.import_module(module), name)(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parse


_budget = _usage_parser("classify.evaluation.tuning", "parse_budget")


@app.command("tune")
@_handle_errors
def tune_cli(
    data: Annotated[Path, typer.Argument(help="Labelled CSV, TSV or JSON Lines file.", show_default=False)],
    budget: Annotated[
        float,
        typer.Option(
            "--budget", "-b", metavar="TIME", parser=_budget, help="Time to search for: 30s, 10m, 1h."
        ),
    ] = "10m",  # type: ignore[assignment]  # parsed by _budget
    folds: Annotated[
        int, typer.Option("--folds", "-k", min=2, help="Cross-validation folds (grouped, as evaluate).")
    ] = DEFAULT_FOLDS,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to save the best settings (JSON).", dir_okay=False)
    ] = Path("best.json"),
    top: Annotated[int, typer.Option("--top", min=1, help="Leaderboard rows to show.")] = 10,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Folds fitted at once (-1: one per CPU).")] = -1,
    text_col: TextCol = None,
    label_col: LabelCol = None,
    dask: DaskOpt = None,
) -> None:
    """Search pipeline settings by grouped cross-validated macro-F1 and save the best.

    Successive halving within the time budget; 'classify train DATA --config FILE' uses the result.
    """
    from classify.evaluation import render
    from classify.evaluation import tuning as tune

    if dask is not None:
        from classify.cluster.jobs import joblib_on_dask, require_dask

        require_dask()
    labelled = _load_labelled(data, text_col, label_col)
    if dask is not None:
        # Fold fits go through joblib.Parallel; its dask backend sends them to the cluster.
        with joblib_on_dask(dask) as threads:
            result = tune.tune(labelled, budget=budget, folds=folds, n_jobs=threads, on_progress=_info)
    else:
        result = tune.tune(labelled, budget=budget, folds=folds, n_jobs=jobs, on_progress=_info)
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
    _info(
        f"{result.candidates} setting(s) in {result.rounds} round(s), {result.seconds:.0f}s ({stop}); "
        f"the top rung trains on {result.full_rows} rows per fold"
    )
    if best.train_rows < result.full_rows:
        _warn("no setting was scored on all training rows: give a larger --budget")
    tune.save_config(result, output)
    typer.echo(f"saved {output}; use it with: classify train {data} --config {output}")


class AuditFormat(StrEnum):
    table = "table"
    csv = "csv"


@app.command("audit")
@_handle_errors
def audit_cli(
    data: Annotated[Path, typer.Argument(help="Labelled CSV, TSV or JSON Lines file.", show_default=False)],
    folds: Annotated[
        int, typer.Option("--folds", "-k", min=2, help="Cross-validation folds (grouped, as evaluate).")
    ] = DEFAULT_FOLDS,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            "-n",
            min=0,
            help="Rows of likely label errors, and near-duplicate groups, to show (0: all).",
        ),
    ] = 20,
    fmt: Annotated[
        AuditFormat | None,
        typer.Option("--format", "-f", help="Output format [default: table on a terminal, else csv]."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", metavar="FILE", help="Pipeline settings from 'classify tune' (JSON).", dir_okay=False
        ),
    ] = None,
    text_col: TextCol = None,
    label_col: LabelCol = None,
) -> None:
    """List rows whose label looks wrong, and near-duplicates labelled differently.

    Each row is judged by a model cross-validated on grouped folds that never saw it.
    """
    from classify.evaluation import auditing as audit

    params = None
    if config is not None:
        from classify.pipeline.settings import load_settings_file

        params = load_settings_file(config).settings
    labelled = _load_labelled(data, text_col, label_col)
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


@app.command("convert")
@_handle_errors
def convert_cli(
    source: Annotated[Path, typer.Argument(help="A model file of an older classify.", show_default=False)],
    target: Annotated[Path, typer.Argument(help="Where to write it in today's format.", show_default=False)],
    allow_pickle: AllowPickle = False,
) -> None:
    """Rewrite a model file in today's format (arrays and JSON, which cannot run code when loaded)."""
    from classify.pipeline.model import save_model

    model = _load_model(source, allow_pickle)
    save_model(model, target)
    typer.echo(f"converted {source} -> {target} ({len(model.topics)} topics)")


# Archive scale (issue 10): streaming training and partitioned prediction ---------------------------
def _wants_stream(data: Path, stream: bool | None, config: Path | None, passes: int | None) -> bool:
    """Whether to train by streaming: asked for, or (not refused) a big file or Parquet."""
    from classify.training.stream import should_stream

    if stream and config is not None:
        _error("--config holds settings of the in-memory pipeline; drop it or --stream", code=2)
    if stream is False and passes is not None:
        _error("--passes is for streaming training; drop it or --no-stream", code=2)
    if stream is None:
        stream = passes is not None or (config is None and should_stream(data))
    return stream


def _train_streaming(
    data: Path, text_col: str | None, label_col: str | None, output: Path | None, passes: int | None
) -> None:
    from classify.pipeline.model import save_model
    from classify.evaluation.render import passes_text
    from classify.training.stream import StreamSettings, train_stream

    settings = StreamSettings() if passes is None else StreamSettings(passes=passes)
    tty = sys.stderr.isatty()
    shown = {"pass": -1}

    def progress(p: Any) -> None:
        where = "scan" if p.phase == "scan" else f"pass {p.pass_number}/{p.passes}"
        if p.phase == "calibrate":
            where = "calibrating"
        total = f"/{p.rows_total:,}" if p.rows_total else ""
        eta = f", ETA {_duration(p.eta)}" if p.eta is not None else ""
        line = f"{where}: {p.rows_read:,}{total} rows, {_duration(p.elapsed)} elapsed{eta}"
        if tty:
            sys.stderr.write("\r" + line.ljust(78))
            sys.stderr.flush()
        elif p.pass_number != shown["pass"] or p.phase == "calibrate":
            shown["pass"] = p.pass_number
            _info(line)

    try:
        result = train_stream(
            data, text_col=text_col, label_col=label_col, settings=settings, on_progress=progress
        )
    finally:
        if tty:
            sys.stderr.write("\n")
    if result.malformed:
        where = "; ".join(f"line {n}: {why}" for n, why in result.bad_lines[:5])
        more = ", ..." if result.malformed > 5 else ""
        _warn(f"{data}: skipped {result.malformed} malformed row(s) ({where}{more})")
    if result.skipped:
        _warn(f"{data}: skipped {result.skipped} row(s) with an empty headline or label")
    if result.model.meta["stream"]["sorted_chunks"] > 1:
        _warn(
            f"{data}: {result.model.meta['stream']['sorted_chunks']} chunks hold a single topic; rows "
            "sorted by topic train poorly: shuffle the file"
        )
    path = output or MODELS_DIR / f"{data.name.split('.')[0]}.joblib"
    save_model(result.model, path)
    topics = ", ".join(f"{t} {n}" for t, n in result.counts.items())
    typer.echo(
        f"trained (streaming, {passes_text(result.passes)}) on {result.n_rows} rows in {result.seconds:.1f}s"
    )
    typer.echo(f"topics ({len(result.counts)}): {topics}")
    typer.echo(f"saved {path}")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


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
        _error("--dask writes one file per input partition: give --output DIR", code=2)
    if not inputs:
        _error("give the input files, e.g. 'archive/*.csv' (quoted: classify expands the glob)", code=2)
    if fmt is OutputFormat.table:
        _error("--output writes jsonl or csv files; drop --format table", code=2)
    model = _load_model(model_path)
    started = time.perf_counter()
    result = predict_partitions(
        model,
        [str(p) for p in inputs],
        output_dir,
        address=dask,
        text_col=text_col,
        top_k=top_k,
        fmt=(fmt or OutputFormat.jsonl).value,
        on_done=lambda path, n: _info(f"wrote {path} ({n} rows)"),
    )
    seconds = time.perf_counter() - started
    parts = f"{result.partitions} partition(s)"
    _info(f"classified {result.rows} rows from {parts} in {seconds:.1f}s -> {output_dir}")


def main() -> None:
    """Console-script entry point."""
    app()


# classify serve ------------------------------------------------------------------------------
_size = _usage_parser("classify.serve", "parse_size")


@app.command("serve")
@_handle_errors
def serve_cli(
    model_path: ModelOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback unless told otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Worker processes (each holds the model).")
    ] = 1,
    max_batch: Annotated[
        int, typer.Option("--max-batch", min=1, help="Most headlines in one request (more: 413).")
    ] = 1000,
    max_body: Annotated[
        int,
        typer.Option(
            "--max-body",
            metavar="SIZE",
            parser=_size,
            help="Largest request body: 1MB, 512KB, ... (more: 413).",
        ),
    ] = "1MB",  # type: ignore[assignment]  # parsed by _size
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            metavar="VAR",
            help="Require the API key held in this environment variable on /v1/* and /metrics.",
        ),
    ] = None,
    cors: Annotated[
        list[str] | None,
        typer.Option(
            "--cors", metavar="ORIGIN", help="Allow browser pages from ORIGIN to call the API (repeatable)."
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.001, help="Seconds a request may take before it is answered 408/503."
        ),
    ] = 10.0,
    reload_interval: Annotated[
        float,
        typer.Option(
            "--reload-interval", min=0.0, help="Seconds between checks for a replaced model file (0: never)."
        ),
    ] = 1.0,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log one line per request.")
    ] = True,
) -> None:
    """Run the HTTP service and the web page (needs: pip install 'classify[serve]').

    POST /v1/classify, GET /v1/topics, /v1/model, /healthz, /readyz, /metrics; the page at /, the
    API docs at /docs. A replaced model file is loaded without a restart.
    """
    from classify.serve import ServeSettings, run

    settings = ServeSettings(
        model=model_path,
        host=host,
        port=port,
        workers=workers,
        max_batch=max_batch,
        max_body=max_body,
        api_key_env=api_key_env,
        cors=tuple(cors or ()),
        timeout=timeout,
        reload_interval=reload_interval,
        access_log=access_log,
    )
    if model_path is not None and not model_path.exists():
        _error(f"{model_path}: no such model file; train one with 'classify train DATA -o {model_path}'")
    run(settings, on_info=_info)


def _self_train(
    labelled: Any, pool_path: Path, params: Any, threshold: float, rounds: int, text_col: str | None = None
) -> Any:
    """``train --unlabelled``: the self-training loop, with a line per round on stderr."""
    from classify.training import selftrain

    pool = selftrain.read_pool(pool_path, text_col=text_col)
    _info(
        f"self-training with {pool_path}: {len(pool)} headlines, threshold {threshold}, "
        f"up to {rounds} round(s)"
    )

    def report(step: Any) -> None:
        _info(f"  round {step.round}: {step.added} pseudo-labelled ({step.changed} changed)")

    result = selftrain.self_train(
        labelled,
        pool,
        threshold=threshold,
        rounds=rounds,
        params=params,
        pool_name=str(pool_path),
        on_round=report,
    )
    if result.pseudo_labelled == 0:
        _warn(f"{pool_path}: no headline reached probability {threshold}; the model learnt from DATA alone")
    return result


@app.command("label")
@_handle_errors
def label_cli(
    pool: Annotated[
        Path,
        typer.Argument(
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
            help="Start from this model [default: the built-in default model].",
            dir_okay=False,
        ),
    ] = None,
    topics: Annotated[
        str | None,
        typer.Option(
            "--topics",
            metavar="A,B,...",
            help="Start with no model, from these comma-separated topics (cold start: diverse "
            "headlines first).",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Answers CSV: appended at each answer; an existing one is resumed.",
            dir_okay=False,
        ),
    ] = Path("labels.csv"),
    host: Annotated[str, typer.Option("--host", help="Address to listen on (keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port of the page.")] = 8001,
    refit_every: Annotated[
        int, typer.Option("--refit-every", min=1, help="Refit the model on the answers every N labels.")
    ] = 10,
    text_col: Annotated[
        str | None, typer.Option("--text-col", help="Column holding the headline, for a table POOL.")
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
        _error("give --model or --topics, not both", code=2)
    topic_list = None
    if topics is not None:
        try:
            topic_list = labelling.parse_topics(topics)
        except ValueError as exc:
            _error(f"--topics: {exc}", code=2)
    if not pool.exists():
        _error(f"{pool}: no such file")
    headlines = selftrain.read_pool(pool, text_col=text_col)
    start = None if topic_list is not None else _load_model(model_path)
    _info(f"{pool}: {len(headlines)} headlines; preparing the order...")
    session = labelling.LabelSession(
        headlines, output, topics=topic_list, start_model=start, refit_every=refit_every
    )
    progress = session.progress()
    resumed = (
        f" (resuming: {progress.labelled} labelled, {progress.skipped} skipped)"
        if session.progress().labelled + progress.skipped
        else ""
    )
    _info(f"{progress.remaining} to label, topics: {', '.join(session.topics)}; answers -> {output}{resumed}")
    # Said at the start: uvicorn re-raises the signal that stopped it, so nothing runs after serve().
    _info("then train on the answers and the rest of the pool (self-training):")
    _info("  " + labelling.train_command(output, pool, text_col=text_col))
    _info(f"open http://{host}:{port}/  (Ctrl-C to stop; every answer is already saved)")
    label_app.serve(session, host=host, port=port)
