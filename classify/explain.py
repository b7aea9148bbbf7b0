"""Why did a headline get its topic? The words whose features pushed it there most.

For a linear model the score of a topic is a sum over features of (feature value x weight), so each
feature's share is exact. Character n-grams are attributed back to the words that contain them (a
fragment like ``"ban"`` means nothing to a reader; ``"central"`` and ``"bank"`` do), and a feature
shared by several words is split evenly between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from classify.errors import ModelError
from classify.model import Model, linear_weights

if TYPE_CHECKING:
    from classify.predict import Prediction

#: Stripped from the ends of words shown to people (quotes of every style, stops, brackets).
_PUNCTUATION = "\"'\u2018\u2019\u201c\u201d.,:;!?()[]"

#: How many words an explanation lists at most.
TOP_WORDS = 3


class Explainer:
    """Explains the predictions of one model (weights are looked up once)."""

    def __init__(self, model: Model, *, top: int = TOP_WORDS) -> None:
        self.features = model.fitted.named_steps["features"]
        if not hasattr(self.features, "token_features"):
            raise ModelError("this model's features cannot be explained; retrain it with this classify")
        weights = linear_weights(model.fitted)
        if weights is None:
            raise ModelError("this model's classifier has no linear weights to explain")
        self.weights = weights
        self.top = top

    def contributions(self, headline: str, topic: str, row: Any = None) -> list[tuple[str, float]]:
        """Each word of ``headline`` with its share of the score of ``topic``, in headline order.

        ``row`` is the headline's feature row when the caller has transformed many at once.
        """
        x = (self.features.transform([headline]) if row is None else row).tocsr().copy()
        x.sum_duplicates()  # hashed features repeat a column for a repeated n-gram; the value is their sum
        values = dict(zip(x.indices.tolist(), x.data.tolist(), strict=True))
        weights = self.weights[topic]
        per_word = self.features.token_features(headline)
        sharing: dict[int, int] = {}
        for _, cols in per_word:
            for c in cols.tolist():
                sharing[c] = sharing.get(c, 0) + 1
        originals = headline.split()
        out = []
        for i, (word, cols) in enumerate(per_word):
            score = sum(values.get(c, 0.0) * float(weights[c]) / sharing[c] for c in cols.tolist())
            shown = originals[i] if len(originals) == len(per_word) else word
            out.append((shown.strip(_PUNCTUATION), score))
        return out

    def why(self, prediction: Prediction, row: Any = None) -> list[str]:
        """The words that pushed ``prediction.headline`` toward its topic most, strongest first."""
        scored = self.contributions(prediction.headline, prediction.topic, row)
        best: dict[str, float] = {}
        for word, score in scored:
            if word and score > 0:
                best[word] = max(score, best.get(word, 0.0))
        return [w for w, _ in sorted(best.items(), key=lambda kv: -kv[1])[: self.top]]

    def why_many(self, predictions: Sequence[Prediction]) -> list[list[str]]:
        """:meth:`why` of each prediction, with one feature transform for them all.

        Transforming headlines one at a time was half the cost of an explanation.
        """
        if not predictions:
            return []
        x = self.features.transform([p.headline for p in predictions]).tocsr()
        return [self.why(p, x[i]) for i, p in enumerate(predictions)]
