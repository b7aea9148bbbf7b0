"""The service's drift monitor: a rolling window of the served model's predictions
(:class:`classify.monitoring.window.MonitorWindow`), its gauges on ``/metrics``, and the alarm.

One window per served model: a reloaded model starts a fresh window against its own reference. The
gauges are set when ``/metrics`` is scraped, not per request, so a request pays only for adding its
rows to the window (``bench/drift.py`` measures it). An alarm is one warning in the log and one
increment of ``classify_drift_alarms`` per episode (see :class:`~classify.monitoring.window.ShiftDetector`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from classify.monitoring.window import MonitorWindow
from classify.pipeline.reference import ReferenceStats, known_words

log = logging.getLogger("classify.serve")

#: What ``/v1/monitor`` says of a model file without reference statistics.
NO_REFERENCE = (
    "the model file holds no training statistics (trained by an older classify): the window is kept "
    "but there is nothing to compare it with; retrain the model, or compare files with 'classify drift'"
)


class Monitor:
    """The window of the model being served, and the drift metrics.

    Parameters
    ----------
    size
        Headlines in the window (0: monitoring off).
    registry
        The prometheus-client registry of the service's metrics (None: the multiprocess collector's).
    """

    def __init__(self, size: int, registry: Any) -> None:
        from prometheus_client import Counter, Gauge

        self.size = size
        self._lock = threading.Lock()
        self._window: MonitorWindow | None = None
        self._model_id: str | None = None
        mode: dict[str, Any] = {"multiprocess_mode": "mostrecent"}
        self.share = Gauge(
            "classify_window_topic_share",
            "Share of each topic in the window.",
            ["topic"],
            registry=registry,
            **mode,
        )
        self.confidence = Gauge(
            "classify_window_mean_confidence",
            "Mean top probability in the window.",
            registry=registry,
            **mode,
        )
        self.oov = Gauge(
            "classify_window_oov_rate",
            "Mean share of a headline's words the model never saw, in the window.",
            registry=registry,
            **mode,
        )
        self.accuracy = Gauge(
            "classify_window_estimated_accuracy",
            "Accuracy expected from the calibrated confidences in the window.",
            registry=registry,
            **mode,
        )
        self.flag = Gauge(
            "classify_drift",
            "1 while a drift alarm is on (the topic mix or the confidence moved), else 0.",
            registry=registry,
            **mode,
        )
        self.alarms = Counter(
            "classify_drift_alarms", "Drift alarms raised (one per episode).", registry=registry
        )

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def window_of(self, served: Any) -> MonitorWindow | None:
        """The window of ``served`` (a fresh one when the served model changed)."""
        if not self.enabled:
            return None
        with self._lock:
            if self._window is None or self._model_id != served.id:
                model = served.model
                self._window = MonitorWindow(
                    model.topics,
                    known_words(model.fitted.named_steps["features"]),
                    ReferenceStats.from_meta(model.meta),
                    self.size,
                )
                self._model_id = served.id
                self.share.clear()
            return self._window

    def observe(self, served: Any, headlines: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Add a request's predictions; log and count an alarm when an episode starts."""
        window = self.window_of(served)
        if window is None or not rows:
            return
        topics = [str(row.get("best_guess", row["topic"])) for row in rows]
        started = window.observe(headlines, topics, [float(row["confidence"]) for row in rows])
        if started and window.detector is not None:
            self.alarms.inc()
            reasons = ", ".join(window.detector.reasons()) or "a chart crossed its threshold"
            log.warning(
                f"drift alarm: the stream moved from model {served.id}'s training statistics ({reasons}); "
                "see /v1/monitor"
            )

    def refresh(self) -> None:
        """Set the gauges from the current window (called when /metrics is scraped)."""
        window = self._window
        if window is None or not window.seen:
            return
        snap = window.snapshot()
        for topic, share in snap.topic_shares.items():
            self.share.labels(topic).set(share)
        self.confidence.set(snap.mean_confidence)
        if snap.oov_rate is not None:
            self.oov.set(snap.oov_rate)
        self.accuracy.set(snap.estimated_accuracy)
        self.flag.set(1 if window.detector is not None and window.detector.alarm else 0)

    def describe(self, served: Any) -> dict[str, Any]:
        """The body of ``/v1/monitor``: the window against the reference, the detector, the history."""
        window = self.window_of(served)
        if window is None:
            return {"enabled": False, "model": served.id}
        report = window.report()
        detector = window.detector.state() if window.detector is not None else None
        return {
            "enabled": True,
            "model": served.id,
            "window": window.size,
            "seen": window.seen,
            "alarm": bool(detector and detector.alarm),
            "alarms": detector.episodes if detector else 0,
            "detector": None
            if detector is None
            else {"threshold": round(detector.threshold, 3), "charts": detector.charts},
            "report": report.to_dict() if report is not None else None,
            "note": None if report is not None else NO_REFERENCE,
            "history": list(window.history),
        }

    def headlines(self, served: Any) -> list[str]:
        """The window's headlines, oldest first (a pool for ``classify label``)."""
        window = self.window_of(served)
        return window.headlines() if window is not None else []
