"""The one result schema: what a result row holds, and the batch every writer and the service read.

A result row is a record's own fields followed by the prediction's fields. The fields are declared
once, in :data:`RESULT_FIELDS`: :func:`result_row` builds a row from them, the writers take their
column order and reserved names from them, and the service's response model is generated from
them, so that a new field is added here and in the code that computes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from classify.io.records import Record

if TYPE_CHECKING:
    import numpy as np

#: Probabilities are written with this many decimals (``round(p, 4)``).
DECIMALS = 4


@dataclass(frozen=True)
class ResultField:
    """One field of a result row: its name, JSON type, when a row has it, and what it means."""

    name: str
    type: str
    when: str
    description: str
    #: The Python type of the value (the service's response model is generated from it).
    python_type: Any


#: The prediction's fields of a result row, in the order rows and columns have them.
RESULT_FIELDS: tuple[ResultField, ...] = (
    ResultField("topic", "string", "always", "The best topic (uncertain_label below min_confidence).", str),
    ResultField("confidence", "number", "always", "The probability of the best topic, 4 decimals.", float),
    ResultField("best_guess", "string", "min_confidence", "The model's best topic.", str),
    ResultField(
        "topics", "array", "top_k > 1", "[topic, probability] of the top_k topics.", list[tuple[str, float]]
    ),
    ResultField(
        "labels",
        "array",
        "multi-label model",
        "Every topic at or over its threshold, best first (at least the best topic).",
        list[str],
    ),
    ResultField(
        "set",
        "array",
        "coverage",
        "The prediction set: the topics that hold the true one with probability coverage, best first.",
        list[str],
    ),
    ResultField("why", "array", "explain", "The words behind the topic.", list[str]),
)
#: Names a result row adds to the input's fields (an input column of such a name is renamed).
RESULT_KEYS = frozenset(f.name for f in RESULT_FIELDS)


def result_fields(options: PredictOptions, *, labels: bool = False) -> list[str]:
    """The names of the prediction's fields that rows made with ``options`` carry, in order
    (``labels``: the model is multi-label)."""
    present = {
        "always": True,
        "min_confidence": options.min_confidence is not None,
        "top_k > 1": options.top_k > 1,
        "multi-label model": labels,
        "coverage": options.coverage is not None,
        "explain": options.explain,
    }
    return [f.name for f in RESULT_FIELDS if present[f.when]]


@dataclass(frozen=True)
class Prediction:
    """The topic of one headline.

    ``confidence`` is the model's probability for ``topic``; ``topics`` holds the best topics with
    their probabilities, most likely first (as many as ``top_k`` asked). ``labels`` (a multi-label
    model) and ``prediction_set`` (when a coverage was asked) are topics, best first.
    """

    headline: str
    topic: str
    confidence: float
    topics: tuple[tuple[str, float], ...]
    labels: tuple[str, ...] | None = None
    prediction_set: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PredictionBatch:
    """The predictions of a batch of headlines, as arrays (row ``i`` is ``headlines[i]``).

    Attributes
    ----------
    headlines
        The headlines, in input order.
    topics
        The model's topics: the values of ``ranked`` index them.
    ranked
        ``(n, k)`` integer array: the ``k`` best topics of each headline, most likely first (ties in
        topic order).
    proba
        ``(n, k)`` float64 array: their probabilities.
    labels, sets
        ``(n, k)`` booleans over the ranked columns (then ``k`` is every topic): which topics are the
        headline's labels (a multi-label model) and which are in its prediction set (a coverage was
        asked); ``None`` when not computed.
    """

    headlines: list[str]
    topics: tuple[str, ...]
    ranked: np.ndarray
    proba: np.ndarray
    labels: np.ndarray | None = None
    sets: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.headlines)

    def predictions(self) -> Iterator[Prediction]:
        """One :class:`Prediction` per headline."""
        topics = self.topics
        labels = self.member_lists("labels")
        sets = self.member_lists("sets")
        for i, (headline, best, probs) in enumerate(
            zip(self.headlines, self.ranked.tolist(), self.proba.tolist(), strict=True)
        ):
            ranked = tuple((topics[j], p) for j, p in zip(best, probs, strict=True))
            yield Prediction(
                headline,
                ranked[0][0],
                ranked[0][1],
                ranked,
                None if labels is None else labels[0][labels[1][i]],
                None if sets is None else sets[0][sets[1][i]],
            )

    def member_lists(self, kind: str) -> tuple[list[tuple[str, ...]], list[int]] | None:
        """The distinct topic lists of ``labels`` or ``sets`` (best first) and each row's index into
        them, or ``None`` when not computed: the writers format each distinct list once."""
        import numpy as np

        mask = self.labels if kind == "labels" else self.sets
        if mask is None:
            return None
        topics = self.topics
        if not len(mask):
            return [], []
        # Only the ranks some row uses (sets are the first few ranks; labels nearly so).
        width = int(np.flatnonzero(mask.any(axis=0))[-1]) + 1
        keys = np.where(mask[:, :width], self.ranked[:, :width] + 1, 0)
        base = len(topics) + 1
        if base**width < 2**62:  # each row as one integer: a 1-d unique is several times faster
            powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
            _, first, inverse = np.unique(keys @ powers, return_index=True, return_inverse=True)
            distinct = keys[first]
        else:
            distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
        lists = [tuple(topics[j - 1] for j in row if j) for row in distinct.tolist()]
        return lists, inverse.reshape(-1).tolist()


@dataclass(frozen=True)
class PredictOptions:
    """What each result row carries besides the input's fields, topic and confidence."""

    top_k: int = 1
    #: Below this best probability the topic becomes ``uncertain_label`` (None: never).
    min_confidence: float | None = None
    uncertain_label: str = "uncertain"
    #: Add ``why``: the words that pushed the headline to its topic most.
    explain: bool = False
    #: Add ``set``: the topics that hold the true one with this probability (None: no sets).
    coverage: float | None = None
    #: Cut each topic's part of the sets from its own calibration rows (coverage per topic).
    per_topic_coverage: bool = False


