"""Prediction sets with a coverage guarantee, and per-topic thresholds for several topics a headline.

Two things a model file may carry besides its weights, both computed from cross-validated (or
held-out) probabilities at training time and stored in the model's metadata as JSON:

- :class:`Conformal`: each calibration row's nonconformity score ``1 - p(true topic)`` (the "LAC"
  score of Sadinle, Lei and Wasserman, 2019), grouped by true topic. For a coverage ``P`` the cut
  ``q`` is the ``ceil((n + 1) P)``-th smallest score, and a headline's set holds every topic whose
  ``1 - p`` is at most ``q``, plus the best topic (so it is never empty). Class-conditional
  ("Mondrian") sets take one cut per topic from that topic's rows alone.
- :class:`Thresholds`: a probability threshold per topic, chosen on cross-validated probabilities to
  maximise that topic's F1 (or to reach a precision asked for); a headline's ``labels`` are its best
  topic and every other topic over its threshold.

Why these few lines and not MAPIE or crepes at prediction time: both are built on scikit-learn
(MAPIE's ``SplitConformalClassifier`` wraps the estimator and imports scikit-learn's model selection;
crepes' ``WrapClassifier`` likewise), and ``classify predict`` imports no scikit-learn
(``tests/test_cli_predict.py``). What prediction needs is a stored quantile and a comparison, which
numpy does; ``bench/sets.py`` measures these sets against MAPIE's and crepes' on the same scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classify.errors import UsageError

#: Decimals of the stored calibration scores (rounded up, so that the sets only grow).
SCORE_DECIMALS = 5
#: The most calibration scores a model file keeps per topic (evenly spaced order statistics beyond).
MAX_SCORES_PER_TOPIC = 20_000


@dataclass(frozen=True)
class Conformal:
    """Calibration scores ``1 - p(true topic)`` per true topic, sorted ascending.

    Attributes
    ----------
    scores
        Per topic, the sorted scores of the calibration rows whose true topic it is.
    source
        How the probabilities were obtained (``cross-validated scores``, ``held-out slice``).
    """

    scores: Mapping[str, tuple[float, ...]]
    source: str = "cross-validated scores"

    @classmethod
    def fit(cls, proba: np.ndarray, codes: np.ndarray, topics: Sequence[str], source: str) -> Conformal:
        """Scores of held-out probabilities ``proba`` (rows: calibration headlines) with true ``codes``."""
        proba = np.asarray(proba, dtype=np.float64)
        score = 1.0 - proba[np.arange(len(codes)), codes]
        scale = 10.0**SCORE_DECIMALS
        score = np.clip(np.ceil(np.round(score * scale, 6)) / scale, 0.0, 1.0)
        out: dict[str, tuple[float, ...]] = {}
        for j, topic in enumerate(topics):
            own = np.sort(score[codes == j])
            if len(own) > MAX_SCORES_PER_TOPIC:
                own = own[np.linspace(0, len(own) - 1, MAX_SCORES_PER_TOPIC).round().astype(int)]
            out[str(topic)] = tuple(float(s) for s in own)
        return cls(out, source)

    def to_json(self) -> dict[str, Any]:
        """The form a model file's metadata holds."""
        return {"score": "lac", "source": self.source, "scores": {t: list(s) for t, s in self.scores.items()}}

    @classmethod
    def from_json(cls, value: Any) -> Conformal:
        """Read :meth:`to_json`'s form back.

        Raises
        ------
        ValueError
            The value is not such a form.
        """
        if (
            not isinstance(value, dict)
            or value.get("score") != "lac"
            or not isinstance(value.get("scores"), dict)
        ):
            raise ValueError("the prediction-set calibration is not readable")
        scores = {str(t): tuple(sorted(float(x) for x in s)) for t, s in value["scores"].items()}
        return cls(scores, str(value.get("source", "")))

    def cuts(self, topics: Sequence[str], coverage: float, *, per_topic: bool = False) -> np.ndarray:
        """The score cut of each topic (in ``topics`` order) for ``coverage``.

        Marginal sets share one cut; ``per_topic`` takes each topic's from its own rows (a topic with
        too few rows for the coverage asked gets the cut 1: every set holds it).
        """
        check_coverage(coverage)
        if per_topic:
            return np.array([quantile(self.scores.get(str(t), ()), coverage) for t in topics])
        pooled = sorted(s for own in self.scores.values() for s in own)
        return np.full(len(topics), quantile(pooled, coverage))

    @property
    def n_rows(self) -> int:
        """How many calibration rows the scores come from."""
        return sum(len(s) for s in self.scores.values())


def check_coverage(coverage: float) -> None:
    """Raise :class:`~classify.errors.UsageError` unless ``0 < coverage < 1``."""
    if not (isinstance(coverage, int | float) and 0.0 < float(coverage) < 1.0):
        raise UsageError(
            f"{{coverage}} {coverage!r}: expected a probability between 0 and 1 (not either), such as 0.9",
            arguments=("coverage",),
        )


