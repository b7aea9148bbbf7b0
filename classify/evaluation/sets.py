"""Scores of prediction sets and of multi-label ``labels``, measured as a user would get them.

Each fold trains a full model (:func:`classify.training.memory.train`: weights, the calibration
scores of its sets and, for multi-label data, its per-topic thresholds) on the fold's training rows
alone, and cuts the test rows' sets and labels from what that model stored: the cross-validated
figures are those of the mechanism ``classify predict --coverage`` runs, not of a re-implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classify.io.labelled import LabelledData
from classify.pipeline.sets import Conformal, Thresholds, check_coverage, label_mask, set_mask

#: Coverages the coverage-vs-set-size curve of a report is drawn at.
CURVE = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)


@dataclass(frozen=True)
class SetScores:
    """How prediction sets did: the share holding the true (first) topic, their size, per topic."""

    target: float
    coverage: float
    mean_set_size: float
    singleton_share: float
    coverage_per_topic: dict[str, float]
    per_topic: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON keys of ``classify evaluate --coverage``."""
        return {
            "target_coverage": self.target,
            "coverage": self.coverage,
            "mean_set_size": self.mean_set_size,
            "singleton_share": self.singleton_share,
            "coverage_per_topic": self.coverage_per_topic,
            "per_topic_coverage": self.per_topic,
        }


def set_scores(
    mask: np.ndarray, codes: np.ndarray, topics: Sequence[str], target: float, *, per_topic: bool = False
) -> SetScores:
    """Scores of set ``mask`` (rows: headlines; columns: ``topics``) against the true topic ``codes``."""
    held = mask[np.arange(len(codes)), codes]
    sizes = mask.sum(axis=1)
    by_topic = {
        str(t): round(float(held[codes == j].mean()), 4) for j, t in enumerate(topics) if (codes == j).any()
    }
    return SetScores(
        target=target,
        coverage=round(float(held.mean()), 4),
        mean_set_size=round(float(sizes.mean()), 4),
        singleton_share=round(float((sizes == 1).mean()), 4),
        coverage_per_topic=by_topic,
        per_topic=per_topic,
    )


@dataclass(frozen=True)
class MultiLabelScores:
    """How ``labels`` did on multi-label data."""

    micro_f1: float
    macro_f1: float
    subset_accuracy: float
    hamming_loss: float
    per_topic: dict[str, dict[str, float]]
    thresholds: dict[str, float]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "micro_f1": self.micro_f1,
            "macro_f1": self.macro_f1,
            "subset_accuracy": self.subset_accuracy,
            "hamming_loss": self.hamming_loss,
            "per_topic": self.per_topic,
            "thresholds": self.thresholds,
            "threshold_rule": self.rule,
        }


def multilabel_scores(
    truth: np.ndarray, predicted: np.ndarray, topics: Sequence[str], thresholds: Thresholds | None = None
) -> MultiLabelScores:
    """Micro- and macro-F1 (macro over the topics in the truth), subset accuracy, Hamming loss and
    per-topic precision, recall and F1 of boolean ``predicted`` against ``truth``."""
    truth, predicted = np.asarray(truth, bool), np.asarray(predicted, bool)
    tp = (truth & predicted).sum(axis=0)
    fp = (~truth & predicted).sum(axis=0)
    fn = (truth & ~predicted).sum(axis=0)
    per_topic: dict[str, dict[str, float]] = {}
    f1s = []
    for j, topic in enumerate(topics):
        p = tp[j] / (tp[j] + fp[j]) if tp[j] + fp[j] else 0.0
        r = tp[j] / (tp[j] + fn[j]) if tp[j] + fn[j] else 0.0
        f = 2 * tp[j] / (2 * tp[j] + fp[j] + fn[j]) if tp[j] + fp[j] + fn[j] else 0.0
        support = int(truth[:, j].sum())
        per_topic[str(topic)] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": support,
        }
        if support:
            f1s.append(f)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1)
    return MultiLabelScores(
        micro_f1=round(float(micro), 4),
        macro_f1=round(float(np.mean(f1s)) if f1s else 0.0, 4),
        subset_accuracy=round(float((truth == predicted).all(axis=1).mean()), 4),
        hamming_loss=round(float((truth != predicted).mean()), 4),
        per_topic=per_topic,
        thresholds=dict(thresholds.values) if thresholds else {},
        rule=thresholds.rule if thresholds else "",
    )


