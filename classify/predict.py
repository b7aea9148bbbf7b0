"""Prediction: headlines in, topics with probabilities out, streamed in batches."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from classify.model import Model
from classify.sources import Record

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


@dataclass(frozen=True)
class PredictOptions:
    """What each result row carries besides the input's fields, topic and confidence."""

    top_k: int = 1
    #: Below this best probability the topic becomes ``uncertain_label`` (None: never).
    min_confidence: float | None = None
    uncertain_label: str = "uncertain"
    #: Add ``why``: the words that pushed the headline to its topic most.
    explain: bool = False


def result_row(
    record: Record, p: Prediction, options: PredictOptions, why: Sequence[str] | None = None
) -> dict[str, Any]:
    """The fields of one result: the input's own fields, then the prediction.

    With ``min_confidence``, an unsure headline gets the uncertain label as its topic and keeps its
    best guess in ``best_guess``, so that nothing the model said is lost. The same row is written by
    every output format and returned by the service.
    """
    row: dict[str, Any] = dict(record.fields)
    unsure = options.min_confidence is not None and p.confidence < options.min_confidence
    row["topic"] = options.uncertain_label if unsure else p.topic
    row["confidence"] = round(p.confidence, 4)
    if options.min_confidence is not None:
        row["best_guess"] = p.topic
    if options.top_k > 1:
        row["topics"] = [[t, round(prob, 4)] for t, prob in p.topics]
    if why is not None:
        row["why"] = list(why)
    return row


def predict_records(
    model: Model, records: Iterable[Record], options: PredictOptions | None = None
) -> Iterator[tuple[Record, dict[str, Any]]]:
    """Classify records lazily, in input order: each record with its result row.

    Parameters
    ----------
    model
        A trained model.
    records
        Headlines with their input fields (:func:`classify.sources.iter_records`), possibly endless.
    options
        Top-k, abstention and explanations.
    """
    options = options or PredictOptions()
    explainer = None
    if options.explain:
        from classify.explain import Explainer

        explainer = Explainer(model)
    # An explanation compares the best topic with the runner-up, so it needs two.
    k = max(options.top_k, 2 if explainer else 1)
    # predict() reads ahead a batch at a time; the records it has read wait here for their answers.
    pending: deque[Record] = deque()

    def headlines() -> Iterator[str]:
        for record in records:
            pending.append(record)
            yield record.headline

    for p in predict(model, headlines(), top_k=k):
        record = pending.popleft()
        why = explainer.why(p) if explainer else None
        yield record, result_row(record, p, options, why)
