"""The statistics of a set of predictions, and the comparison of two of them into a verdict.

A :class:`Snapshot` is what a batch of headlines looked like through a model: predicted topic shares,
the top probability's distribution, the out-of-vocabulary rate, and the accuracy the calibrated
probabilities promise (confidence-based performance estimation, as NannyML's CBPE does for tabular
models: the expected accuracy of a calibrated model is its mean top probability; corrected here bin by
bin by the model's held-out reliability table, :func:`classify.pipeline.reference.binned_accuracy`).
:func:`compare` sets two snapshots side by side: Jensen-Shannon distance and a chi-square test of the
topic mix, a Kolmogorov-Smirnov test of the confidences, and one verdict with its reasons and what to do.

A test alone would call every difference on a large file significant, and an effect size alone would
call noise on a small one a change: a change counts when it is both significant (``alpha``) and large
enough to matter (:class:`Thresholds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from classify.monitoring.settings import Thresholds
from classify.pipeline.reference import (
    CONFIDENCE_EDGES,
    ReferenceStats,
    binned_accuracy,
    confidence_counts,
    oov_shares,
)


@dataclass(frozen=True)
class Snapshot:
    """What a set of headlines looked like through a model.

    Attributes
    ----------
    n
        Headlines.
    topic_counts
        Headlines per predicted topic (every topic of the model, zeros too).
    confidence_counts
        Headlines per bin of :data:`classify.pipeline.reference.CONFIDENCE_EDGES`.
    mean_confidence, low_confidence
        Mean top probability; share of headlines whose top probability is under 0.5.
    oov_rate
        Mean share of a headline's words the model never saw (None: the model keeps no words).
    estimated_accuracy
        Accuracy expected from the calibrated confidences (see the module docstring).
    confidences
        The top probabilities themselves (None for a model's stored reference, which keeps bins).
    """

    n: int
    topic_counts: dict[str, int]
    confidence_counts: tuple[int, ...]
    mean_confidence: float
    low_confidence: float
    oov_rate: float | None
    estimated_accuracy: float
    confidences: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def topic_shares(self) -> dict[str, float]:
        """Share of each predicted topic."""
        total = max(self.n, 1)
        return {t: c / total for t, c in self.topic_counts.items()}


def estimate_accuracy(confidences: np.ndarray, calibration: ReferenceStats | None) -> float:
    """Expected accuracy from top probabilities: their mean, or (with a reference's reliability
    table) the held-out accuracy of each confidence bin weighted by the bin's share."""
    confidences = np.asarray(confidences, dtype=np.float64)
    if not len(confidences):
        return 0.0
    if calibration is None:
        return float(confidences.mean())
    per_bin = binned_accuracy(calibration.confidence_counts, calibration.correct_counts)
    return float((confidence_counts(confidences) * per_bin).sum() / len(confidences))


def snapshot(
    proba: np.ndarray,
    topics: Sequence[str],
    texts: Sequence[str] | None = None,
    words: frozenset[str] | None = None,
    calibration: ReferenceStats | None = None,
) -> Snapshot:
    """The :class:`Snapshot` of predicted probabilities (rows: headlines, columns: ``topics``).

    Parameters
    ----------
    texts, words
        The headlines and the model's known words, for the out-of-vocabulary rate (None: not measured).
    calibration
        The model's reference statistics, whose reliability table corrects the accuracy estimate.
    """
    proba = np.asarray(proba)
    top = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=np.int64)
    conf = proba.max(axis=1).astype(np.float64) if len(proba) else np.zeros(0)
    counts = np.bincount(top, minlength=len(topics))
    oov = None
    if texts is not None and words is not None:
        shares = oov_shares(texts, words)
        oov = float(shares.mean()) if len(shares) else 0.0
    return Snapshot(
        n=len(conf),
        topic_counts={str(t): int(c) for t, c in zip(topics, counts, strict=True)},
        confidence_counts=tuple(int(c) for c in confidence_counts(conf)),
        mean_confidence=float(conf.mean()) if len(conf) else 0.0,
        low_confidence=float((conf < 0.5).mean()) if len(conf) else 0.0,
        oov_rate=oov,
        estimated_accuracy=estimate_accuracy(conf, calibration),
        confidences=conf,
    )


