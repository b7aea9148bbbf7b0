"""Why did a headline get its topic? The words whose features pushed it there most.

For a linear model the score of a topic is a sum over features of (feature value x weight), so each
feature's share is exact. Character n-grams are attributed back to the words that contain them (a
fragment like ``"ban"`` means nothing to a reader; ``"central"`` and ``"bank"`` do), and a feature
shared by several words is split evenly between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from classify.errors import ModelError
from classify.pipeline.model import Model, linear_weights
from classify.text import preprocess

if TYPE_CHECKING:
    from classify.prediction.results import Prediction

#: Stripped from the ends of words shown to people (quotes of every style, stops, brackets).
_PUNCTUATION = "\"'\u2018\u2019\u201c\u201d.,:;!?()[]"

#: How many words an explanation lists at most.
TOP_WORDS = 3
#: Headlines explained at once by :meth:`Explainer.why_many`.
_CHUNK = 2048


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
        # Each topic's weights as a list of Python floats, made on first use: indexing the numpy row
        # once per feature was a third of the time of an explanation (the floats are the same).
        self._weight_lists: dict[str, list[float]] = {}

    def _weight_list(self, topic: str) -> list[float]:
        if topic not in self._weight_lists:
            self._weight_lists[topic] = [float(w) for w in self.weights[topic]]
        return self._weight_lists[topic]

    def contributions(self, headline: str, topic: str, row: Any = None) -> list[tuple[str, float]]:
        """Each word of ``headline`` with its share of the score of ``topic``, in headline order.

        ``row`` is the headline's feature row, as its column indices and values, when the caller
        has transformed many at once.
        """
        if row is None:
            x = self.features.transform([headline]).tocsr()
            row = (x.indices, x.data)
        indices, data = row
        if len(np.unique(indices)) < len(indices):
            # Hashed features repeat a column for a repeated n-gram; the value is their sum (in the
            # matrix's float32, as scipy sums them).
            x = sp.csr_matrix((data, indices, [0, len(indices)]), shape=(1, int(indices.max()) + 1))
            x.sum_duplicates()
            indices, data = x.indices, x.data
        values = dict(zip(indices.tolist(), data.tolist(), strict=True))
        weights = self._weight_list(topic)
        per_word = self.features.token_features(headline)
        sharing: dict[int, int] = {}
        for _, cols in per_word:
            for c in cols.tolist():
                sharing[c] = sharing.get(c, 0) + 1
        scores = [
            sum(values.get(c, 0.0) * weights[c] / sharing[c] for c in cols.tolist()) for _, cols in per_word
        ]
        return _shown(headline, [word for word, _ in per_word], scores)

    def why(self, prediction: Prediction, row: Any = None) -> list[str]:
        """The words that pushed ``prediction.headline`` toward its topic most, strongest first."""
        return self._strongest(self.contributions(prediction.headline, prediction.topic, row))

    def _strongest(self, scored: Sequence[tuple[str, float]]) -> list[str]:
        """The :attr:`top` words with the largest positive shares (a repeated word by its best)."""
        best: dict[str, float] = {}
        for word, score in scored:
            if word and score > 0:
                best[word] = max(score, best.get(word, 0.0))
        return [w for w, _ in sorted(best.items(), key=lambda kv: -kv[1])[: self.top]]

    def why_many(self, predictions: Sequence[Prediction]) -> list[list[str]]:
        """:meth:`why` of each prediction, the same words, computed for the whole batch at once.

        With the word + character features (:class:`classify.pipeline.runtime.HeadlineFeatures`), every
        word's share is found with sparse products instead of a Python sum per word: the terms are
        the same float64 operations, added in the same order (``bincount`` adds sequentially, over
        each word's columns in ascending order, as :meth:`contributions` does), so the words and
        their order are the same. Other features are explained headline by headline.
        """
        if len(predictions) > _CHUNK:
            # In chunks: each word's copy of its headline's row (below) made 16k headlines at once
            # peak at 312 MiB.
            return [
                w
                for i in range(0, len(predictions), _CHUNK)
                for w in self.why_many(predictions[i : i + _CHUNK])
            ]
        if not predictions:
            return []
        headlines = [p.headline for p in predictions]
        if not hasattr(self.features, "transform_with_words"):
            return self._why_each(predictions, self.features.transform(headlines).tocsr())
        x, marks, word_doc = self.features.transform_with_words(headlines)
        x.sum_duplicates()
        # The value of each of a word's features in its headline, and how many words of that
        # headline carry the feature (its share is split evenly between them).
        values = marks.multiply(x[word_doc]).tocsr()
        docs = sp.csr_matrix(
            (np.ones(len(word_doc), dtype=np.float32), (word_doc, np.arange(len(word_doc)))),
            shape=(len(headlines), len(word_doc)),
        )
        sharing = values.astype(bool).multiply((docs @ marks)[word_doc]).tocsr()
        values.sort_indices()
        sharing.sort_indices()
        aligned = np.array_equal(values.indptr, sharing.indptr) and np.array_equal(
            values.indices, sharing.indices
        )
        if not aligned:  # never expected: every feature a word carries is in its headline's row
            return self._why_each(predictions, x)
        entry_word = np.repeat(np.arange(len(word_doc)), np.diff(values.indptr))
        topics = list(self.weights)
        coef = np.stack([self.weights[t] for t in topics])
        topic_of = {t: i for i, t in enumerate(topics)}
        doc_topic = np.array([topic_of[p.topic] for p in predictions], dtype=np.int64)
        weight = coef[doc_topic[word_doc[entry_word]], values.indices].astype(np.float64)
        terms = values.data.astype(np.float64) * weight / sharing.data.astype(np.float64)
        scores = np.bincount(entry_word, weights=terms, minlength=len(word_doc)).tolist()
        out: list[list[str]] = []
        at = 0
        for headline in headlines:
            words = preprocess(headline).split()
            out.append(self._strongest(_shown(headline, words, scores[at : at + len(words)])))
            at += len(words)
        return out

    def _why_each(self, predictions: Sequence[Prediction], x: Any) -> list[list[str]]:
        """:meth:`why` of each prediction in turn, given the batch's feature rows ``x`` (CSR)."""
        # Each row sliced from the arrays: a scipy matrix per row cost more than its explanation.
        ptr, indices, data = x.indptr.tolist(), x.indices, x.data
        return [
            self.why(p, (indices[ptr[i] : ptr[i + 1]], data[ptr[i] : ptr[i + 1]]))
            for i, p in enumerate(predictions)
        ]


def _shown(headline: str, words: Sequence[str], scores: Sequence[float]) -> list[tuple[str, float]]:
    """Each word's score under the word a reader sees: the headline's own word where the model's words
    (lowercased, accents stripped) line up with it one to one, else the model's; punctuation stripped."""
    originals = headline.split()
    shown = originals if len(originals) == len(words) else words
    return [(word.strip(_PUNCTUATION), score) for word, score in zip(shown, scores, strict=True)]
