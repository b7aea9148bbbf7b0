"""Training: labelled data in, fitted :class:`~classify.pipeline.model.Model` out."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from classify.errors import ClassifyWarning
from classify.io.labelled import LabelledData, check_trainable, describe_topics
from classify.pipeline.model import Model, fit_pipeline, make_meta
from classify.pipeline.settings import Settings

#: Topics with fewer rows than this get a warning: as many as evaluate's default folds, so that a
#: topic that trains without a word is also one that evaluate tests.
FEW_ROWS = 5


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and how long it took."""

    model: Model
    n_rows: int
    counts: dict[str, int]
    skipped: int
    seconds: float


def train(
    data: LabelledData,
    *,
    params: Settings | Mapping[str, Any] | None = None,
    min_precision: float | None = None,
) -> TrainResult:
    """Fit the pipeline on ``data``, with its reference statistics in the model's metadata
    (:func:`classify.training.reference.reference_stats`).

    Multi-label data (:attr:`~classify.io.labelled.LabelledData.label_sets`) is learnt as one row per
    topic of a headline, and the model keeps a threshold per topic for ``labels``; every model keeps
    the held-out scores its prediction sets are cut from (:mod:`classify.training.calibration`).

    Parameters
    ----------
    data
        Labelled headlines, e.g. from :func:`classify.io.labelled.load_labelled`.
    params
        Pipeline settings: a :class:`~classify.pipeline.settings.Settings`, or a mapping of overrides of its
        defaults.
    min_precision
        Multi-label data: choose each topic's threshold for this precision (the most recall that
        reaches it) instead of for the best F1.
    """
    # numpy-heavy, and classify's import (every command's start) does not need it until a fit.
    from classify.training.calibration import calibrate, expand
    from classify.training.reference import reference_stats

    check_trainable(data)
    counts = data.counts()
    few = [t for t, n in counts.items() if n < FEW_ROWS]
    if few:
        warnings.warn(
            ClassifyWarning(
                f"{data.source}: {describe_topics(few, counts, most=10)} fewer than {FEW_ROWS} rows: "
                "expect poor answers there; evaluate trains on such rows but cannot test them "
                "({min_count} N drops topics under N rows)",
                arguments=("min_count",),
            ),
            stacklevel=2,
        )
    started = time.perf_counter()
    settings = params if isinstance(params, Settings) else Settings.from_mapping(params)
    if min_precision is not None and not 0.0 < min_precision <= 1.0:
        raise ValueError(f"min_precision {min_precision!r}: expected a number between 0 and 1")
    rows = expand(data)
    pipeline = fit_pipeline(rows.texts, rows.labels, settings, groups=rows.groups)
    calibration = calibrate(pipeline, data, rows, settings, min_precision=min_precision)
    counts = data.counts()
    # The rows the pipeline was fitted on (one per topic of a headline in multi-label data), which its
    # held-out probabilities are of.
    reference = reference_stats(pipeline, rows.texts, rows.labels, settings)
    meta = make_meta(
        topics=[str(t) for t in pipeline.classes_],
        counts=counts,
        data_hash=data.fingerprint(),
        source=data.source,
        settings=settings,
        extra={"reference": reference.to_meta(), **calibration.meta()},
    )
    seconds = time.perf_counter() - started
    return TrainResult(
        model=Model(pipeline=pipeline, meta=meta),
        n_rows=len(data),
        counts=counts,
        skipped=data.skipped,
        seconds=seconds,
    )