@dataclass(frozen=True)
class FoldSets:
    """Out-of-fold probabilities of every tested row with what each fold's model stored."""

    rows: np.ndarray
    proba: np.ndarray
    topics: list[str]
    fold: np.ndarray
    conformal: list[Conformal]
    thresholds: list[Thresholds | None]

    def set_mask(self, coverage: float, *, per_topic: bool = False) -> np.ndarray:
        """Each tested row's set, cut by its own fold's model."""
        mask = np.zeros(self.proba.shape, dtype=bool)
        for f, conformal in enumerate(self.conformal):
            at = self.fold == f
            cuts = conformal.cuts(self.topics, coverage, per_topic=per_topic)
            mask[at] = set_mask(self.proba[at], cuts)
        return mask

    def label_mask(self) -> np.ndarray | None:
        """Each tested row's labels (multi-label models), or ``None``."""
        if all(t is None for t in self.thresholds):
            return None
        mask = np.zeros(self.proba.shape, dtype=bool)
        for f, thresholds in enumerate(self.thresholds):
            at = self.fold == f
            cut = thresholds.array(self.topics) if thresholds else np.ones(len(self.topics))
            mask[at] = label_mask(self.proba[at], cut)
        return mask

    def curve(self, codes: np.ndarray, levels: Iterable[float] = CURVE) -> list[dict[str, float]]:
        """Coverage and mean set size at each target coverage (the report's figure)."""
        out = []
        for level in levels:
            s = set_scores(self.set_mask(level), codes, self.topics, level)
            out.append({"target": level, "coverage": s.coverage, "mean_set_size": s.mean_set_size})
        return out


def _fold_model(
    texts: list[str], sets: list[tuple[str, ...]], test: list[str], params: Any, min_precision: float | None
) -> tuple[list[str], np.ndarray, dict[str, Any], dict[str, Any] | None]:
    """One fold (a Dask task when run on a cluster): train, predict, and what the model stored."""
    from classify.training.memory import train

    multi = any(len(s) > 1 for s in sets)
    data = LabelledData(
        texts=texts, labels=[s[0] for s in sets], source="fold", label_sets=tuple(sets) if multi else None
    )
    model = train(data, params=params, min_precision=min_precision).model
    proba = model.predict_proba(test) if test else np.zeros((0, len(model.topics)))
    return model.topics, proba, model.meta["conformal"], model.meta.get("multilabel")


def fold_sets(
    data: LabelledData,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
    params: Any,
    *,
    min_precision: float | None = None,
    run: Callable[[Callable[..., Any], Iterable[tuple[Any, ...]]], Iterable[Any]] | None = None,
    coverage: float | None = None,
) -> FoldSets:
    """Train a model per split (train rows, test rows) and keep its test rows' probabilities
    (``coverage``, checked before any fold is fitted, is what the sets will be scored at)."""
    if coverage is not None:
        check_coverage(coverage)
    sets = data.topic_sets()
    topics = sorted({t for s in sets for t in s})
    proba = np.zeros((len(data), len(topics)))
    fold = np.full(len(data), -1)
    tasks = (
        (
            [data.texts[i] for i in tr],
            [sets[i] for i in tr],
            [data.texts[i] for i in te],
            params,
            min_precision,
        )
        for tr, te in pairs
    )
    results = (run or (lambda task, args: (task(*a) for a in args)))(_fold_model, tasks)
    conformal, thresholds = [], []
    for number, ((_, test_idx), (classes, fold_proba, conf, multi)) in enumerate(
        zip(pairs, results, strict=True)
    ):
        cols = np.asarray([topics.index(t) for t in classes])
        proba[np.ix_(test_idx, cols)] = fold_proba
        fold[test_idx] = number
        own = Conformal.from_json(conf)
        # A topic the fold never saw has no scores: its sets follow the pooled cut.
        conformal.append(own)
        thresholds.append(Thresholds.from_json(multi) if multi else None)
    rows = np.flatnonzero(fold >= 0)
    return FoldSets(rows, proba[rows], topics, fold[rows], conformal, thresholds)


