"""What the models say about the pool: the suggestions, and the calls into training that make them.

In a cold start the suggestions are the model fitted on the answers; from a starting model, a blend
``(1 - w) * p_start + w * p_answers`` with ``w = n / (n + BLEND_LABELS)`` for ``n`` labels, so the
site's own labels take over as they grow. The selection model's ranking probabilities are blended
with a starting model's in the same proportion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from classify.pipeline.model import Model

#: Labels at which the model fitted on the answers weighs as much as the starting model.
BLEND_LABELS = 100


def blend(start: np.ndarray | None, answers: np.ndarray | None, labels: int) -> np.ndarray | None:
    """``(1 - w) * start + w * answers`` with ``w = labels / (labels + BLEND_LABELS)``; one alone if
    the other is ``None``."""
    if start is None:
        return answers
    if answers is None:
        return start
    w = labels / (labels + BLEND_LABELS)
    return (1 - w) * start + w * answers


def align(model: Model | None, topics: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """``model``'s probabilities as columns in ``topics`` order (0 for topics the model lacks)."""
    import numpy as np

    out = np.zeros((len(texts), len(topics)))
    if model is None:
        return out
    proba = predict_proba(model, texts)
    column = {t: j for j, t in enumerate(topics)}
    for k, topic in enumerate(model.topics):
        if topic in column:
            out[:, column[topic]] = proba[:, k]
    total = out.sum(axis=1, keepdims=True)
    # A starting model's topics outside the session's topics are dropped; renormalise the rest.
    np.divide(out, total, out=out, where=total > 0)
    return out


def fit_project_pipeline(texts: list[str], labels: list[str]) -> Model:
    """The project pipeline trained on the answers (the session's default ``fit``)."""
    from classify.io.labelled import LabelledData
    from classify.training.memory import train

    return train(LabelledData(texts=texts, labels=labels, source="classify label answers")).model


def predict_proba(model: Model, texts: Sequence[str]) -> Any:
    """``model``'s probabilities for ``texts``, columns in ``model.topics`` order."""
    return model.predict_proba(texts)
