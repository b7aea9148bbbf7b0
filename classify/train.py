"""Training: labelled data in, fitted :class:`~classify.model.Model` out."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classify.data import LabelledData
from classify.errors import DataError
from classify.model import DEFAULT_PARAMS, Model, fit_pipeline, make_meta


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and how long it took."""

    model: Model
    n_rows: int
    counts: dict[str, int]
    skipped: int
    seconds: float


def check_trainable(data: LabelledData, *, min_rows: int = 2) -> None:
    """Raise :class:`DataError` unless ``data`` has 2+ topics with ``min_rows``+ rows each."""
    counts = data.counts()
    if not counts:
        raise DataError(f"{data.source}: no rows with both a headline and a label")
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(f"{data.source}: only one topic ('{only}'); a classifier needs at least 2")
    small = [t for t, n in counts.items() if n < min_rows]
    if small:
        raise DataError(
            f"{data.source}: {describe_topics(small, counts)} fewer than {min_rows} rows; "
            "add rows or remove the topic"
        )


def describe_topics(topics: list[str], counts: dict[str, int], most: int = 3) -> str:
    """``topic 'a' (1 row) has`` / ``topics 'a' (1), 'b' (2) and 3 more have``, for error messages."""
    shown = ", ".join(f"'{t}' ({counts[t]})" for t in topics[:most])
    more = f" and {len(topics) - most} more" if len(topics) > most else ""
    return f"topic {shown} has" if len(topics) == 1 else f"topics {shown}{more} have"


def train(data: LabelledData, *, params: Mapping[str, Any] | None = None) -> TrainResult:
    """Fit the pipeline on ``data``.

    Parameters
    ----------
    data
        Labelled headlines, e.g. from :func:`classify.data.load_labelled`.
    params
        Pipeline settings overriding :data:`classify.model.DEFAULT_PARAMS`.
    """
    check_trainable(data)
    started = time.perf_counter()
    settings = {**DEFAULT_PARAMS, **(params or {})}
    pipeline = fit_pipeline(data.texts, data.labels, settings)
    counts = data.counts()
    meta = make_meta(
        topics=[str(t) for t in pipeline.classes_],
        counts=counts,
        data_hash=data.fingerprint(),
        source=data.source,
        params=settings,
    )
    seconds = time.perf_counter() - started
    return TrainResult(
        model=Model(pipeline=pipeline, meta=meta),
        n_rows=len(data),
        counts=counts,
        skipped=data.skipped,
        seconds=seconds,
    )