def fold_scores(
    data: LabelledData, folds: FoldSets, coverage: float | None, *, per_topic: bool = False
) -> dict[str, Any]:
    """The :class:`~classify.evaluation.evaluate.Evaluation` fields of cross-validated sets
    (``sets``, ``set_curve``) and labels (``multilabel``)."""
    topics = folds.topics
    codes = np.asarray([topics.index(data.labels[i]) for i in folds.rows.tolist()])
    extra: dict[str, Any] = {}
    if coverage is not None:
        mask = folds.set_mask(coverage, per_topic=per_topic)
        extra["sets"] = set_scores(mask, codes, topics, coverage, per_topic=per_topic).to_dict()
        extra["set_curve"] = folds.curve(codes)
    labels = folds.label_mask()
    if labels is not None:
        truth = truth_matrix(data, folds.rows, topics)
        last = next((t for t in reversed(folds.thresholds) if t is not None), None)
        extra["multilabel"] = multilabel_scores(truth, labels, topics, last).to_dict()
    return extra


def truth_matrix(data: LabelledData, rows: np.ndarray, topics: Sequence[str]) -> np.ndarray:
    """Booleans: the topics of each of ``rows``."""
    index = {t: j for j, t in enumerate(topics)}
    sets = data.topic_sets()
    truth = np.zeros((len(rows), len(topics)), dtype=bool)
    for r, i in enumerate(rows.tolist()):
        truth[r, [index[t] for t in sets[i]]] = True
    return truth


def held_out_scores(
    model: Any, data: LabelledData, coverage: float | None
) -> tuple[list[str], dict[str, Any]]:
    """A trained model on labelled rows: its predicted topics, and the scores of its sets (with a
    coverage) and of its ``labels`` (a multi-label model on multi-label data)."""
    topics = list(model.topics)
    proba = model.predict_proba(data.texts)
    predicted = [topics[i] for i in proba.argmax(axis=1)]
    known = np.asarray([t in topics for t in data.labels])
    rows = np.flatnonzero(known)
    extra: dict[str, Any] = {}
    if coverage is not None:
        cuts = model.conformal().cuts(topics, coverage)
        codes = np.asarray([topics.index(data.labels[i]) for i in rows.tolist()], dtype=np.int64)
        mask = set_mask(proba[rows], cuts)
        extra["sets"] = set_scores(mask, codes, topics, coverage).to_dict()
    thresholds = model.thresholds()
    if thresholds is not None and data.multilabel:
        sets = data.topic_sets()
        rows = np.asarray([i for i in range(len(data)) if all(t in topics for t in sets[i])], dtype=np.int64)
        truth = truth_matrix(data, rows, topics)
        labels = label_mask(proba[rows], thresholds.array(topics))
        extra["multilabel"] = multilabel_scores(truth, labels, topics, thresholds).to_dict()
    return predicted, extra


def coverage_figure(curve: Sequence[dict[str, float]], target: float | None = None) -> Any:
    """Coverage reached against mean set size, one point per target coverage (the report's
    ``sets.png``): how many topics an editor must read for each level of assurance."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 4.5), layout="tight")
    ax = figure.add_subplot()
    sizes = [p["mean_set_size"] for p in curve]
    reached = [p["coverage"] for p in curve]
    ax.plot(sizes, reached, "o-", label="cross-validated sets")
    for p in curve:
        ax.annotate(
            f"{p['target']:g}",
            (p["mean_set_size"], p["coverage"]),
            textcoords="offset points",
            xytext=(4, -10),
            fontsize=8,
        )
        ax.axhline(p["target"], color="0.85", lw=0.6, zorder=0)
    if target is not None:
        ax.axhline(target, color="tab:red", ls=":", label=f"asked: {target:g}")
    ax.set_xlabel("mean set size (topics)")
    ax.set_ylabel("coverage (share of sets holding the true topic)")
    ax.set_title("Prediction sets: coverage against size (labels: target coverage)")
    ax.legend(loc="lower right")
    return figure
