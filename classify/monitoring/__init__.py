"""Monitoring: whether today's headlines still look like those a model was trained on (topic mix,
confidence, unseen words, estimated accuracy), for ``classify drift`` and the service's window.

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "DriftReport": "stats",
    "Snapshot": "stats",
    "Thresholds": "settings",
    "compare": "stats",
    "snapshot": "stats",
    "drift_files": "drift",
    "save_sample": "drift",
    "MonitorWindow": "window",
    "ShiftDetector": "window",
    "render_text": "render",
}

if TYPE_CHECKING:
    from classify.monitoring.drift import drift_files, save_sample
    from classify.monitoring.render import render_text
    from classify.monitoring.settings import Thresholds
    from classify.monitoring.stats import DriftReport, Snapshot, compare, snapshot
    from classify.monitoring.window import MonitorWindow, ShiftDetector

__all__ = [
    "DriftReport",
    "MonitorWindow",
    "ShiftDetector",
    "Snapshot",
    "Thresholds",
    "compare",
    "drift_files",
    "render_text",
    "save_sample",
    "snapshot",
]

__getattr__ = exports(__name__, _EXPORTS)
