"""Watching a stream of predictions: a rolling window of the last N headlines, and a sequential
detector that raises one alarm per episode of change.

The window (:class:`MonitorWindow`) answers "what does the recent stream look like" with the same
:class:`~classify.monitoring.stats.Snapshot` and :func:`~classify.monitoring.stats.compare` as
``classify drift``. Testing that window again after every request would test the same headlines
hundreds of times, and a fixed-level test repeated that often raises false alarms by the dozen; so
the alarm comes from a detector made for repeated looks instead (:class:`ShiftDetector`):

- **CUSUM charts** (Page 1954): per topic, one chart for a rise and one for a fall of its predicted
  share by ``shift`` (a Bernoulli log-likelihood ratio against the reference share, summed while
  positive), and one chart for a rise of the share of headlines under 0.5 confidence.
- **Threshold**: a chart whose increments are log-likelihood ratios crosses ``h`` under no change at
  most once per ``e**h`` observations on average (Lorden 1971: its average run length is at least
  ``e**h``). With ``k`` charts watched together, ``h = ln(k * budget)`` keeps the whole detector under
  one false alarm per ``budget`` headlines (a union bound over the charts: the multiple-testing
  correction). ``bench/drift.py`` measures the real rate, well under the bound.
- **Episodes**: the alarm goes on when a chart crosses ``h`` and off only once every chart is back
  under ``h / 2`` (charts are capped at ``1.5 h``, so that a past change is forgotten in a few hundred
  headlines); one episode is one alarm, however many requests it spans.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from classify.monitoring.settings import DEFAULT_WINDOW
from classify.monitoring.stats import DriftReport, Snapshot, compare, estimate_accuracy, reference_snapshot
from classify.pipeline.reference import ReferenceStats, confidence_counts, oov_shares

#: At most one false alarm per this many headlines (the detector's budget).
FALSE_ALARM_BUDGET = 100_000
#: The change in a topic's share (absolute) the charts are tuned to catch fastest.
DESIGN_SHIFT = 0.07
#: Points of topic-share history kept for the page.
HISTORY = 120


@dataclass(frozen=True)
class DetectorState:
    """Where the detector stands.

    Attributes
    ----------
    alarm
        An episode of change is on.
    episodes
        Alarms raised so far.
    threshold
        The charts' threshold ``h``.
    charts
        Each chart above zero: its name (``politics up``, ``confidence down``) and value.
    """

    alarm: bool
    episodes: int
    threshold: float
    charts: dict[str, float]


class ShiftDetector:
    """CUSUM charts of the topic shares and of low confidence (see the module docstring).

    Parameters
    ----------
    shares
        Reference share of each topic (its predicted share on held-out rows).
    low_share
        Reference share of headlines whose top probability is under 0.5.
    shift
        The absolute change in a share the charts are tuned to.
    budget
        At most one false alarm per this many headlines.
    threshold
        The charts' threshold, instead of the one ``budget`` gives (for calibrating by simulation).
    """

    def __init__(
        self,
        shares: Mapping[str, float],
        low_share: float,
        *,
        shift: float = DESIGN_SHIFT,
        budget: int = FALSE_ALARM_BUDGET,
        threshold: float | None = None,
    ) -> None:
        self.topics = list(shares)
        p0 = np.clip(
            np.asarray([shares[t] for t in self.topics] + [low_share], dtype=np.float64), 1e-3, 0.999
        )
        up = np.minimum(p0 + shift, 0.999)
        down = np.maximum(p0 - shift, p0 / 2)
        # Charts: a rise of every share, a fall of every topic's share (not of low confidence).
        self._p0 = np.concatenate([p0, p0[:-1]])
        p1 = np.concatenate([up, down[:-1]])
        self._hit = np.log(p1 / self._p0)
        self._miss = np.log((1 - p1) / (1 - self._p0))
        self.names = (
            [f"{t} up" for t in self.topics] + ["confidence down"] + [f"{t} down" for t in self.topics]
        )
        self.threshold = threshold if threshold is not None else math.log(len(self.names) * budget)
        self._s = np.zeros(len(self.names))
        self._gain = self._hit - self._miss  # a hit adds log(p1/p0), a miss log((1-p1)/(1-p0))
        self._hits = np.zeros(len(self.names))
        self._cap = 1.5 * self.threshold
        self.alarm = False
        self.episodes = 0

    def update(self, topic_counts: Sequence[int] | np.ndarray, low_count: int, n: int) -> bool:
        """Add a batch of ``n`` headlines (its predicted topic counts, in the order of ``shares``, and
        how many were under 0.5); returns True when this batch starts an episode."""
        if n <= 0:
            return False
        # A handful of numpy calls on arrays of a few dozen: a request pays microseconds for it.
        hits = self._hits
        k = len(self.topics)
        hits[:k] = topic_counts
        hits[k] = low_count
        hits[k + 1 :] = topic_counts
        s = self._s
        s += hits * self._gain
        s += n * self._miss
        np.clip(s, 0.0, self._cap, out=s)
        top = float(s.max())
        if not self.alarm and top >= self.threshold:
            self.alarm = True
            self.episodes += 1
            return True
        if self.alarm and top < self.threshold / 2:
            self.alarm = False
        return False

    def state(self) -> DetectorState:
        """The alarm, the count of episodes and the charts above zero."""
        charts = {n: round(float(v), 3) for n, v in zip(self.names, self._s, strict=True) if v > 0}
        return DetectorState(self.alarm, self.episodes, self.threshold, charts)

    def reasons(self) -> list[str]:
        """The charts over the threshold, as words."""
        return [n for n, v in zip(self.names, self._s, strict=True) if v >= self.threshold]


class MonitorWindow:
    """The last ``size`` predictions of a model, their history, and the detector (thread-safe).

    Parameters
    ----------
    topics
        The model's topics.
    words
        The model's known words (None: out-of-vocabulary rates are not measured).
    reference
        The model's stored reference statistics (None: an older model file: the window is still kept,
        but there is nothing to compare it with and no detector).
    size
        Headlines in the window.
    """

    def __init__(
        self,
        topics: Sequence[str],
        words: frozenset[str] | None,
        reference: ReferenceStats | None,
        size: int = DEFAULT_WINDOW,
    ) -> None:
        if size < 1:
            raise ValueError(f"window size {size}: expected a positive number of headlines")
        self.topics = list(topics)
        self.size = size
        self.words = words
        self.reference = reference
        self._index = {t: i for i, t in enumerate(self.topics)}
        self._topic = np.zeros(size, dtype=np.int32)
        self._conf = np.zeros(size, dtype=np.float32)
        self._texts: deque[str] = deque(maxlen=size)
        self._seen = 0
        self._lock = threading.Lock()
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._step = max(size // 5, 1)
        self._next_point = self._step
        self.detector = (
            ShiftDetector(reference.topic_shares, reference.low_confidence) if reference is not None else None
        )

    @property
    def seen(self) -> int:
        """Headlines observed since the window was made."""
        return self._seen

    def observe(self, texts: Sequence[str], topics: Sequence[str], confidences: Sequence[float]) -> bool:
        """Add a batch of predictions; returns True when it starts an alarm episode."""
        n = len(texts)
        if not n:
            return False
        idx = np.fromiter(map(self._index.get, topics, repeat(0)), dtype=np.int32, count=n)
        conf = np.asarray(confidences, dtype=np.float32)
        with self._lock:
            # Written as (at most two) slices of the ring: a request pays a few array copies. The
            # unseen-word rate is computed from the kept headlines when a snapshot is asked for, not here.
            start = self._seen % self.size
            if n >= self.size:
                shift = (self._seen + n) % self.size
                self._topic[:], self._conf[:] = (
                    np.roll(idx[-self.size :], shift),
                    np.roll(conf[-self.size :], shift),
                )
            else:
                head = min(n, self.size - start)
                self._topic[start : start + head], self._conf[start : start + head] = idx[:head], conf[:head]
                self._topic[: n - head], self._conf[: n - head] = idx[head:], conf[head:]
            self._texts.extend(texts)
            self._seen += n
            started = False
            if self.detector is not None:
                counts = np.bincount(idx, minlength=len(self.topics))
                started = self.detector.update(counts, int((conf < 0.5).sum()), n)
            if self._seen >= self._next_point:
                self.history.append(self._point())
                self._next_point = self._seen + self._step
            return started

    def _filled(self) -> int:
        return min(self._seen, self.size)

    def _point(self) -> dict[str, Any]:
        m = self._filled()
        counts = np.bincount(self._topic[:m], minlength=len(self.topics))
        return {
            "seen": self._seen,
            "shares": {t: round(float(c) / max(m, 1), 4) for t, c in zip(self.topics, counts, strict=True)},
            "mean_confidence": round(float(self._conf[:m].mean()) if m else 0.0, 4),
            "alarm": bool(self.detector and self.detector.alarm),
        }

    def snapshot(self) -> Snapshot:
        """The window's :class:`~classify.monitoring.stats.Snapshot`."""
        with self._lock:
            m = self._filled()
            topic, conf = self._topic[:m].copy(), self._conf[:m].astype(np.float64)
            texts = list(self._texts)
        oov_rate = None
        if self.words is not None:
            oov_rate = float(oov_shares(texts, self.words).mean()) if texts else 0.0
        counts = np.bincount(topic, minlength=len(self.topics))
        return Snapshot(
            n=m,
            topic_counts={t: int(c) for t, c in zip(self.topics, counts, strict=True)},
            confidence_counts=tuple(int(c) for c in confidence_counts(conf)),
            mean_confidence=float(conf.mean()) if m else 0.0,
            low_confidence=float((conf < 0.5).mean()) if m else 0.0,
            oov_rate=oov_rate,
            estimated_accuracy=estimate_accuracy(conf, self.reference),
            confidences=conf,
        )

    def headlines(self) -> list[str]:
        """The window's headlines, oldest first."""
        with self._lock:
            return list(self._texts)

    def report(self) -> DriftReport | None:
        """The window against the model's reference statistics (None: the model has none)."""
        if self.reference is None:
            return None
        return compare(
            reference_snapshot(self.reference),
            self.snapshot(),
            reference_name="the model's training statistics",
            current_name=f"the last {self._filled()} headlines",
            advice_names=("window.txt", "DATA"),
        )