def reference_snapshot(stats: ReferenceStats) -> Snapshot:
    """A model's stored reference statistics as a :class:`Snapshot` (bins, no confidences)."""
    counts = np.asarray(stats.confidence_counts, dtype=np.float64)
    return Snapshot(
        n=stats.n,
        topic_counts={t: round(s * stats.n) for t, s in stats.topic_shares.items()},
        confidence_counts=stats.confidence_counts,
        mean_confidence=stats.mean_confidence,
        low_confidence=stats.low_confidence,
        oov_rate=stats.oov_rate,
        estimated_accuracy=float(
            (counts * binned_accuracy(stats.confidence_counts, stats.correct_counts)).sum() / max(stats.n, 1)
        ),
    )


@dataclass(frozen=True)
class Test:
    """A two-sample test: its name, statistic and p-value (None: too few headlines to test)."""

    name: str
    statistic: float | None
    p_value: float | None


@dataclass(frozen=True)
class DriftReport:
    """Two sets of headlines compared through one model.

    Attributes
    ----------
    reference_name, current_name
        What was compared (file names, ``the model's training statistics``, ``window``).
    reference, current
        Their snapshots.
    js_distance
        Jensen-Shannon distance (base 2) between the topic mixes.
    topic_test, confidence_test
        Chi-square test of the topic mix; Kolmogorov-Smirnov test of the confidences (a chi-square
        test of their bins when the reference is a model's stored histogram).
    drift
        Whether anything moved enough to act on.
    reasons
        One line per change that counts.
    action
        One of :data:`classify.monitoring.settings.ACTIONS`.
    advice
        What to do, in a sentence.
    """

    reference_name: str
    current_name: str
    reference: Snapshot
    current: Snapshot
    js_distance: float
    topic_test: Test
    confidence_test: Test
    drift: bool
    reasons: tuple[str, ...]
    action: str
    advice: str
    thresholds: Thresholds = field(default_factory=Thresholds)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``--format json``, the service's route)."""

        def side(s: Snapshot) -> dict[str, Any]:
            return {
                "n": s.n,
                "topic_shares": {t: round(v, 4) for t, v in s.topic_shares.items()},
                "mean_confidence": round(s.mean_confidence, 4),
                "low_confidence": round(s.low_confidence, 4),
                "oov_rate": None if s.oov_rate is None else round(s.oov_rate, 4),
                "estimated_accuracy": round(s.estimated_accuracy, 4),
            }

        return {
            "drift": self.drift,
            "reasons": list(self.reasons),
            "action": self.action,
            "advice": self.advice,
            "reference_name": self.reference_name,
            "current_name": self.current_name,
            "reference": side(self.reference),
            "current": side(self.current),
            "js_distance": round(self.js_distance, 4),
            "topic_test": asdict(self.topic_test),
            "confidence_test": asdict(self.confidence_test),
            "thresholds": asdict(self.thresholds),
        }


