"""What a model file carries besides its weights: the prediction-set scores and per-topic thresholds.

Both come from held-out probabilities of the training rows. With the SVM (the default) these are the
cross-validated probabilities the temperature was fitted on (or, on large data, the held-out slice's),
so they cost no extra fit; other classifiers are fitted once more per fold here. The probabilities of
a fold model, fitted on two thirds of the rows, are a little less sure than the final model's, which
makes the sets a little larger than they need be, never smaller (cross-conformal in spirit: no row is
spent on calibration alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from classify.io.labelled import LabelledData
from classify.pipeline.sets import Conformal, Thresholds, choose_thresholds

#: Folds of the extra cross-fitting for classifiers that keep no held-out probabilities.
FOLDS = 3


@dataclass(frozen=True)
class Expanded:
    """Training rows of (possibly) multi-label data: one row per (headline, topic), grouped by headline."""

    texts: list[str]
    labels: list[str]
    groups: list[int] | None
    #: For each headline, its first row.
    first: np.ndarray


def expand(data: LabelledData) -> Expanded:
    """One training row per topic of each headline (the copy transformation); single-label data as is."""
    if not data.multilabel:
        return Expanded(list(data.texts), list(data.labels), None, np.arange(len(data)))
    texts: list[str] = []
    labels: list[str] = []
    groups: list[int] = []
    first: list[int] = []
    for i, (text, topics) in enumerate(zip(data.texts, data.topic_sets(), strict=True)):
        first.append(len(texts))
        for topic in topics:
            texts.append(text)
            labels.append(topic)
            groups.append(i)
    return Expanded(texts, labels, groups, np.asarray(first))


@dataclass(frozen=True)
class Calibration:
    """The prediction-set scores, and (multi-label data) the per-topic thresholds."""

    conformal: Conformal
    thresholds: Thresholds | None

    def meta(self) -> dict[str, Any]:
        """The model metadata entries (``conformal``, and ``multilabel`` for multi-label data)."""
        out: dict[str, Any] = {"conformal": self.conformal.to_json()}
        if self.thresholds is not None:
            out["multilabel"] = self.thresholds.to_json()
        return out


def calibrate(
    pipeline: Any,
    data: LabelledData,
    rows: Expanded,
    settings: Any,
    *,
    min_precision: float | None = None,
) -> Calibration:
    """The calibration of a pipeline just fitted on ``rows`` (:func:`expand` of ``data``)."""
    topics = [str(t) for t in pipeline.classes_]
    proba, heads, source = held_out_proba(pipeline, data, rows, settings)
    index = {t: j for j, t in enumerate(topics)}
    sets = data.topic_sets()
    codes = np.asarray([index[sets[i][0]] for i in heads.tolist()])
    conformal = Conformal.fit(proba, codes, topics, source)
    thresholds = None
    if data.multilabel:
        truth = np.zeros((len(heads), len(topics)), dtype=bool)
        for r, i in enumerate(heads.tolist()):
            truth[r, [index[t] for t in sets[i]]] = True
        thresholds = choose_thresholds(proba, truth, topics, min_precision=min_precision)
    return Calibration(conformal, thresholds)


def held_out_proba(
    pipeline: Any, data: LabelledData, rows: Expanded, settings: Any
) -> tuple[np.ndarray, np.ndarray, str]:
    """Held-out probabilities: the headlines they are of (indices into ``data``), and how they were had."""
    clf = pipeline.named_steps["clf"]
    oof = getattr(clf, "oof_proba_", None)
    if oof is not None:
        held = getattr(clf, "oof_rows_", None)
        if held is None:
            return oof[rows.first], np.arange(len(data)), str(clf.calibration_)
        # A held-out slice: the headlines whose rows were held out (whole groups are).
        row_of = np.full(len(rows.texts), -1)
        row_of[held] = np.arange(len(held))
        at = row_of[rows.first]
        heads = np.flatnonzero(at >= 0)
        return oof[at[heads]], heads, str(clf.calibration_)
    return cross_fit(data, rows, settings), np.arange(len(data)), "cross-validated scores"


def cross_fit(data: LabelledData, rows: Expanded, settings: Any, folds: int = FOLDS) -> np.ndarray:
    """Each headline's probabilities from a pipeline fitted on the folds without it."""
    from sklearn.model_selection import GroupKFold

    from classify.pipeline.model import fit_pipeline

    groups = np.asarray(rows.groups if rows.groups is not None else range(len(rows.texts)))
    topics = sorted(set(rows.labels))
    proba = np.zeros((len(data), len(topics)))
    texts = np.asarray(rows.texts, dtype=object)
    labels = np.asarray(rows.labels, dtype=object)
    for train_idx, test_idx in GroupKFold(n_splits=min(folds, len(set(groups.tolist())))).split(
        texts, labels, groups
    ):
        fitted = fit_pipeline(list(texts[train_idx]), list(labels[train_idx]), settings)
        heads = np.unique(groups[test_idx])
        own = np.asarray([topics.index(str(t)) for t in fitted.classes_])
        proba[np.ix_(heads, own)] = fitted.predict_proba([data.texts[i] for i in heads.tolist()])
    return proba