def round_half_even(values: np.ndarray, decimals: int = DECIMALS) -> np.ndarray:
    """``round(v, decimals) * 10**decimals`` for every value, as integers, exactly as Python rounds.

    ``numpy.rint(v * 10**d)`` agrees with Python's correctly rounded ``round`` except where the
    product lands within rounding error of a half; those few values are rounded by Python itself.
    ``k / 10**d`` is then the very float ``round(v, d)`` returns (both are the double nearest the
    decimal), so the writers can print ``repr(k / 10**d)`` from a table.
    """
    import numpy as np

    scale = 10.0**decimals
    scaled = np.asarray(values, dtype=np.float64) * scale
    out = np.rint(scaled)
    frac = scaled - np.floor(scaled)
    close = np.flatnonzero(np.abs(frac - 0.5) < 1e-6)
    if close.size:
        flat_in, flat_out = np.ravel(values), out.reshape(-1)
        for i in close.tolist():
            flat_out[i] = round(round(float(flat_in[i]), decimals) * scale)
    return out.astype(np.int64)


@dataclass
class ResultBatch:
    """A batch of records with their results: what every writer needs, as arrays.

    Attributes
    ----------
    records
        The input records, in input order.
    predictions
        Their predictions (``k`` ranked topics each, at least as many as ``options.top_k`` asked).
    options
        What the rows carry.
    why
        With ``options.explain``: each headline's explaining words.
    start
        How many result rows came before this batch (row numbers in messages count from 1).
    """

    records: list[Record]
    predictions: PredictionBatch
    options: PredictOptions
    why: list[list[str]] | None = None
    start: int = 0
    _cached: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def plain(self) -> bool:
        """Whether every record is a line of text (:attr:`classify.io.records.Record.plain`), so that
        the writers may put out the headline alone without asking each record for its fields."""
        if "plain" not in self._cached:
            self._cached["plain"] = all(r.cells is None for r in self.records)
        return self._cached["plain"]

    @property
    def unsure(self) -> np.ndarray:
        """Boolean per row: the best probability is below ``options.min_confidence``."""
        import numpy as np

        if "unsure" not in self._cached:
            threshold = self.options.min_confidence
            best = self.predictions.proba[:, 0]
            self._cached["unsure"] = (
                np.zeros(len(best), dtype=bool) if threshold is None else best < threshold
            )
        return self._cached["unsure"]

    @property
    def rounded(self) -> np.ndarray:
        """``(n, top_k)`` integers: ``round(p, 4) * 10**4`` of the probabilities that are written."""
        if "rounded" not in self._cached:
            k = min(self.options.top_k, self.predictions.proba.shape[1])
            shown = self.predictions.proba[:, : max(k, 1)]
            self._cached["rounded"] = round_half_even(shown)
        return self._cached["rounded"]

    def field_names(self) -> list[str]:
        """The prediction's fields of this batch's rows, in order."""
        return result_fields(self.options, labels=self.predictions.labels is not None)

    def topic_names(self) -> list[str]:
        """Each row's topic (the uncertain label where the model is unsure)."""
        topics = self.predictions.topics
        best = self.predictions.ranked[:, 0].tolist()
        if self.options.min_confidence is None:
            return [topics[j] for j in best]
        label = self.options.uncertain_label
        return [label if u else topics[j] for j, u in zip(best, self.unsure.tolist(), strict=True)]

    def rows(self) -> list[dict[str, Any]]:
        """The result rows as dicts (:func:`result_row` of each record)."""
        options = self.options
        preds = list(self.predictions.predictions())
        why = self.why or [None] * len(preds)  # type: ignore[list-item]
        return [
            result_row(record, p, options, w) for record, p, w in zip(self.records, preds, why, strict=True)
        ]


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
    row["confidence"] = round(p.confidence, DECIMALS)
    if options.min_confidence is not None:
        row["best_guess"] = p.topic
    if options.top_k > 1:
        row["topics"] = [[t, round(prob, DECIMALS)] for t, prob in p.topics[: options.top_k]]
    if p.labels is not None:
        row["labels"] = list(p.labels)
    if options.coverage is not None and p.prediction_set is not None:
        row["set"] = list(p.prediction_set)
    if why is not None:
        row["why"] = list(why)
    return row