def quantile(sorted_scores: Sequence[float], coverage: float) -> float:
    """The conformal quantile: the ``ceil((n + 1) coverage)``-th smallest score (1 when that is past n)."""
    n = len(sorted_scores)
    rank = math.ceil((n + 1) * coverage)
    return 1.0 if rank > n or n == 0 else float(sorted_scores[rank - 1])


def set_mask(proba: np.ndarray, cuts: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
    """Which topics are in each headline's set: ``1 - p <= cut`` of the topic, and the best topic.

    ``proba`` and ``cuts`` may be in any column order as long as they agree (``cuts`` broadcast over
    the rows); ``best`` is the column of each row's best topic (by default its largest ``proba``).
    """
    mask = (1.0 - proba) <= cuts + 1e-12
    rows = np.arange(len(proba))
    mask[rows, proba.argmax(axis=1) if best is None else best] = True
    return mask


@dataclass(frozen=True)
class Thresholds:
    """A probability threshold per topic for ``labels``, and how it was chosen.

    Attributes
    ----------
    values
        Per topic, the probability at or over which the topic is one of a headline's labels.
    rule
        ``max F1`` or ``precision >= P``.
    """

    values: Mapping[str, float]
    rule: str = "max F1"

    def to_json(self) -> dict[str, Any]:
        """The form a model file's metadata holds."""
        return {"thresholds": dict(self.values), "rule": self.rule}

    @classmethod
    def from_json(cls, value: Any) -> Thresholds:
        """Read :meth:`to_json`'s form back (``ValueError`` if it is not one)."""
        if not isinstance(value, dict) or not isinstance(value.get("thresholds"), dict):
            raise ValueError("the per-topic thresholds are not readable")
        values = {str(t): float(v) for t, v in value["thresholds"].items()}
        if not all(0.0 <= v <= 1.0 for v in values.values()):
            raise ValueError("a per-topic threshold is not a probability")
        return cls(values, str(value.get("rule", "max F1")))

    def array(self, topics: Sequence[str]) -> np.ndarray:
        """The thresholds in ``topics`` order (1.0, never reached alone, for a topic without one)."""
        return np.array([self.values.get(str(t), 1.0) for t in topics], dtype=np.float64)


def choose_thresholds(
    proba: np.ndarray,
    truth: np.ndarray,
    topics: Sequence[str],
    *,
    min_precision: float | None = None,
) -> Thresholds:
    """Per topic, the threshold that maximises its F1 on held-out probabilities (or, with
    ``min_precision``, the lowest threshold whose precision reaches it: the most recall at that
    precision; a topic that never reaches it gets 1.0).

    The best topic of a headline is always one of its labels, so a topic's F1 is counted with its
    best-topic rows as predicted whatever the threshold.

    Parameters
    ----------
    proba
        ``(n, topics)`` held-out probabilities.
    truth
        ``(n, topics)`` booleans: the topics of each headline.
    """
    proba = np.asarray(proba, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    best = proba.argmax(axis=1)
    values: dict[str, float] = {}
    for j, topic in enumerate(topics):
        forced = best == j
        tp0, fp0 = int((truth[forced, j]).sum()), int((~truth[forced, j]).sum())
        positives = int(truth[:, j].sum())
        p, y = proba[~forced, j], truth[~forced, j]
        order = np.argsort(-p, kind="stable")
        p, y = p[order], y[order]
        # Candidate k: the first k of the others (by probability) are predicted too; the threshold
        # is then the k-th probability; only the last of equal probabilities is a real cut.
        tp = tp0 + np.concatenate([[0], np.cumsum(y)])
        fp = fp0 + np.concatenate([[0], np.cumsum(~y)])
        cut = np.concatenate([[1.0], p])
        valid = np.ones(len(cut), dtype=bool)
        valid[1:-1] = p[:-1] != p[1:]
        predicted = tp + fp
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 1.0)
        f1 = np.where(predicted + positives > 0, 2 * tp / np.maximum(predicted + positives, 1), 0.0)
        if min_precision is None:
            score = np.where(valid, f1, -1.0)
            k = int(np.argmax(score))
        else:
            ok = valid & (precision >= min_precision)
            ok[0] = True
            k = int(np.flatnonzero(ok).max())
        # Halfway to the next lower probability, so that a headline just under the cut is not in.
        below = p[k] if k < len(p) else 0.0
        values[str(topic)] = 1.0 if k == 0 else float(round((cut[k] + below) / 2, 6))
    rule = "max F1" if min_precision is None else f"precision >= {min_precision:g}"
    return Thresholds(values, rule)


def label_mask(proba: np.ndarray, thresholds: np.ndarray, best: np.ndarray | None = None) -> np.ndarray:
    """Which topics are a headline's labels: those at or over their threshold, and the best topic."""
    mask = proba >= thresholds
    mask[np.arange(len(proba)), proba.argmax(axis=1) if best is None else best] = True
    return mask
