"""A model's reference statistics: what its predictions looked like on rows it did not train on.

Training stores them in the model file's metadata (``meta["reference"]``, a few hundred bytes of
JSON); monitoring (:mod:`classify.monitoring`) compares today's headlines with them. They live here,
beside the model file, because both training (which writes them) and monitoring (which reads them)
must agree on their form: the confidence bins, how a word counts as unseen, the JSON layout.

- **topic shares**: the share of each *predicted* topic on held-out rows (not of the labels:
  monitoring sees predictions, and a model's confusions shift predicted shares away from the labels').
- **confidence histogram**: the top probability of each held-out row in :data:`CONFIDENCE_EDGES` bins,
  with the number of rows of each bin the model got right: the reliability table that corrects
  confidence-based accuracy estimates (:func:`binned_accuracy`).
- **out-of-vocabulary rate**: the mean share of a headline's words the model has never seen,
  estimated on the training rows by leaving each headline out (a word found in one headline only is
  unseen when that headline is left out), which is what a fresh headline from the same source sees.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from classify.text import preprocess

#: The layout of ``meta["reference"]``; a newer one is ignored (monitoring then needs a REFERENCE).
REFERENCE_VERSION = 1
#: Bin edges of the top probability: 20 bins of 0.05.
CONFIDENCE_EDGES = tuple(round(i * 0.05, 2) for i in range(21))
#: Pseudo-rows of a bin's own mean confidence added to its held-out rows, so that a bin with few rows
#: falls back to trusting the probabilities.
PRIOR_ROWS = 5.0


@dataclass(frozen=True)
class ReferenceStats:
    """What a model's predictions looked like on held-out rows (see the module docstring).

    Attributes
    ----------
    n
        Held-out rows the statistics come from.
    topic_shares
        Share of each predicted topic.
    confidence_counts, correct_counts
        Rows per bin of :data:`CONFIDENCE_EDGES`, and how many of them were predicted right.
    mean_confidence, low_confidence
        Mean top probability, and the share of rows under 0.5.
    accuracy
        Held-out accuracy.
    oov_rate
        Mean share of a headline's words unseen in training (None: the features keep no words).
    source
        Where the held-out rows came from (``cross-validated scores``, ``held-out slice``, ...).
    """

    n: int
    topic_shares: dict[str, float]
    confidence_counts: tuple[int, ...]
    correct_counts: tuple[int, ...]
    mean_confidence: float
    low_confidence: float
    accuracy: float
    oov_rate: float | None
    source: str

    def to_meta(self) -> dict[str, Any]:
        """The JSON form stored in ``meta["reference"]`` (rounded: a few hundred bytes)."""
        return {
            "version": REFERENCE_VERSION,
            "n": self.n,
            "topic_shares": {t: round(v, 6) for t, v in self.topic_shares.items()},
            "confidence_edges": list(CONFIDENCE_EDGES),
            "confidence_counts": list(self.confidence_counts),
            "correct_counts": list(self.correct_counts),
            "mean_confidence": round(self.mean_confidence, 6),
            "low_confidence": round(self.low_confidence, 6),
            "accuracy": round(self.accuracy, 6),
            "oov_rate": None if self.oov_rate is None else round(self.oov_rate, 6),
            "source": self.source,
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ReferenceStats | None:
        """The statistics a model's metadata holds, or None (an older model, or a newer layout)."""
        ref = meta.get("reference")
        if not isinstance(ref, Mapping) or ref.get("version") != REFERENCE_VERSION:
            return None
        try:
            stats = cls(
                n=int(ref["n"]),
                topic_shares={str(k): float(v) for k, v in ref["topic_shares"].items()},
                confidence_counts=tuple(int(c) for c in ref["confidence_counts"]),
                correct_counts=tuple(int(c) for c in ref["correct_counts"]),
                mean_confidence=float(ref["mean_confidence"]),
                low_confidence=float(ref["low_confidence"]),
                accuracy=float(ref["accuracy"]),
                oov_rate=None if ref.get("oov_rate") is None else float(ref["oov_rate"]),
                source=str(ref.get("source", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        bins = len(CONFIDENCE_EDGES) - 1
        if len(stats.confidence_counts) != bins or len(stats.correct_counts) != bins:
            return None
        return stats


def confidence_bins(confidence: np.ndarray) -> np.ndarray:
    """The bin of :data:`CONFIDENCE_EDGES` of each top probability (1.0 in the last bin)."""
    bins = np.floor(np.asarray(confidence, dtype=np.float64) / 0.05).astype(np.int64)
    return np.clip(bins, 0, len(CONFIDENCE_EDGES) - 2)


def confidence_counts(confidence: np.ndarray) -> np.ndarray:
    """Rows per bin of :data:`CONFIDENCE_EDGES`."""
    return np.bincount(confidence_bins(confidence), minlength=len(CONFIDENCE_EDGES) - 1)


def binned_accuracy(counts: Sequence[int], correct: Sequence[int]) -> np.ndarray:
    """Each bin's accuracy on held-out rows, shrunk towards the bin's middle confidence by
    :data:`PRIOR_ROWS` pseudo-rows (a bin with no held-out row trusts the probabilities)."""
    mids = (np.asarray(CONFIDENCE_EDGES[:-1]) + np.asarray(CONFIDENCE_EDGES[1:])) / 2
    n, right = np.asarray(counts, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    return (right + PRIOR_ROWS * mids) / (n + PRIOR_ROWS)


def known_words(features: Any) -> frozenset[str] | None:
    """The single words a fitted feature step knows (None: hashed features, which keep no words)."""
    vocabulary = getattr(features, "word_vocabulary_", None)
    if vocabulary is None:
        return None
    return frozenset(term for term in vocabulary if " " not in term)


def oov_shares(texts: Iterable[str], words: frozenset[str]) -> np.ndarray:
    """Per headline, the share of its words (as the features split them) not in ``words``
    (0 for a headline without words)."""
    out = []
    for text in texts:
        tokens = preprocess(text).split()
        out.append(sum(t not in words for t in tokens) / len(tokens) if tokens else 0.0)
    return np.asarray(out, dtype=np.float64)


def leave_one_out_oov(texts: Sequence[str]) -> float:
    """The mean out-of-vocabulary share a headline would have if it were left out of training: its
    words that no other training headline holds."""
    docs = [set(preprocess(t).split()) for t in texts]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc)
    shares = []
    for text in texts:
        tokens = preprocess(text).split()
        if tokens:
            shares.append(sum(df[t] <= 1 for t in tokens) / len(tokens))
    return float(np.mean(shares)) if shares else 0.0


def reference_from_heldout(
    proba: np.ndarray,
    codes: np.ndarray,
    topics: Sequence[str],
    *,
    oov_rate: float | None,
    source: str,
) -> ReferenceStats:
    """:class:`ReferenceStats` from held-out probabilities and the held-out rows' true topic codes."""
    proba = np.asarray(proba)
    top = proba.argmax(axis=1)
    confidence = proba.max(axis=1)
    bins = confidence_bins(confidence)
    n_bins = len(CONFIDENCE_EDGES) - 1
    right = top == np.asarray(codes)
    shares = np.bincount(top, minlength=len(topics)) / max(len(top), 1)
    return ReferenceStats(
        n=len(top),
        topic_shares={str(t): float(s) for t, s in zip(topics, shares, strict=True)},
        confidence_counts=tuple(int(c) for c in np.bincount(bins, minlength=n_bins)),
        correct_counts=tuple(int(c) for c in np.bincount(bins, weights=right, minlength=n_bins)),
        mean_confidence=float(confidence.mean()) if len(top) else 0.0,
        low_confidence=float((confidence < 0.5).mean()) if len(top) else 0.0,
        accuracy=float(right.mean()) if len(top) else 0.0,
        oov_rate=oov_rate,
        source=source,
    )
