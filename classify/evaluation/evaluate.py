"""Evaluation: cross-validation of the pipeline, or scoring a trained model on held-out data.

:func:`cross_validate` is the one cross-validation entry point: it splits (:mod:`classify.evaluation.splits`),
fits and predicts each fold, and scores the pooled out-of-fold predictions. Its result keeps all
three, so that the report and the audit work on exactly the predictions that were scored.

Library functions return dataclasses and print nothing; the CLI formats them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Unpack

from classify.errors import ClassifyWarning, DataError
from classify.evaluation.splits import SPLIT_DATE, SplitOptions, Splits, make_splits
from classify.io.labelled import LabelledData
from classify.pipeline.model import Model, as_settings, fit_pipeline
from classify.pipeline.settings import Settings
from classify.progress import report

if TYPE_CHECKING:
    import numpy as np


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
    #: Near-duplicate counts (:meth:`classify.evaluation.groups.Groups.summary`), where they were computed.
    near_duplicates: dict[str, Any] | None = None
    #: ``macro`` and ``weighted`` averages of precision, recall and f1 over the true topics.
    averages: dict[str, dict[str, float]] = field(default_factory=dict)
    #: With a coverage: :meth:`classify.evaluation.sets.SetScores.to_dict`; ``set_curve``: other targets.
    sets: dict[str, Any] | None = None
    set_curve: list[dict[str, float]] | None = None
    #: Multi-label data: :meth:`classify.evaluation.sets.MultiLabelScores.to_dict` (others: first topic).
    multilabel: dict[str, Any] | None = None

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
            **(self.sets or {}),
            **({"set_curve": self.set_curve} if self.set_curve else {}),
            **(
                {"micro_f1": self.multilabel["micro_f1"], "multilabel": self.multilabel}
                if self.multilabel
                else {}
            ),
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
    over_true = classification_report(y_true, y_pred, labels=true_labels, output_dict=True, zero_division=0)
    averages = {
        name: {k: float(over_true[f"{name} avg"][key]) for k, key in _AVERAGED.items()}
        for name in ("macro", "weighted")
    }
    macro = averages["macro"]["f1"]
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
        averages=averages,
    )


#: Averaged figures of scikit-learn's ``classification_report``, by the names used here.
_AVERAGED = {"precision": "precision", "recall": "recall", "f1": "f1-score"}


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


@dataclass(frozen=True)
class OutOfFoldRow:
    """One row as the cross-validated model sees it (in audits and in reports' mistakes).

    Attributes
    ----------
    row
        1-based position among the rows with a headline and a label (the file's data row when no row
        was skipped).
    group
        Near-duplicate group id (shared by tellings of the same story).
    headline, label
        The row as given.
    suggested
        The topic the model finds likeliest.
    p_suggested, p_label
        Out-of-fold probabilities of the suggested topic and of the given label.
    """

    row: int
    group: int
    headline: str
    label: str
    suggested: str
    p_suggested: float
    p_label: float

    @classmethod
    def of(
        cls, data: LabelledData, i: int, proba: np.ndarray, topics: Sequence[str], *, group: int = -1
    ) -> OutOfFoldRow:
        """Row ``i`` (0-based) of ``data`` with its out-of-fold probabilities over ``topics``."""
        best = int(proba.argmax())
        return cls(
            row=i + 1,
            group=group,
            headline=data.texts[i],
            label=data.labels[i],
            suggested=str(topics[best]),
            p_suggested=float(proba[best]),
            p_label=float(proba[list(topics).index(data.labels[i])]),
        )


#: Runs the folds: ``run(task, arguments)`` returns ``task(*args)`` for each tuple of ``arguments``, in
#: order. Locally a plain loop; :func:`classify.cluster.jobs.run_cross_validation` passes one that runs
#: them as tasks on a Dask cluster.
FoldRunner = Callable[[Callable[..., Any], Iterable[tuple[Any, ...]]], Iterable[Any]]


#: Test rows predicted at a time by :func:`fold_predictions`.
PREDICT_BATCH = 16_384


def fold_predictions(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    fit: Callable[[Sequence[str], Sequence[str]], Any],
) -> tuple[list[str], Any]:
    """One fold: fit on its training rows; the topics and the probabilities of its test rows.

    The test rows are predicted a batch at a time: a fold of a million rows transformed at once took
    8.5 GB in features alone.
    """
    import numpy as np

    estimator = fit(train_texts, train_labels)
    classes = [str(t) for t in estimator.classes_]
    test = list(test_texts)
    parts = [estimator.predict_proba(test[i : i + PREDICT_BATCH]) for i in range(0, len(test), PREDICT_BATCH)]
    return classes, np.vstack(parts) if parts else np.zeros((0, len(classes)))


def _one_by_one(task: Callable[..., Any], arguments: Iterable[tuple[Any, ...]]) -> Iterator[Any]:
    return (task(*args) for args in arguments)


def predict_splits(
    data: LabelledData,
    splits: Splits,
    fit: Callable[[Sequence[str], Sequence[str]], Any] | None = None,
    *,
    run: FoldRunner | None = None,
) -> OutOfFold:
    """Fit on each split's training rows and predict its test rows.

    Parameters
    ----------
    fit
        ``fit(texts, labels)`` returning a fitted estimator with ``classes_`` and ``predict_proba``;
        by default the classify pipeline. Baselines pass their own, so they see exactly the same folds.
    run
        Runs the folds (see :data:`FoldRunner`); by default one after the other, here.
    """
    import numpy as np

    fit = fit or fit_pipeline
    texts = np.asarray(data.texts, dtype=object)
    labels = np.asarray(data.labels, dtype=object)
    topics = sorted(set(data.labels))
    proba = np.zeros((len(texts), len(topics)))
    fold = np.full(len(texts), -1)
    tasks = ((list(texts[tr]), list(labels[tr]), list(texts[te]), fit) for tr, te in splits.pairs)
    k = len(splits.pairs)
    report(f"fold 1 of {k}", 0, k)
    results = (run or _one_by_one)(fold_predictions, tasks)
    for number, ((_, test_idx), (classes, fold_proba)) in enumerate(zip(splits.pairs, results, strict=True)):
        cols = np.asarray([topics.index(t) for t in classes])
        proba[np.ix_(test_idx, cols)] = fold_proba
        fold[test_idx] = number
        report(f"fold {min(number + 2, k)} of {k}", number + 1, k)
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
    settings: Settings | None = None,
) -> Evaluation:
    """Score out-of-fold predictions, recording how the rows were split (and the pipeline settings)."""
    truth = [data.labels[i] for i in oof.rows]
    how = {"split": splits.split, **splits.settings}
    if settings is not None:
        how["params"] = settings.to_dict()
    result = score(truth, oof.predicted, mode=mode, folds=splits.folds, settings=how)
    return dataclasses.replace(result, split=splits.split, near_duplicates=splits.groups.summary())


@dataclass(frozen=True)
class CrossValidation:
    """One cross-validation run: the splits, the out-of-fold predictions and their scores.

    Reports and audits need the predictions as well as the scores, on exactly the same splits.
    """

    splits: Splits
    oof: OutOfFold
    evaluation: Evaluation


def cross_validate(
    data: LabelledData,
    *,
    params: Settings | Mapping[str, Any] | None = None,
    splits: Splits | None = None,
    run: FoldRunner | None = None,
    stream: bool = False,
    coverage: float | None = None,
    per_topic_coverage: bool = False,
    **how: Unpack[SplitOptions],
) -> CrossValidation:
    """Cross-validate the pipeline on ``data``: grouped k-fold by default, or a date split.

    Parameters
    ----------
    params
        Pipeline settings (a :class:`~classify.pipeline.settings.Settings` or overrides of its defaults).
    splits
        Splits made before (e.g. shared with a tuning run); by default made here from ``how``.
    run
        Runs the fold fits (see :data:`FoldRunner`); by default one after the other, in this process.
    stream
        Fit each fold by streaming training (:func:`classify.training.stream.fit_stream`, its default
        settings, passes as for all the rows), the model ``classify train`` builds for an archive;
        ``params`` must then be unset.
    coverage, per_topic_coverage
        Also score prediction sets for this coverage (:mod:`classify.evaluation.sets`: each fold
        trains a full model, calibration scores included). Multi-label data is always scored so,
        with its ``labels``.
    **how
        How to split (``folds``, ``group``, ``threshold``, ``split_by_date``, ``date_col``): see
        :func:`classify.evaluation.splits.make_splits`.

    Returns
    -------
    CrossValidation
        The splits, the out-of-fold predictions, and their :class:`Evaluation` (with ``split``,
        ``near_duplicates`` and ``settings`` saying how the score was obtained).
    """
    if stream and params is not None:
        raise ValueError("params are settings of the in-memory pipeline; give them or stream, not both")
    settings = as_settings(params)
    if splits is None:
        splits = make_splits(data, **how)
    elif how:
        raise ValueError(f"give splits or split options ({', '.join(how)}), not both")
    # Partials, not lambdas: a Dask runner pickles them to the workers.
    if stream:
        from classify.training.stream import StreamSettings, fit_stream, passes_for

        # The passes `train` would choose for all the rows, not for a fold's share of them.
        streaming = StreamSettings(passes=passes_for(len(data)))
        fit: Callable[[Sequence[str], Sequence[str]], Any] = functools.partial(fit_stream, settings=streaming)
    else:
        fit = functools.partial(fit_pipeline, params=settings)
    if not stream and (coverage is not None or data.multilabel):
        return _cross_validate_sets(data, splits, settings, coverage, per_topic_coverage, run)
    oof = predict_splits(data, splits, fit, run=run)
    mode = "date split" if splits.split == SPLIT_DATE else "cross-validation"
    evaluation = score_splits(data, splits, oof, mode=mode, settings=None if stream else settings)
    if stream:
        streamed = {"method": "stream", **dataclasses.asdict(streaming)}
        evaluation = dataclasses.replace(evaluation, settings={**evaluation.settings, "params": streamed})
    return CrossValidation(splits, oof, evaluation)


def _cross_validate_sets(
    data: LabelledData,
    splits: Splits,
    settings: Settings,
    coverage: float | None,
    per_topic: bool,
    run: FoldRunner | None,
) -> CrossValidation:
    """:func:`cross_validate` with sets and ``labels``, each fold a full model."""
    from classify.evaluation import sets as ev_sets

    folds = ev_sets.fold_sets(data, splits.pairs, settings, run=run, coverage=coverage)
    predicted = [folds.topics[i] for i in folds.proba.argmax(axis=1)]
    oof = OutOfFold(folds.rows, predicted, folds.proba, folds.topics, folds.fold)
    mode = "date split" if splits.split == SPLIT_DATE else "cross-validation"
    evaluation = score_splits(data, splits, oof, mode=mode, settings=settings)
    extra = ev_sets.fold_scores(data, folds, coverage, per_topic=per_topic)
    return CrossValidation(splits, oof, dataclasses.replace(evaluation, **extra))


def evaluate_model(
    model: Model,
    data: LabelledData,
    *,
    label_map: Mapping[str, str] | None = None,
    coverage: float | None = None,
) -> Evaluation:
    """Score an already trained model on labelled data it was not trained on (with a coverage, its
    prediction sets too; a multi-label model's ``labels`` on multi-label data).

    ``label_map`` turns the data's labels into the model's topics (``{"Sports": "sport"}``); a label
    that is still no topic but equals one except for case is matched to it, with a warning that says so.
    """
    import warnings

    from classify.evaluation.label_map import match_labels

    if not len(data):
        raise DataError(f"{data.source}: no rows with both a headline and a label")
    labels, by_case = match_labels(data.labels, model.topics, label_map)
    if by_case:
        pairs = ", ".join(f"{a} -> {b}" for a, b in sorted(by_case.items())[:5])
        more = f" and {len(by_case) - 5} more" if len(by_case) > 5 else ""
        warnings.warn(
            ClassifyWarning(
                f"{data.source}: labels matched to the model's topics ignoring case: {pairs}{more}"
            ),
            stacklevel=2,
        )
    unknown = sorted(set(labels) - set(model.topics))
    if len(unknown) == len(set(labels)):
        raise DataError(
            f"{data.source}: none of its labels ({', '.join(unknown[:5])}) are topics of the model "
            f"({', '.join(model.topics)}); map them with {{label_map}} LABEL=TOPIC,...",
            arguments=("label_map",),
        )
    if coverage is None and not (model.multilabel and data.multilabel):
        predicted = [str(t) for t in model.fitted.predict(data.texts)]
        return score(labels, predicted, mode="held-out")
    from classify.evaluation.sets import held_out_scores

    predicted, extra = held_out_scores(model, dataclasses.replace(data, labels=labels), coverage)
    return dataclasses.replace(score(labels, predicted, mode="held-out"), **extra)


def train_and_test(
    train_data: LabelledData,
    test_data: LabelledData,
    *,
    params: Settings | Mapping[str, Any] | None = None,
    coverage: float | None = None,
) -> Evaluation:
    """Train on one file and score on another (with a coverage, the prediction sets too)."""
    from classify.training.memory import train

    model = train(train_data, params=params).model
    result = evaluate_model(model, test_data, coverage=coverage)
    return dataclasses.replace(result, mode="train/test")
