"""Evaluation: cross-validation of the pipeline, or scoring a trained model on held-out data.

Cross-validation is leakage-aware by default: headlines that tell the same story (see
:mod:`classify.groups`) are kept in one fold with ``StratifiedGroupKFold``, so that a reworded copy of a
test headline never sits in the training folds. ``group=False`` gives plain ``StratifiedKFold``; a date
split (train on the older rows, test on the newest :data:`DATE_TEST_FRACTION`) replaces k-fold when the
question is "how well will it do on next month's news".

Library functions return an :class:`Evaluation` and print nothing; the CLI formats it.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from classify.config import DEFAULT_FOLDS, RANDOM_STATE
from classify.data import LabelledData, find_column
from classify.errors import DataError
from classify.groups import DUPLICATE_THRESHOLD, Groups, near_duplicate_groups
from classify.model import DEFAULT_PARAMS, Model, fit_pipeline
from classify.train import check_trainable, describe_topics

if TYPE_CHECKING:
    import numpy as np

#: Column names recognised as the publication date, in order of preference (case-insensitive).
DATE_COLUMNS = ("date", "published", "published_at", "pubdate", "time", "timestamp", "datetime")
#: Share of rows, newest first, that a date split tests on. One fifth matches 5-fold cross-validation,
#: so the two modes train on similar amounts of data and their scores can be compared.
DATE_TEST_FRACTION = 0.2

#: How the rows were split, as recorded in :attr:`Evaluation.split`.
SPLIT_GROUPED = "grouped k-fold"
SPLIT_PLAIN = "stratified k-fold"
SPLIT_DATE = "date"


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
    #: ``grouped k-fold``, ``stratified k-fold`` or ``date`` for cross-validation, else ``None``.
    split: str | None = None
    #: Near-duplicate counts (:meth:`classify.groups.Groups.summary`), where they were computed.
    near_duplicates: dict[str, Any] | None = None

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
            **({"split": self.split} if self.split else {}),
            **({"near_duplicates": self.near_duplicates} if self.near_duplicates is not None else {}),
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


@dataclass(frozen=True)
class Splits:
    """Train/test row indexes for an evaluation, and how they were made.

    Attributes
    ----------
    pairs
        ``(train, test)`` index arrays; k-fold tests every row once, a date split only the newest.
    split
        One of :data:`SPLIT_GROUPED`, :data:`SPLIT_PLAIN`, :data:`SPLIT_DATE`.
    groups
        The near-duplicate groups of all rows (computed in every mode, to report possible leakage).
    settings
        What a reader needs to repeat the split (folds, seed, threshold, date column and cut-off).
    """

    pairs: list[tuple[np.ndarray, np.ndarray]]
    split: str
    groups: Groups
    settings: dict[str, Any]

    @property
    def folds(self) -> int | None:
        """Number of folds, or ``None`` for a single date split."""
        return None if self.split == SPLIT_DATE else len(self.pairs)


def make_splits(
    data: LabelledData,
    *,
    folds: int = DEFAULT_FOLDS,
    group: bool = True,
    threshold: float = DUPLICATE_THRESHOLD,
    split_by_date: bool = False,
    date_col: str | None = None,
    test_fraction: float = DATE_TEST_FRACTION,
) -> Splits:
    """Decide which rows train and which test, in one of three ways.

    Parameters
    ----------
    data
        The labelled rows; a date split needs ``data.frame`` (as :func:`~classify.data.load_labelled`
        keeps it) with a date column.
    folds
        Number of cross-validation folds (ignored by a date split).
    group
        Keep near-duplicate headlines (similarity >= ``threshold``) in one fold
        (``StratifiedGroupKFold``); ``False`` gives plain ``StratifiedKFold``, which lets reworded
        copies of a story leak between training and test folds and so flatters the score.
    threshold
        Similarity for :func:`classify.groups.near_duplicate_groups`.
    split_by_date
        Train on the older rows and test on the newest ``test_fraction`` instead of k-fold.
    date_col
        The date column; by default the first of :data:`DATE_COLUMNS`.
    test_fraction
        Share of rows tested by a date split.

    Raises
    ------
    DataError
        Too few rows or groups for the folds, or no usable date column for a date split.
    """
    import numpy as np

    if split_by_date:
        return _date_split(data, threshold=threshold, date_col=date_col, test_fraction=test_fraction)
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    check_folds(data, folds)  # the cheap checks first: grouping 100k rows takes a minute
    groups = near_duplicate_groups(data.texts, threshold=threshold)
    labels = np.asarray(data.labels, dtype=object)
    rows = np.arange(len(labels))
    settings: dict[str, Any] = {"folds": folds, "random_state": RANDOM_STATE, "grouped": group}
    if group:
        settings["group_threshold"] = threshold
        if groups.n_groups < folds:
            raise DataError(
                f"{data.source}: only {groups.n_groups} distinct stories (near-duplicate groups) for "
                f"{folds} folds; pass a smaller --folds, or --no-group"
            )
        splitter: Any = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
        pairs = list(splitter.split(rows, labels, groups.ids))
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
        pairs = list(splitter.split(rows, labels))
    for number, (train_idx, _) in enumerate(pairs, start=1):
        if len(set(labels[train_idx])) < 2:
            raise DataError(
                f"{data.source}: fold {number} would train on a single topic; pass a smaller --folds "
                "or add rows"
            )
    return Splits(
        pairs=pairs, split=SPLIT_GROUPED if group else SPLIT_PLAIN, groups=groups, settings=settings
    )


def find_date_column(data: LabelledData, date_col: str | None = None) -> str:
    """The date column of ``data``: ``date_col`` if given, else the first of :data:`DATE_COLUMNS`."""
    columns = [] if data.frame is None else [str(c) for c in data.frame.columns]
    return find_column(columns, date_col, DATE_COLUMNS, "date", "--date-col", data.source)


def parse_dates(data: LabelledData, column: str) -> Any:
    """The column as UTC timestamps (a pandas Series); every row must have a readable date."""
    import pandas as pd

    assert data.frame is not None  # find_date_column found the column in it
    values = data.frame[column].astype(str).str.strip()
    with warnings.catch_warnings():
        # pandas warns when it cannot infer one format and parses element by element: that is fine.
        warnings.simplefilter("ignore", UserWarning)
        try:
            dates = pd.to_datetime(values, utc=True)
        except (ValueError, TypeError, OverflowError):
            dates = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        first = values[bad].iloc[0]
        raise DataError(
            f"{data.source}: {int(bad.sum())} row(s) have no readable date in column '{column}' "
            f"(first: {first!r}); fix or remove them, or pass another --date-col"
        )
    return dates


def _date_split(
    data: LabelledData, *, threshold: float, date_col: str | None, test_fraction: float
) -> Splits:
    import numpy as np

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    check_trainable(data)
    column = find_date_column(data, date_col)
    dates = parse_dates(data, column)
    ordered = np.sort(dates.to_numpy())
    # Rows sharing the cut-off timestamp all go to the test side, so one moment (one day, for a column
    # of plain dates) is never split between training and test.
    cutoff = ordered[len(ordered) - max(1, math.ceil(len(ordered) * test_fraction))]
    is_test = (dates >= cutoff).to_numpy()
    train_idx, test_idx = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    if not len(train_idx):
        raise DataError(
            f"{data.source}: every row has the same date in column '{column}', so there is nothing "
            "older to train on; use cross-validation instead of --split-by-date"
        )
    labels = np.asarray(data.labels, dtype=object)
    if len(set(labels[train_idx])) < 2:
        raise DataError(
            f"{data.source}: the older {len(train_idx)} rows hold a single topic; a date split needs "
            "at least two topics before the cut-off"
        )
    groups = near_duplicate_groups(data.texts, threshold=threshold)
    # Stories that straddle the cut-off are what a deployed model meets too (old news retold), so
    # they are not removed; they are counted so that a reader can judge.
    seen = set(groups.ids[train_idx].tolist())
    retold = int(sum(1 for g in groups.ids[test_idx].tolist() if g in seen))
    settings = {
        "date_col": column,
        "test_fraction": test_fraction,
        "train_rows": len(train_idx),
        "test_rows": len(test_idx),
        "train_from": _iso(dates.iloc[train_idx].min()),
        "train_until": _iso(dates.iloc[train_idx].max()),
        "test_from": _iso(dates.iloc[test_idx].min()),
        "test_until": _iso(dates.iloc[test_idx].max()),
        "test_rows_with_near_duplicate_in_train": retold,
        "group_threshold": groups.threshold,
    }
    return Splits(pairs=[(train_idx, test_idx)], split=SPLIT_DATE, groups=groups, settings=settings)


def _iso(timestamp: Any) -> str:
    return str(timestamp.isoformat())


@dataclass(frozen=True)
class OutOfFold:
    """Predictions for the tested rows, each made by a model that never saw that row.

    Attributes
    ----------
    rows
        Indexes (into the data) of the tested rows, ascending: all rows for k-fold.
    predicted
        Predicted topic of each tested row.
    proba
        Probabilities, one row per tested row, columns in ``topics`` order.
    topics
        Every topic of the data, sorted.
    fold
        Number (0-based) of the split that tested each row.
    """

    rows: np.ndarray
    predicted: list[str]
    proba: np.ndarray
    topics: list[str]
    fold: np.ndarray


def predict_splits(
    data: LabelledData,
    splits: Splits,
    fit: Callable[[Sequence[str], Sequence[str]], Any] | None = None,
) -> OutOfFold:
    """Fit on each split's training rows and predict its test rows.

    Parameters
    ----------
    fit
        ``fit(texts, labels)`` returning a fitted estimator with ``classes_`` and ``predict_proba``;
        by default the classify pipeline. Baselines pass their own, so they see exactly the same folds.
    """
    import numpy as np

    fit = fit or (lambda texts, labels: fit_pipeline(texts, labels))
    texts = np.asarray(data.texts, dtype=object)
    labels = np.asarray(data.labels, dtype=object)
    topics = sorted(set(data.labels))
    proba = np.zeros((len(texts), len(topics)))
    fold = np.full(len(texts), -1)
    for number, (train_idx, test_idx) in enumerate(splits.pairs):
        estimator = fit(list(texts[train_idx]), list(labels[train_idx]))
        cols = np.asarray([topics.index(str(t)) for t in estimator.classes_])
        proba[np.ix_(test_idx, cols)] = estimator.predict_proba(list(texts[test_idx]))
        fold[test_idx] = number
    rows = np.flatnonzero(fold >= 0)
    # argmax takes the first of tied topics; topics are sorted, so ties break the same way every run.
    predicted = [topics[i] for i in proba[rows].argmax(axis=1)]
    return OutOfFold(rows=rows, predicted=predicted, proba=proba[rows], topics=topics, fold=fold[rows])


def score_splits(
    data: LabelledData,
    splits: Splits,
    oof: OutOfFold,
    *,
    mode: str = "cross-validation",
    params: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Score out-of-fold predictions, recording how the rows were split."""
    truth = [data.labels[i] for i in oof.rows]
    settings = {
        "split": splits.split,
        **splits.settings,
        "params": {
            k: list(v) if isinstance(v, tuple) else v for k, v in {**DEFAULT_PARAMS, **(params or {})}.items()
        },
    }
    result = score(truth, oof.predicted, mode=mode, folds=splits.folds, settings=settings)
    return dataclasses.replace(result, split=splits.split, near_duplicates=splits.groups.summary())


