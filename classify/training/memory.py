"""Training: labelled data in, fitted :class:`~classify.pipeline.model.Model` out."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classify.io.labelled import LabelledData, check_trainable
from classify.pipeline.model import Model, fit_pipeline, make_meta
from classify.pipeline.settings import Settings
from classify.training.reference import reference_stats


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and how long it took."""

    model: Model
    n_rows: int
    counts: dict[str, int]
    skipped: int
    seconds: float


def train(data: LabelledData, *, params: Settings | Mapping[str, Any] | None = None) -> TrainResult:
    """Fit the pipeline on ``data``, with its reference statistics in the model's metadata
    (:func:`classify.training.reference.reference_stats`).

    Parameters
    ----------
    data
        Labelled headlines, e.g. from :func:`classify.io.labelled.load_labelled`.
    params
        Pipeline settings: a :class:`~classify.pipeline.settings.Settings`, or a mapping of overrides of its
        defaults.
    """
    check_trainable(data)
    started = time.perf_counter()
    settings = params if isinstance(params, Settings) else Settings.from_mapping(params)
    pipeline = fit_pipeline(data.texts, data.labels, settings)
    counts = data.counts()
    reference = reference_stats(pipeline, data.texts, data.labels, settings)
    meta = make_meta(
        topics=[str(t) for t in pipeline.classes_],
        counts=counts,
        data_hash=data.fingerprint(),
        source=data.source,
        settings=settings,
        extra={"reference": reference.to_meta()},
    )
    seconds = time.perf_counter() - started
    return TrainResult(
        model=Model(pipeline=pipeline, meta=meta),
        n_rows=len(data),
        counts=counts,
        skipped=data.skipped,
        seconds=seconds,
    )
