"""``drift``: two files of headlines (or one and the model's training statistics) compared through a
model, and a sample of the current headlines written out for ``classify label``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classify.errors import DataError, UsageError
from classify.monitoring.settings import SAMPLE_SIZE
from classify.monitoring.stats import DriftReport, Snapshot, Thresholds, compare, reference_snapshot, snapshot
from classify.pipeline.reference import ReferenceStats, known_words

#: Headlines predicted at once.
BATCH = 2000
#: What the report calls a model's stored reference.
MODEL_REFERENCE = "the model's training statistics"


def read_headlines(path: Path, text_col: str | None = None) -> list[str]:
    """The headlines of a file in any input format (:func:`classify.io.records.iter_records`).

    Raises
    ------
    DataError
        The file is missing or holds no headline.
    """
    from classify.io.records import iter_records

    if str(path) != "-" and not Path(path).exists():
        raise DataError(f"{path}: no such file")
    texts = [r.headline for r in iter_records([path], text_col=text_col, split=False) if r.headline.strip()]
    if not texts:
        raise DataError(f"{path}: no headlines")
    return texts


def measure(model: Any, texts: Sequence[str]) -> Snapshot:
    """The :class:`~classify.monitoring.stats.Snapshot` of headlines through ``model``."""
    proba = (
        np.vstack([model.predict_proba(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
        if texts
        else np.zeros((0, len(model.topics)))
    )
    words = known_words(model.fitted.named_steps["features"])
    return snapshot(proba, model.topics, texts, words, ReferenceStats.from_meta(model.meta))


def drift_files(
    current: Path,
    reference: Path | None = None,
    *,
    model: Any,
    text_col: str | None = None,
    thresholds: Thresholds | None = None,
    write_sample: Path | None = None,
    sample_size: int = SAMPLE_SIZE,
    seed: int = 0,
) -> DriftReport:
    """Compare the headlines of ``current`` with those of ``reference`` through ``model``.

    Parameters
    ----------
    current, reference
        Headline files in any input format. Without ``reference``, the model's training statistics
        (stored in its file by ``classify train``) are the reference.
    model
        A loaded :class:`~classify.pipeline.model.Model`.
    write_sample, sample_size, seed
        Also write a random sample of at most ``sample_size`` current headlines to this file, one per
        line: a pool for ``classify label``.

    Raises
    ------
    UsageError
        No ``reference`` and a model without training statistics (made before they were stored).
    DataError
        A file is missing or empty.
    """
    stats = ReferenceStats.from_meta(model.meta)
    if reference is None and stats is None:
        raise UsageError(
            "the model file holds no training statistics (it was trained by an older classify): "
            "give {reference} headlines to compare with, or retrain the model",
            arguments=("reference",),
        )
    texts = read_headlines(current, text_col)
    now = measure(model, texts)
    if reference is not None:
        before, name = measure(model, read_headlines(reference, text_col)), str(reference)
    else:
        assert stats is not None
        before, name = reference_snapshot(stats), MODEL_REFERENCE
    if write_sample is not None:
        save_sample(texts, write_sample, sample_size, seed)
    return compare(
        before,
        now,
        reference_name=name,
        current_name=str(current),
        thresholds=thresholds,
        advice_names=(str(current), "DATA"),
    )


def save_sample(texts: Sequence[str], path: Path, size: int = SAMPLE_SIZE, seed: int = 0) -> Path:
    """Write at most ``size`` distinct headlines of ``texts``, drawn at random, one per line."""
    from classify.atomic import atomic_path

    unique = list(dict.fromkeys(" ".join(t.split()) for t in texts))
    rng = np.random.default_rng(seed)
    chosen = [unique[i] for i in sorted(rng.permutation(len(unique))[:size])]
    with atomic_path(Path(path)) as tmp:
        tmp.write_text("".join(f"{t}\n" for t in chosen), encoding="utf-8")
    return Path(path)
