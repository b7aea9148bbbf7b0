"""Evaluation: cross-validation of the pipeline, or scoring a trained model on held-out data.

Library functions return an :class:`Evaluation` and print nothing; the CLI formats it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from classify.config import DEFAULT_FOLDS, RANDOM_STATE
from classify.data import LabelledData
from classify.errors import DataError
from classify.model import Model, fit_pipeline
from classify.train import check_trainable, describe_topics


@dataclass(frozen=True)
class Evaluation:
    """Scores of predictions against true labels.

    ``per_topic`` maps each topic to precision, recall, f1 and support; ``confusion`` rows are true
    topics and columns predicted topics, both in ``labels`` order.
    """

    n: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_topic: dict[str, dict[str, float]]
    labels: list[str]
    confusion: list[list[int]]
    mode: str
    folds: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``--format json`` output)."""
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "per_topic": self.per_topic,
            "confusion": {"labels": self.labels, "matrix": self.confusion},
            "mode": self.mode,
            "folds": self.folds,
            **({"settings": self.settings} if self.settings else {}),
        }


def score(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    *,
    mode: str,
    folds: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Compare predictions with the truth using scikit-learn's metrics."""
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    labels = sorted(set(y_true) | set(y_pred))
    report = classification_report(y_true, y_pred, labels=labels, output_dict=True, zero_division=0)
    per_topic = {
        label: {
            "precision": float(report[label]["precision"]),
            "recall": float(report[label]["recall"]),
            "f1": float(report[label]["f1-score"]),
            "support": int(report[label]["support"]),
        }
        for label in labels
    }
    # Macro-F1 over the topics that occur in the truth: a topic the model invents but the data lacks
    # would otherwise count as a zero and punish the score twice.
    true_labels = sorted(set(y_true))
    macro = sum(per_topic[t]["f1"] for t in true_labels) / len(true_labels)
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    return Evaluation(
        n=len(y_true),
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(macro),
        weighted_f1=float(report["weighted avg"]["f1-score"]),
        per_topic=per_topic,
        labels=labels,
        confusion=matrix.tolist(),
        mode=mode,
        folds=folds,
        settings=dict(settings or {}),
    )


def check_folds(data: LabelledData, folds: int) -> None:
    """Raise :class:`DataError` unless every topic has at least ``folds`` rows."""
    if folds < 2:
        raise DataError(f"--folds must be at least 2, got {folds}")
    check_trainable(data)
    counts = data.counts()
    small = [t for t, n in counts.items() if n < folds]
    if small:
        raise DataError(
            f"{data.source}: {describe_topics(small, counts)} fewer rows than the {folds} folds asked; "
            "pass a smaller --folds or add rows"
        )


def cross_val_predict(
    data: LabelledData, *, folds: int = DEFAULT_FOLDS, params: Mapping[str, Any] | None = None
) -> tuple[list[str], Any, list[str]]:
    """Out-of-fold predictions for every row: each fold's model never saw its test rows.

    Returns the predicted labels, the probability matrix and its topic order.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    check_folds(data, folds)
    texts = np.asarray(data.texts, dtype=object)
    labels = np.asarray(data.labels, dtype=object)
    topics = sorted(set(data.labels))
    proba = np.zeros((len(texts), len(topics)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
    for train_idx, test_idx in splitter.split(texts, labels):
        pipeline = fit_pipeline(texts[train_idx], labels[train_idx], params)
        cols = [topics.index(t) for t in pipeline.classes_]
        proba[np.ix_(test_idx, cols)] = pipeline.predict_proba(texts[test_idx])
    predicted = [topics[i] for i in proba.argmax(axis=1)]
    return predicted, proba, topics


def cross_validate(
    data: LabelledData, *, folds: int = DEFAULT_FOLDS, params: Mapping[str, Any] | None = None
) -> Evaluation:
    """Stratified k-fold cross-validation of the pipeline on ``data``."""
    predicted, _, _ = cross_val_predict(data, folds=folds, params=params)
    return score(data.labels, predicted, mode="cross-validation", folds=folds)


def evaluate_model(model: Model, data: LabelledData) -> Evaluation:
    """Score an already trained model on labelled data it was not trained on."""
    if not len(data):
        raise DataError(f"{data.source}: no rows with both a headline and a label")
    unknown = sorted(set(data.labels) - set(model.topics))
    if len(unknown) == len(set(data.labels)):
        raise DataError(
            f"{data.source}: none of its labels ({', '.join(unknown[:5])}) are topics of the model "
            f"({', '.join(model.topics)})"
        )
    predicted = [str(t) for t in model.pipeline.predict(data.texts)]
    return score(data.labels, predicted, mode="held-out")


def train_and_test(
    train_data: LabelledData, test_data: LabelledData, *, params: Mapping[str, Any] | None = None
) -> Evaluation:
    """Train on one file and score on another."""
    from classify.train import train

    model = train(train_data, params=params).model
    result = evaluate_model(model, test_data)
    return Evaluation(**{**result.__dict__, "mode": "train/test"})
