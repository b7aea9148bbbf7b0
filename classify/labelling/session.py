"""A labelling session: the pool, the order of questions, the suggestions and background refits.

:class:`LabelSession` is what ``classify label`` serves (the web layer is :mod:`classify.labelling.app`);
it prints nothing and can be driven from Python. The answers file (``-o``; format and crash safety in
:mod:`classify.labelling._answers`) is resumed on restart: answered headlines (labelled or skipped)
are never shown again. The answers file, the order and the refit thread share one lock and one state.

Order of questions (:mod:`classify.labelling.sampling`): with a model (``--model``, or the default
model), :func:`~classify.labelling.sampling.labelling_order`: a diverse mini-batch of the headlines
with the smallest margin between the two most likely topics, half of it shared among the predicted
topics by how few labels each has so far, then smallest margin first, near-duplicates kept apart;
with ``--topics`` and no model, diverse headlines first until
:func:`~classify.labelling.sampling.cold_start_over`, then the same uncertainty order. Every
``refit_every`` labels a model is refitted on the answers in a background thread and the remaining
pool is re-ranked; requests never wait for it. The margins that rank come from
:func:`~classify.labelling.sampling.selection_proba`, blended with a starting model's as the
suggestions are (:mod:`classify.labelling._suggestions`).
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from classify.errors import ClassifyError, DataError
from classify.labelling import sampling
from classify.labelling._answers import COLUMNS as COLUMNS
from classify.labelling._answers import LABELLED, SKIPPED, AnswersFile
from classify.labelling._commands import original_training_file as original_training_file
from classify.labelling._commands import parse_topics as parse_topics
from classify.labelling._commands import train_command as train_command
from classify.labelling._suggestions import BLEND_LABELS as BLEND_LABELS
from classify.labelling._suggestions import align, blend, fit_project_pipeline

if TYPE_CHECKING:
    import numpy as np

    from classify.pipeline.model import Model

DEFAULT_REFIT_EVERY = 10
#: Places of the cold-start order computed up front (the cold start ends long before).
_COLD_START_PLACES = 300


class AnswerError(ClassifyError):
    """An answer that cannot be taken (unknown headline or topic, or already answered)."""


class AlreadyAnswered(AnswerError):
    """The headline was answered already (e.g. in another browser tab)."""


@dataclass(frozen=True)
class Item:
    """One headline to ask about.

    Attributes
    ----------
    id
        Its index in the pool (stable for a given pool file).
    headline
        The text.
    probabilities
        ``(topic, probability)`` for every topic, in the session's topic order; empty when there is
        no model yet.
    suggested
        The most likely topic, or ``None`` without a model.
    """

    id: int
    headline: str
    probabilities: tuple[tuple[str, float], ...]
    suggested: str | None


@dataclass(frozen=True)
class Progress:
    """Counts for the page: how far the editor got and how often the model was right.

    ``accepted`` of ``with_suggestion`` labels agreed with the model's suggestion: a live estimate of
    its accuracy on this site, pessimistic because the order asks about the hardest headlines first.
    """

    labelled: int
    skipped: int
    remaining: int
    counts: dict[str, int]
    accepted: int
    with_suggestion: int
    refits: int
    model_labels: int
    fitting: bool
    mode: str


class LabelSession:
    """Ask about a pool of headlines one at a time and record the answers.

    Parameters
    ----------
    pool
        The headlines to label (repeats are asked once).
    output
        The answers file; an existing one is resumed.
    topics
        The topics to choose from. With ``start_model`` they default to its topics; topics found in
        a resumed file are added.
    start_model
        A trained model whose suggestions and uncertainty lead until the answers take over; ``None``
        for a cold start.
    refit_every
        Labels between background refits.
    seed
        Seed of the cold-start order.
    fit
        ``(texts, labels) -> Model``; defaults to the project pipeline (tests may pass a faster one).
    """

    def __init__(
        self,
        pool: Sequence[str],
        output: Path,
        *,
        topics: Sequence[str] | None = None,
        start_model: Model | None = None,
        refit_every: int = DEFAULT_REFIT_EVERY,
        seed: int = 0,
        fit: Callable[[list[str], list[str]], Model] | None = None,
    ) -> None:
        import numpy as np

        if refit_every < 1:
            raise ValueError(f"refit_every must be at least 1, got {refit_every}")
        self.pool = list(dict.fromkeys(h for h in pool if h))
        if not self.pool:
            raise DataError("the pool holds no headlines")
        names = list(topics or (start_model.topics if start_model is not None else []))
        self._answers = AnswersFile.open(Path(output))
        #: Topics of the resumed file that the given topics (or the model's) lack: they become buttons
        #: too, and the caller should say so (a typo in the file would otherwise pass unseen).
        self.added_topics: list[str] = []
        for row in self._answers.rows:
            if row["status"] == LABELLED and row["topic"] not in names:
                names.append(row["topic"])
                self.added_topics.append(row["topic"])
        if len(names) < 2:
            self._answers.close()
            raise DataError("need at least two topics to label with; pass --topics a,b,... or a model")
        self.topics = names
        self.output = Path(output)
        self.refit_every = refit_every
        self._fit = fit or fit_project_pipeline
        self._lock = threading.RLock()
        self._index = {h: i for i, h in enumerate(self.pool)}
        self._done = np.zeros(len(self.pool), dtype=bool)
        for row in self._answers.rows:
            i = self._index.get(row["headline"])
            if i is not None:
                self._done[i] = True
        self._front: list[int] = []  # undone headlines, asked again first (last undone first)
        self._vectors = sampling.vectors(self.pool)
        self._start_proba = self._align(start_model, self.pool) if start_model is not None else None
        self._fitted_proba: np.ndarray | None = None
        # What ranks the questions: sampling.selection_proba on the answers (see _selection).
        self._select_proba: np.ndarray | None = None
        self._model_labels = 0
        self._refits = 0
        self._since_fit = 0
        self._fitting = False
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._cold_order = (
            sampling.diverse_order(
                self._vectors, np.arange(len(self.pool)), limit=_COLD_START_PLACES, seed=seed
            )
            if self._start_proba is None
            else []
        )
        self._order: list[int] = []
        self._cursor = 0
        self._rank()
        self._worker = threading.Thread(target=self._refit_loop, name="classify-label-refit", daemon=True)
        self._worker.start()
        if self._trainable():
            self._request_refit()  # resumed with answers: fit on them at once

    # Questions and answers ---------------------------------------------------------------------
    def current(self) -> Item | None:
        """The headline to ask about now, or ``None`` when the pool is done."""
        with self._lock:
            while self._front:
                i = self._front[-1]
                if not self._done[i]:
                    return self._item(i)
                self._front.pop()
            while self._cursor < len(self._order) and self._done[self._order[self._cursor]]:
                self._cursor += 1
            if self._cursor < len(self._order):
                return self._item(self._order[self._cursor])
            return None

    def item(self, item_id: int) -> Item:
        """The question about pool headline ``item_id`` (with the current model's suggestion)."""
        with self._lock:
            self._check_id(item_id)
            return self._item(item_id)

    def answer(self, item_id: int, topic: str | None, *, seconds: float = 0.0) -> Progress:
        """Record the editor's topic for ``item_id`` (``None`` skips it); appended and flushed at once.

        Raises
        ------
        AnswerError
            If the id or the topic is unknown; :class:`AlreadyAnswered` if it was answered already.
        """
        with self._lock:
            self._check_id(item_id)
            if topic is not None and topic not in self.topics:
                raise AnswerError(f"unknown topic '{topic}' (topics: {', '.join(self.topics)})")
            if self._done[item_id]:
                raise AlreadyAnswered(f"headline {item_id} was answered already")
            suggested = self._item(item_id).suggested
            cold_before = self._cold()
            row = {
                "headline": self.pool[item_id],
                "topic": topic or "",
                "status": LABELLED if topic is not None else SKIPPED,
                "suggested": suggested or "",
                "seconds": f"{max(0.0, float(seconds)):.1f}",
                "answered_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            }
            self._answers.append(row)
            self._done[item_id] = True
            if item_id in self._front:
                self._front.remove(item_id)
            if topic is not None:
                self._since_fit += 1
                if (self._since_fit >= self.refit_every and self._trainable()) or (
                    cold_before and self._cold_over()
                ):
                    # Also at the end of a cold start: the refit switches the order to uncertainty.
                    self._request_refit()
            return self.progress()

    def undo(self) -> Item | None:
        """Take back the last answer (labelled or skipped); its headline is asked again next.

        Returns the headline's question, or ``None`` if there was nothing to undo (or the headline
        is not in this pool: it is then only removed from the file).
        """
        with self._lock:
            removed = self._answers.remove_last()
            if removed is None:
                return None
            if removed["status"] == LABELLED:
                self._since_fit = max(0, self._since_fit - 1)
            i = self._index.get(removed["headline"])
            if i is None:
                return None
            self._done[i] = False
            self._front.append(i)
            return self._item(i)

    def progress(self) -> Progress:
        """Counts so far (answers from a resumed file included)."""
        with self._lock:
            rows = self._answers.rows
            labelled = [r for r in rows if r["status"] == LABELLED]
            counts = Counter(r["topic"] for r in labelled)
            suggested = [r for r in labelled if r["suggested"]]
            return Progress(
                labelled=len(labelled),
                skipped=len(rows) - len(labelled),
                remaining=int((~self._done).sum()),
                counts={t: counts.get(t, 0) for t in self.topics},
                accepted=sum(1 for r in suggested if r["suggested"] == r["topic"]),
                with_suggestion=len(suggested),
                refits=self._refits,
                model_labels=self._model_labels,
                fitting=self._fitting,
                mode="cold start: diverse headlines" if self._cold() else "uncertainty",
            )

    # Background refits ------------------------------------------------------------------------
    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no refit is running or wanted (for tests and the benchmark); True if idle."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._fitting and not self._wanted.is_set(), timeout)

    def close(self) -> None:
        """Stop the refit thread and close the answers file."""
        self._stop.set()
        self._wanted.set()
        self._worker.join(timeout=30)
        with self._lock:
            self._answers.close()

    def _request_refit(self) -> None:
        self._wanted.set()

    def _refit_loop(self) -> None:
        while True:
            self._wanted.wait()
            if self._stop.is_set():
                return
            with self._lock:
                self._wanted.clear()
                self._fitting = True
                texts, labels = self._training_rows()
                self._since_fit = 0
            try:
                model = self._fit(texts, labels) if texts else None
                # Predicting the pool is the slow part on big pools; it runs outside the lock too.
                proba = self._align(model, self.pool) if model is not None else None
                select = self._select(texts, labels) if proba is not None else None
            except Exception:  # a failed refit keeps the previous model; the page goes on
                model, proba, select = None, None, None
            order = None
            if proba is not None:
                with self._lock:
                    self._fitted_proba = proba
                    self._select_proba = select
                    self._model_labels = len(texts)
                    blended, cold, done = self._selection(), self._cold(), self._done.copy()
                    counts = self._topic_counts()
                # Ranking (clustering the batch) also runs outside the lock; answers given
                # meanwhile are filtered out when the new order is put in place.
                order = self._order_for(blended, cold, done, counts)
            with self._lock:
                if order is not None:
                    self._order = [i for i in order if not self._done[i]]
                    self._cursor = 0
                    self._refits += 1
                self._fitting = False
                self._idle.notify_all()

    def _training_rows(self) -> tuple[list[str], list[str]]:
        """Labelled answers of the topics that have the two rows a topic needs to be trained on."""
        labelled = [(r["headline"], r["topic"]) for r in self._answers.rows if r["status"] == LABELLED]
        counts = Counter(t for _, t in labelled)
        keep = [(h, t) for h, t in labelled if counts[t] >= 2]
        if len({t for _, t in keep}) < 2:
            return [], []
        return [h for h, _ in keep], [t for _, t in keep]

    def _select(self, texts: list[str], labels: list[str]) -> np.ndarray | None:
        """:func:`~classify.labelling.sampling.selection_proba` on the answers whose headline is pooled."""
        rows = [(self._index[h], t) for h, t in zip(texts, labels, strict=True) if h in self._index]
        if len({t for _, t in rows}) < 2:
            return None
        return sampling.selection_proba(
            self._vectors, [i for i, _ in rows], [t for _, t in rows], self.topics
        )

    def _trainable(self) -> bool:
        return bool(self._training_rows()[0])

    # Order and suggestions --------------------------------------------------------------------
    def _labelled_counts(self) -> dict[str, int]:
        return dict(Counter(r["topic"] for r in self._answers.rows if r["status"] == LABELLED))

    def _cold_over(self) -> bool:
        return sampling.cold_start_over(self._labelled_counts(), self.topics, len(self._answers.rows))

    def _cold(self) -> bool:
        return self._start_proba is None and (self._fitted_proba is None or not self._cold_over())

    def _rank(self) -> None:
        """Recompute the order of the headlines still to ask (called with the lock held)."""
        self._order = self._order_for(self._selection(), self._cold(), self._done, self._topic_counts())
        self._cursor = 0

    def _topic_counts(self) -> list[int]:
        """Labels so far per topic, in the column order of the probabilities."""
        counts = self._labelled_counts()
        return [counts.get(t, 0) for t in self.topics]

    def _order_for(
        self, proba: np.ndarray | None, cold: bool, done: np.ndarray, counts: list[int]
    ) -> list[int]:
        """The order of the headlines not ``done``, from a snapshot of the state (no lock needed)."""
        import numpy as np

        if cold or proba is None:
            return [i for i in self._cold_order if not done[i]]
        return sampling.labelling_order(
            proba, self._vectors, np.flatnonzero(~done), self.refit_every, counts=counts
        )

    def _selection(self) -> np.ndarray | None:
        """The probabilities that rank the questions: as :meth:`_proba`, with the selection model.

        The model fitted on the answers for ranking is :func:`~classify.labelling.sampling.selection_proba`
        (it ranks better than the suggestion model's probabilities; see there), blended with a
        starting model's probabilities in the same proportion as the suggestions are. Without
        one (e.g. its topics unanswered so far), the suggestion probabilities rank.
        """
        if self._select_proba is None:
            return self._proba()
        return blend(self._start_proba, self._select_proba, self._model_labels)

    def _proba(self) -> np.ndarray | None:
        """The suggestion probabilities for the whole pool (blend of start and answers models)."""
        return blend(self._start_proba, self._fitted_proba, self._model_labels)

    def _item(self, i: int) -> Item:
        row = self._row_proba(i)
        if row is None:
            return Item(i, self.pool[i], (), None)
        best = int(row.argmax())
        return Item(
            i,
            self.pool[i],
            tuple((t, round(float(p), 4)) for t, p in zip(self.topics, row, strict=True)),
            self.topics[best],
        )

    def _row_proba(self, i: int) -> np.ndarray | None:
        """One headline's row of :meth:`_proba`, without blending the whole pool."""
        start, fitted = self._start_proba, self._fitted_proba
        return blend(
            None if start is None else start[i], None if fitted is None else fitted[i], self._model_labels
        )

    def _check_id(self, item_id: int) -> None:
        if not 0 <= item_id < len(self.pool):
            raise AnswerError(f"no headline {item_id} in the pool (0-{len(self.pool) - 1})")

    def _align(self, model: Model | None, texts: Sequence[str]) -> np.ndarray:
        """``model``'s probabilities as columns in the session's topic order (0 for unknown topics)."""
        return align(model, self.topics, texts)
