"""Monitoring's settings and defaults, without numpy: the command line reads them to show its options
and must start fast."""

from __future__ import annotations

from dataclasses import dataclass

#: What the verdict tells the user to do.
ACTIONS = ("nothing", "self-train", "label")
#: How many current headlines ``--write-sample`` writes by default.
SAMPLE_SIZE = 1000
#: The service's default window: the last this many headlines.
DEFAULT_WINDOW = 1000


@dataclass(frozen=True)
class Thresholds:
    """When a change counts (both a test at ``alpha`` and the effect size must say so).

    Attributes
    ----------
    alpha
        Significance level of each test.
    js_distance
        Smallest Jensen-Shannon distance (base 2) of the topic mix that counts; one topic of four
        moving by 10 points is about 0.09.
    mean_confidence
        Smallest fall of the mean top probability that counts.
    low_confidence
        Smallest rise of the share of headlines under 0.5 that counts.
    oov_rate
        Smallest rise of the out-of-vocabulary rate that counts.
    accuracy_drop
        Smallest fall of the estimated accuracy that counts.
    """

    alpha: float = 0.01
    js_distance: float = 0.05
    mean_confidence: float = 0.03
    low_confidence: float = 0.05
    oov_rate: float = 0.05
    accuracy_drop: float = 0.03