def cross_val_predict(
    data: LabelledData,
    *,
    folds: int = DEFAULT_FOLDS,
    params: Mapping[str, Any] | None = None,
    group: bool = True,
    threshold: float = DUPLICATE_THRESHOLD,
) -> tuple[list[str], Any, list[str]]:
    """Out-of-fold predictions for every row: each fold's model never saw its test rows.

    Returns the predicted labels, the probability matrix and its topic order (kept for callers of
    the first version; new code should use :func:`make_splits` and :func:`predict_splits`).
    """
    oof = run_cross_validation(data, folds=folds, params=params, group=group, threshold=threshold).oof
    return oof.predicted, oof.proba, oof.topics


@dataclass(frozen=True)
class CrossValidation:
    """One cross-validation run: the splits, the out-of-fold predictions and their scores.

    Reports and audits need the predictions as well as the scores, on exactly the same splits.
    """

    splits: Splits
    oof: OutOfFold
    evaluation: Evaluation


def run_cross_validation(
    data: LabelledData,
    *,
    folds: int = DEFAULT_FOLDS,
    params: Mapping[str, Any] | None = None,
    group: bool = True,
    threshold: float = DUPLICATE_THRESHOLD,
    split_by_date: bool = False,
    date_col: str | None = None,
) -> CrossValidation:
    """Cross-validate the pipeline on ``data``: grouped k-fold by default, or a date split.

    Parameters
    ----------
    folds, group, threshold, split_by_date, date_col
        How to split; see :func:`make_splits`.
    params
        Pipeline settings overriding :data:`classify.model.DEFAULT_PARAMS`.
    """
    splits = make_splits(
        data, folds=folds, group=group, threshold=threshold, split_by_date=split_by_date, date_col=date_col
    )
    oof = predict_splits(data, splits, lambda texts, labels: fit_pipeline(texts, labels, params))
    mode = "date split" if split_by_date else "cross-validation"
    return CrossValidation(splits, oof, score_splits(data, splits, oof, mode=mode, params=params))


def cross_validate(
    data: LabelledData,
    *,
    folds: int = DEFAULT_FOLDS,
    params: Mapping[str, Any] | None = None,
    group: bool = True,
    threshold: float = DUPLICATE_THRESHOLD,
    split_by_date: bool = False,
    date_col: str | None = None,
) -> Evaluation:
    """The scores of :func:`run_cross_validation`, for callers that need no predictions.

    Returns
    -------
    Evaluation
        With ``split``, ``near_duplicates`` and ``settings`` saying how the score was obtained.
    """
    run = run_cross_validation(
        data,
        folds=folds,
        params=params,
        group=group,
        threshold=threshold,
        split_by_date=split_by_date,
        date_col=date_col,
    )
    return run.evaluation


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
