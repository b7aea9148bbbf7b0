"""``train_file``: a labelled file in, a saved model out, by whichever route suits the file.

Every choice ``classify train`` makes lives here, not in the command line: streaming for big files
and Parquet (the same :func:`wants_stream` that ``evaluate`` asks), self-training on a pool, a settings
file checked against the data it was tuned on, and where the model goes by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classify.errors import UsageError
from classify.io.labelled import LABEL_SEP
from classify.pipeline.model import Model, save_model
from classify.training.selftrain import DEFAULT_ROUNDS, DEFAULT_THRESHOLD


@dataclass(frozen=True)
class TrainedFile:
    """A model trained from a file and where it was saved.

    Attributes
    ----------
    route
        ``memory``, ``stream`` or ``self-training``.
    columns
        ``(text column, label column)`` as read, for in-memory routes (None when streamed).
    passes
        Passes over the data, when streamed.
    """

    model: Model
    path: Path
    route: str
    n_rows: int
    counts: dict[str, int]
    seconds: float
    columns: tuple[str, str] | None = None
    passes: int | None = None


#: The suffix of a model file named by default: the file is a zip of arrays and JSON (a ``.joblib``
#: name, as classify 0.1 wrote them, loads all the same).
MODEL_SUFFIX = ".model"


def default_output(data: Path) -> Path:
    """Where a model trained on ``data`` goes unless told: ``<name>.model`` in the current folder,
    the name without its data extensions (``feed.csv.gz`` -> ``feed.model``), as fastText and
    scikit-learn users expect a file to land where they run the command."""
    return Path(f"{Path(data).name.split('.')[0]}{MODEL_SUFFIX}")


def wants_stream(
    data: Path, stream: bool | None = None, *, config: Path | None = None, passes: int | None = None
) -> bool:
    """Whether to train by streaming: asked for, or (not refused) a big file or Parquet.

    Raises
    ------
    UsageError
        Streaming asked for with a settings file of the in-memory pipeline, or passes without streaming.
    """
    from classify.training.stream import should_stream

    if stream and config is not None:
        raise UsageError(
            "{config} holds settings of the in-memory pipeline; drop it or {stream}",
            arguments=("config", "stream"),
        )
    if stream is False and passes is not None:
        raise UsageError(
            "{passes} is for streaming training; drop it or {no_stream}", arguments=("passes", "no_stream")
        )
    if stream is None:
        return passes is not None or (config is None and should_stream(data))
    return stream


def train_file(
    data: Path | Sequence[Path],
    *,
    output: Path | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    min_count: int | None = None,
    config: Path | None = None,
    stream: bool | None = None,
    passes: int | None = None,
    pool: Path | None = None,
    pool_text_col: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    rounds: int = DEFAULT_ROUNDS,
    label_sep: str | None = LABEL_SEP,
    min_precision: float | None = None,
    on_progress: Callable[[Any], None] | None = None,
    on_info: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> TrainedFile:
    """Train on the labelled file ``data`` and save the model atomically.

    Parameters
    ----------
    data
        A labelled CSV, TSV, JSON Lines or Parquet file (``.gz`` too when streamed), or several files
        trained on as one (in memory; e.g. a labelling session's answers and the model's own data).
    output
        Where to save the model (default: :func:`default_output`).
    min_count
        Drop the topics with fewer rows than this (in memory only; said through ``on_info``).
    config
        A settings file from ``classify tune``, read before ``data`` so that a typo fails at once.
    stream, passes
        Streaming training (see :func:`wants_stream`) and its passes.
    pool, pool_text_col, threshold, rounds
        Self-training on the unlabelled headlines of ``pool``.
    label_sep
        Between the topics of a label cell that holds several (such data trains a multi-label
        model; ``None``: a cell is one topic), see :func:`classify.io.labelled.load_labelled`.
    min_precision
        Multi-label data: each topic's threshold is the one that reaches this precision (else the
        one with the best F1).
    on_progress
        Called with each :class:`~classify.training.stream.StreamProgress` when streaming (default:
        reported as :mod:`classify.progress` steps).
    on_info, on_warning
        Called with lines for the user (self-training rounds; skipped rows, a settings file tuned on
        other data).
    """
    info = on_info or (lambda _: None)
    warn = on_warning or (lambda _: None)
    files = [Path(data)] if isinstance(data, (str, Path)) else [Path(p) for p in data]
    if not files:
        raise UsageError("no {data} to train on: give a labelled file", arguments=("data",))
    data = files[0]
    target = output or default_output(data)
    from classify.atomic import refuse_input_as_output

    refuse_input_as_output(target, [*files, pool, config], what="model")
    if pool is not None and stream is None:
        stream = False  # self-training fits in memory
    if len(files) > 1 and stream is None:
        stream = False  # several files are read into memory and trained on as one
    if wants_stream(data, stream, config=config, passes=passes):
        if len(files) > 1:
            raise UsageError(
                "streaming trains on one file; give one DATA or {no_stream}", arguments=("no_stream",)
            )
        if min_count is not None:
            raise UsageError(
                "{min_count} needs the rows in memory; drop it or {stream}", arguments=("min_count", "stream")
            )
        if pool is not None:
            raise UsageError(
                "{unlabelled} trains in memory; drop it or {stream}", arguments=("unlabelled", "stream")
            )
        return _train_streaming(data, target, text_col, label_col, passes, on_progress, warn)
    from classify.io.labelled import read_labelled

    settings = None
    if config is not None:
        from classify.pipeline.settings import load_settings_file

        settings = load_settings_file(config)
    labelled = read_labelled(
        files,
        text_col=text_col,
        label_col=label_col,
        label_sep=label_sep,
        min_count=min_count,
        on_info=info,
        on_warning=warn,
    )
    if settings is not None and settings.data_hash and settings.data_hash != labelled.fingerprint():
        warn(f"{config}: tuned on other data than {data}; its settings may not suit it")
    params = settings.params if settings else None
    if pool is not None:
        result: Any = _self_train(labelled, pool, pool_text_col, params, threshold, rounds, info, warn)
        route = "self-training"
    else:
        from classify.training.memory import train

        result, route = train(labelled, params=params, min_precision=min_precision), "memory"
    save_model(result.model, target)
    return TrainedFile(
        model=result.model,
        path=target,
        route=route,
        n_rows=result.n_rows,
        counts=result.counts,
        seconds=result.seconds,
        columns=(labelled.text_col, labelled.label_col),
    )


def _self_train(
    labelled: Any,
    pool_path: Path,
    text_col: str | None,
    params: Any,
    threshold: float,
    rounds: int,
    info: Callable[[str], None],
    warn: Callable[[str], None],
) -> Any:
    from classify.training import selftrain

    pool = selftrain.read_pool(pool_path, text_col=text_col)
    info(
        f"self-training with {pool_path}: {len(pool)} headlines, threshold {threshold}, "
        f"up to {rounds} round(s)"
    )
    result = selftrain.self_train(
        labelled,
        pool,
        threshold=threshold,
        rounds=rounds,
        params=params,
        pool_name=str(pool_path),
        on_round=lambda step: info(
            f"  round {step.round}: {step.added} pseudo-labelled ({step.changed} changed)"
        ),
    )
    if result.pseudo_labelled == 0:
        warn(f"{pool_path}: no headline reached probability {threshold}; the model learnt from DATA alone")
    return result


def _report_stream(p: Any) -> None:
    """Streaming progress as :mod:`classify.progress` steps (rows read of the file's rows)."""
    from classify.progress import report

    where = {"scan": "scanning", "calibrate": "calibrating"}.get(p.phase, f"pass {p.pass_number}/{p.passes}")
    report(f"{where}: {p.rows_read:,} rows", p.rows_read, p.rows_total or None)


def _train_streaming(
    data: Path,
    target: Path,
    text_col: str | None,
    label_col: str | None,
    passes: int | None,
    on_progress: Callable[[Any], None] | None,
    warn: Callable[[str], None],
) -> TrainedFile:
    from classify.training.stream import StreamSettings, train_stream

    settings = StreamSettings() if passes is None else StreamSettings(passes=passes)
    on_progress = on_progress or _report_stream
    result = train_stream(
        data, text_col=text_col, label_col=label_col, settings=settings, on_progress=on_progress
    )
    if result.malformed:
        where = "; ".join(f"line {n}: {why}" for n, why in result.bad_lines[:5])
        more = ", ..." if result.malformed > 5 else ""
        warn(f"{data}: skipped {result.malformed} malformed row(s) ({where}{more})")
    if result.skipped:
        warn(f"{data}: skipped {result.skipped} row(s) with an empty headline or label")
    if result.truncated:
        from classify.io.reading import truncation_note

        warn(truncation_note(str(data), result.truncated, result.first_truncated))
    sorted_chunks = result.model.meta["stream"]["sorted_chunks"]
    if sorted_chunks > 1:
        warn(
            f"{data}: {sorted_chunks} chunks hold a single topic; rows sorted by topic train poorly: "
            "shuffle the file"
        )
    save_model(result.model, target)
    return TrainedFile(
        model=result.model,
        path=target,
        route="stream",
        n_rows=result.n_rows,
        counts=result.counts,
        seconds=result.seconds,
        passes=result.passes,
    )
