"""A trained model's reference statistics (:mod:`classify.pipeline.reference`), made at training time.

The held-out probabilities come for free where the classifier calibrated itself on rows its weights
did not see (the SVM's cross-validated scores or held-out slice: ``TopicClassifier.heldout_``). The
other classifiers (``logreg``, ``stack``) get one extra fit on three quarters of at most
:data:`FALLBACK_ROWS` rows, scored on the rest: a quarter more training time at most, instead of
the several fits a full cross-validation would take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classify.pipeline.reference import (
    ReferenceStats,
    known_words,
    leave_one_out_oov,
    reference_from_heldout,
)
from classify.pipeline.settings import Settings

#: The most rows the extra held-out fit of ``logreg`` and ``stack`` trains and scores on.
FALLBACK_ROWS = 20_000
#: Share of those rows held out.
FALLBACK_HELDOUT = 0.25


def reference_stats(
    pipeline: Any, texts: Sequence[str], labels: Sequence[str], settings: Settings, *, seed: int = 0
) -> ReferenceStats:
    """The reference statistics of a pipeline fitted on ``texts`` and ``labels`` with ``settings``.

    Parameters
    ----------
    pipeline
        The fitted pipeline (its classifier's ``heldout_`` is used when it has one).
    texts, labels
        The training rows.
    settings
        The pipeline's settings (for the extra held-out fit).
    seed
        Seed of the extra held-out split.
    """
    features, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    topics = [str(t) for t in clf.classes_]
    oov = leave_one_out_oov(texts) if known_words(features) is not None else None
    heldout = getattr(clf, "heldout_", None)
    if heldout is not None:
        proba, codes = heldout
        return reference_from_heldout(proba, codes, topics, oov_rate=oov, source=str(clf.calibration_))
    proba, codes = _heldout_fit(texts, labels, topics, settings, seed)
    return reference_from_heldout(proba, codes, topics, oov_rate=oov, source="held-out fit")


def _heldout_fit(
    texts: Sequence[str], labels: Sequence[str], topics: list[str], settings: Settings, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    from classify.pipeline.model import fit_pipeline

    rows = np.arange(len(texts))
    y = np.asarray([str(t) for t in labels])
    rng = np.random.default_rng(seed)
    if len(rows) > FALLBACK_ROWS:
        rows = np.sort(rng.choice(rows, FALLBACK_ROWS, replace=False))
    counts = np.unique(y[rows], return_counts=True)[1]
    stratify = y[rows] if counts.min() >= 2 else None
    fit_rows, held = train_test_split(rows, test_size=FALLBACK_HELDOUT, random_state=seed, stratify=stratify)
    fitted = fit_pipeline([texts[i] for i in fit_rows], y[fit_rows].tolist(), settings)
    proba = fitted.predict_proba([texts[i] for i in held])
    # The smaller fit may have missed a topic: put its columns where the full model has them.
    full = np.zeros((len(held), len(topics)), dtype=np.float64)
    index = {t: i for i, t in enumerate(topics)}
    for j, topic in enumerate(fitted.classes_):
        full[:, index[str(topic)]] = proba[:, j]
    codes = np.asarray([index[t] for t in y[held]])
    return full, codes
