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
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from classify.errors import ClassifyError, UsageError
from classify.version import __version__

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


def error(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"Warning: {message}", err=True)


def info(message: str) -> None:
    typer.echo(message, err=True)


def handle_errors(fn: F) -> F:
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
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = None,
) -> None:
    """Sort news headlines into topics (TF-IDF + linear classifier)."""
    _state["debug"] = debug


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
DataArg = Annotated[Path, typer.Argument(help="Labelled CSV, TSV or JSON Lines file.", show_default=False)]
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


def load_labelled(path: Path, text_col: str | None, label_col: str | None) -> Any:
    from classify.io.labelled import load_labelled as load

    data = load(path, text_col=text_col, label_col=label_col)
    if data.skipped:
        warn(f"{path}: skipped {data.skipped} row(s) with an empty headline or label")
    for note in data.warnings:
        warn(note)
    return data


@contextlib.contextmanager
def headline_progress() -> Iterator[Callable[[Any], None]]:
    """A live count of headlines on stderr for long runs, only when stderr is a terminal: yields the
    callback to call with each batch."""
    if not sys.stderr.isatty():
        yield lambda batch: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.completed:,} headlines"), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=stderr_console()) as progress:
        task = progress.add_task("classify", total=None)
        yield lambda batch: progress.update(task, advance=len(batch))


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