def _chi2(a: Sequence[float], b: Sequence[float], name: str) -> Test:
    """Chi-square test of homogeneity of two count vectors (columns empty in both dropped)."""
    from scipy.stats import chi2_contingency

    table = np.asarray([a, b], dtype=np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return Test(name, None, None)
    result = chi2_contingency(table, correction=False)
    return Test(name, float(result.statistic), float(result.pvalue))


def _significant(test: Test, alpha: float) -> bool:
    return test.p_value is not None and test.p_value < alpha


def compare(
    reference: Snapshot,
    current: Snapshot,
    *,
    reference_name: str = "reference",
    current_name: str = "current",
    thresholds: Thresholds | None = None,
    advice_names: tuple[str, str] = ("CURRENT", "DATA"),
) -> DriftReport:
    """Compare ``current`` with ``reference``: tests, effect sizes, the verdict and what to do.

    Parameters
    ----------
    advice_names
        How the advice names the current headlines and the training data (file names, or the
        placeholders the CLI documents).
    """
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp

    th = thresholds or Thresholds()
    topics = list(reference.topic_counts)
    ref_counts = [reference.topic_counts[t] for t in topics]
    cur_counts = [current.topic_counts.get(t, 0) for t in topics]
    js = 0.0
    if sum(ref_counts) and sum(cur_counts):
        js = float(jensenshannon(ref_counts, cur_counts, base=2))
    topic_test = _chi2(ref_counts, cur_counts, "chi-square")
    if reference.confidences is not None and current.confidences is not None and reference.n and current.n:
        ks = ks_2samp(reference.confidences, current.confidences)
        confidence_test = Test("Kolmogorov-Smirnov", float(ks.statistic), float(ks.pvalue))
    else:
        confidence_test = _chi2(reference.confidence_counts, current.confidence_counts, "chi-square of bins")
    reasons = []
    if _significant(topic_test, th.alpha) and js >= th.js_distance:
        moved = sorted(topics, key=lambda t: -abs(current.topic_shares.get(t, 0) - reference.topic_shares[t]))
        what = ", ".join(
            f"{t} {reference.topic_shares[t]:.0%} -> {current.topic_shares.get(t, 0):.0%}" for t in moved[:3]
        )
        reasons.append(f"topic mix moved (JS distance {js:.3f}, p={topic_test.p_value:.2g}): {what}")
    fall = reference.mean_confidence - current.mean_confidence
    rise = current.low_confidence - reference.low_confidence
    if _significant(confidence_test, th.alpha) and (fall >= th.mean_confidence or rise >= th.low_confidence):
        reasons.append(
            f"confidence fell (mean {reference.mean_confidence:.2f} -> {current.mean_confidence:.2f}, "
            f"under 0.5: {reference.low_confidence:.0%} -> {current.low_confidence:.0%}, "
            f"p={confidence_test.p_value:.2g})"
        )
    oov_up = False
    if reference.oov_rate is not None and current.oov_rate is not None:
        oov_up = current.oov_rate - reference.oov_rate >= th.oov_rate
        if oov_up:
            reasons.append(f"unseen words rose ({reference.oov_rate:.1%} -> {current.oov_rate:.1%} of words)")
    acc_drop = reference.estimated_accuracy - current.estimated_accuracy >= th.accuracy_drop
    if acc_drop:
        before, after = reference.estimated_accuracy, current.estimated_accuracy
        reasons.append(f"estimated accuracy fell ({before:.1%} -> {after:.1%})")
    action, advice = _advice(bool(reasons), acc_drop or oov_up, advice_names)
    return DriftReport(
        reference_name=reference_name,
        current_name=current_name,
        reference=reference,
        current=current,
        js_distance=js,
        topic_test=topic_test,
        confidence_test=confidence_test,
        drift=bool(reasons),
        reasons=tuple(reasons),
        action=action,
        advice=advice,
        thresholds=th,
    )


def _advice(drift: bool, worse: bool, names: tuple[str, str]) -> tuple[str, str]:
    current, data = names
    if not drift:
        return "nothing", "nothing to do: the model sees what it was trained on"
    if worse:
        return "label", (
            f"label a sample of the current headlines (classify drift ... --write-sample sample.txt; "
            f"classify label sample.txt) and retrain on {data} plus the answers"
        )
    return "self-train", (
        f"the mix moved but the model stays sure of itself: self-train on the current headlines "
        f"(classify train {data} --unlabelled {current}), or label a sample to check"
    )


#: The bins' edges, re-exported for renderers.
EDGES = CONFIDENCE_EDGES
