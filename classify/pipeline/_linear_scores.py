"""Fitted linear topic scores without scikit-learn: :class:`LinearScores` and its array helpers.

The prediction half of :class:`classify.pipeline.linear.TopicClassifier` (which subclasses it), so
that a model file's weights score headlines with numpy alone; re-exported by
:mod:`classify.pipeline.runtime`.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np


class LinearScores:
    """Fitted linear topic scores: ``softmax((X @ coef_.T + intercept_) / temperature_)``.

    The parameters are those of :class:`classify.pipeline.linear.TopicClassifier`, which documents them and
    fits the attributes; this class holds them (so a model file's settings are checked the same way
    in both forms) and scores features.

    Attributes
    ----------
    classes_ : ndarray of str
        Topics, in column order of :meth:`predict_proba`.
    coef_ : ndarray of shape (n_topics, n_features), float32
    intercept_ : ndarray of shape (n_topics,), float32
    temperature_ : float
    calibration_ : str
        How the temperature was fitted (see :class:`classify.pipeline.linear.TopicClassifier`).
    """

    classes_: np.ndarray
    coef_: np.ndarray
    intercept_: np.ndarray
    temperature_: float
    calibration_: str

    def __init__(
        self,
        loss: str = "svm",
        C: float = 0.5,
        random_state: int = 0,
        views: str = "svm+nbsvm+mnb",
        blend_bias: bool = True,
    ) -> None:
        self.loss = loss
        self.C = C
        self.random_state = random_state
        self.views = views
        self.blend_bias = blend_bias

    def _check_fitted(self) -> None:
        """Nothing to check here (the scikit-learn subclass checks that ``fit`` ran)."""

    def decision_function(self, X: Any) -> np.ndarray:
        """Linear score of each topic (before the temperature)."""
        self._check_fitted()
        return scores(X, self.coef_, self.intercept_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each topic: ``softmax(scores / temperature)``; rows sum to 1."""
        return softmax(self.decision_function(X) / self.temperature_)

    def predict(self, X: Any) -> np.ndarray:
        """The likeliest topic of each row."""
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    @classmethod
    def from_arrays(
        cls, params: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> Self:
        """Rebuild the fitted scores from a model file's settings, numbers and arrays.

        Raises
        ------
        ValueError
            The weights, topics and temperature do not fit together, or a setting is malformed.
        TypeError
            A setting this classifier does not take.
        """
        if not isinstance(params.get("blend_bias", True), bool):
            raise ValueError("the setting blend_bias is not true or false")
        clf = cls(**params)
        clf._restore(state, arrays)
        return clf

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        classes = state["classes"]
        coef = weights_layout(arrays["coef"])
        intercept = np.asarray(arrays["intercept"], dtype=np.float32)
        temperature = float(state["temperature"])
        if (
            not isinstance(classes, list)
            or len(classes) < 2
            or len(set(classes)) != len(classes)
            or not all(isinstance(c, str) for c in classes)
        ):
            raise ValueError("the topics are not a list of two or more distinct names")
        if coef.ndim != 2 or coef.shape[0] != len(classes) or intercept.shape != (len(classes),):
            raise ValueError(f"the weights do not have one row per topic ({len(classes)} topics)")
        if not (np.isfinite(coef).all() and np.isfinite(intercept).all() and 0 < temperature < np.inf):
            raise ValueError("the weights or the temperature are not finite positive numbers")
        self.classes_ = np.asarray(classes)
        self.coef_, self.intercept_ = coef, intercept
        self.temperature_ = temperature
        self.calibration_ = str(state.get("calibration", ""))


def weights_layout(coef: Any) -> np.ndarray:
    """Topic weights ``(n_topics, n_features)`` as float32 in column-major order.

    ``X @ coef.T`` needs ``coef.T`` C-contiguous, or scipy copies the whole weight matrix on every
    call: 130 MB per batch for a hashed model of 33 topics, which was most of its prediction time.
    """
    return np.asfortranarray(coef, dtype=np.float32)


def scores(X: Any, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """``X @ coef.T + intercept`` as a dense array."""
    return np.asarray(X @ coef.T) + intercept


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably (the largest score of each row is subtracted first)."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted
