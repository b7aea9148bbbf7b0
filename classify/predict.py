"""Prediction: headlines in, topics with probabilities out, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from classify.model import Model

BATCH_SIZE = 4096
#: How many distinct headlines the duplicate cache remembers (tickers repeat; files may be huge).
CACHE_SIZE = 200_000


@dataclass(frozen=True)
class Prediction:
    """The topic of one headline.

    ``confidence`` is the model's probability for ``topic``; ``topics`` holds the best topics with
    their probabilities, most likely first (as many as ``top_k`` asked).
    """

    headline: str
    topic: str
    confidence: float
    topics: tuple[tuple[str, float], ...]


def predict(
    model: Model, headlines: Iterable[str], *, top_k: int = 1, batch_size: int = BATCH_SIZE
) -> Iterator[Prediction]:
    """Classify headlines lazily, in input order.

    Headlines are processed ``batch_size`` at a time, so the input may be an endless stream; a
    headline seen before is answered from a cache instead of being classified again.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    topics = model.topics
    k = min(top_k, len(topics))
    cache: dict[str, tuple[tuple[str, float], ...]] = {}
    iterator = iter(headlines)
    while batch := list(islice(iterator, batch_size)):
        todo = list(dict.fromkeys(h for h in batch if h not in cache))
        if len(cache) + len(todo) > CACHE_SIZE:
            cache.clear()
            todo = list(dict.fromkeys(batch))
        if todo:
            proba = model.predict_proba(todo)
            order = (-proba).argsort(axis=1, kind="stable")[:, :k]
            for headline, row, best in zip(todo, proba, order, strict=True):
                cache[headline] = tuple((topics[j], float(row[j])) for j in best)
        for headline in batch:
            ranked = cache[headline]
            yield Prediction(headline, ranked[0][0], ranked[0][1], ranked)
