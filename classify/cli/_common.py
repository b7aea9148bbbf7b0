"""What every command shares: the typer app, error handling, messages, option types, progress.

The command line is the only layer that prints, reads argv or exits. Every library error becomes one
``Error: ...`` line on stderr and exit code 1 (2 for arguments that do not go together), with the
library's argument names spelled as this command line's flags; usage errors exit 2 (typer's
convention).
"""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from classify.errors import ClassifyError, ClassifyWarning, UsageError
from classify.io.formats import LABEL_COLUMNS, TEXT_COLUMNS
from classify.text import printable
from classify.version import __version__

app = typer.Typer(
    name="classify",
    help="Sort news headlines into topics (TF-IDF + linear classifier).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False, "quiet": False}
F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"


def error(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {printable(message)}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"Warning: {printable(message)}", err=True)


def info(message: str) -> None:
    typer.echo(printable(message), err=True)


def say(message: str, *, err: bool = False) -> None:
    """A line for people on stdout (or stderr), with the data in it shown, never obeyed
    (:func:`classify.text.printable`)."""
    typer.echo(printable(message), err=err)


def handle_errors(fn: F) -> F:
    """Turn exceptions into one line on stderr (``--debug`` shows the traceback instead)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with warnings.catch_warnings():
                # The library's warnings become one "Warning:" line each, as its errors do.
                warnings.simplefilter("always", ClassifyWarning)
                shown = warnings.showwarning

                def show(message: Any, category: type[Warning], *rest: Any, **named: Any) -> None:
                    if isinstance(message, ClassifyWarning):
                        warn(message.render(flag))
                    else:
                        shown(message, category, *rest, **named)

                warnings.showwarning = show
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except ClassifyError as exc:
            if _state["debug"]:
                raise
            error(exc.render(flag), code=2 if isinstance(exc, UsageError) else 1)
        except KeyboardInterrupt:
            error("interrupted", code=130)
        except BrokenPipeError:
            # The reader (e.g. `head`) went away: stop quietly, as Unix tools do.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:  # the last line of defence: never a traceback without --debug
            if _state["debug"]:
                raise
            error(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)")

    return wrapper  # type: ignore[return-value]


#: Library arguments whose command-line flag is not simply ``--`` + the name with dashes.
_FLAGS = {
    "group=False": "--no-group",
    "threshold": "--group-threshold",
    "report": "--report",
    "budget": "--budget",
    "pool": "--unlabelled",
    "model": "-m/--model",
    "reference": "REFERENCE",
}


def flag(argument: str) -> str:
    """The flag that sets a library argument named in an error (``text_col`` -> ``--text-col``)."""
    return _FLAGS.get(argument) or "--" + argument.replace("_", "-")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"classify {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")] = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress display on a terminal (results and errors only)."),
    ] = False,
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """Sort news headlines into topics (TF-IDF + linear classifier)."""
    _state["debug"] = debug
    _state["quiet"] = quiet


def deprecated(old: str, new: str) -> Callable[[Any], Any]:
    """A callback for an old spelling of an option: it keeps working, with a one-line warning."""

    def callback(value: Any) -> Any:
        if value not in (None, False):
            warn(f"{old} is deprecated and will be removed after 0.2; use {new}")
        return value

    return callback


def usage_parser(module: str, name: str) -> Callable[[str], Any]:
    """An option parser for typer: the library's ``module.name(value)``, a ValueError becoming a usage
    error (exit 2) that names the value. The module is imported on use, to keep start-up short."""

    def parse(value: str) -> Any:
        import importlib

        try:
            return getattr(importlib.import_module(module), name)(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None

    return parse


# Shared option types -------------------------------------------------------------------------
DataArg = Annotated[
    Path,
    typer.Argument(metavar="DATA", help="Labelled CSV, TSV or JSON Lines file.", show_default=False),
]
TextCol = Annotated[
    str | None,
    typer.Option(
        "--text-col",
        metavar="COL",
        help=f"Column holding the headline [default: the first of {', '.join(TEXT_COLUMNS)}].",
    ),
]
LabelCol = Annotated[
    str | None,
    typer.Option(
        "--label-col",
        metavar="COL",
        help=f"Column holding the topic [default: the first of {', '.join(LABEL_COLUMNS)}].",
    ),
]
FoldsOpt = Annotated[
    int, typer.Option("--folds", metavar="N", min=2, help="Cross-validation folds (grouped unless told).")
]
#: ``-k`` meant ``--folds`` in 0.1; it is ``--top-k`` now wherever it is meant.
OldFoldsOpt = Annotated[
    int | None,
    typer.Option(
        "-k",
        hidden=True,
        min=2,
        help="Deprecated: --folds.",
        callback=deprecated("-k for --folds", "--folds"),
    ),
]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Run on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' for a LocalCluster "
        "of this machine's cores. Needs the dask extra.",
    ),
]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        metavar="FILE",
        help="Model file (default: the built-in default model).",
        dir_okay=False,
    ),
]
AllowPickle = Annotated[
    bool,
    typer.Option(
        "--allow-pickle",
        help="Also load a pickle-based model file of classify 0.1. Loading a pickle can run code: "
        "only for files you made or trust.",
    ),
]
MinCountOpt = Annotated[
    int | None,
    typer.Option(
        "--min-count",
        metavar="N",
        min=1,
        help="Drop the topics that have fewer than N rows (a line says which).",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", metavar="FILE", help="Pipeline settings from 'classify tune' (JSON).", dir_okay=False
    ),
]


def load_model(path: Path | None, allow_pickle: bool = False) -> Any:
    """Load ``path``, or the default model (built on first use, with a note on stderr)."""
    from classify.pipeline.model import load_model as load
    from classify.training.default_model import load_default_model

    model = load(path, allow_pickle=allow_pickle) if path is not None else load_default_model(on_build=info)
    for note in model.warnings:
        warn(note)
    return model


def load_labelled(
    path: Path, text_col: str | None, label_col: str | None, min_count: int | None = None
) -> Any:
    from classify.io.labelled import read_labelled

    return read_labelled(
        [path], text_col=text_col, label_col=label_col, min_count=min_count, on_info=info, on_warning=warn
    )


def show_progress() -> bool:
    """Progress is shown on a terminal only, and not with --quiet."""
    return sys.stderr.isatty() and not _state["quiet"]


@contextlib.contextmanager
def progress_display() -> Iterator[None]:
    """Show the library's progress steps (:mod:`classify.progress`) on stderr while the block runs:
    what it is doing, a bar and an ETA where the total is known. Nothing off a terminal or with --quiet."""
    if not show_progress():
        yield
        return
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from classify.progress import Step, reporting

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True, console=stderr_console()) as progress:
        task = progress.add_task("starting", total=None)
        outer = {"what": ""}

        def show(step: Step) -> None:
            # A step with a total (a fold of k, a pass over the rows) sets the bar; a step without
            # one (features, fitting) says what that step is doing now.
            if step.total is not None:
                outer["what"] = step.what
                progress.update(task, description=step.what, total=step.total, completed=step.done or 0)
            else:
                shown = f"{outer['what']}: {step.what}" if outer["what"] else step.what
                progress.update(task, description=shown)

        with reporting(show):
            yield


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
