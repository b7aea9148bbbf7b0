"""Streaming training: a model from a labelled file larger than memory, read in chunks.

``classify train DATA --stream`` (chosen automatically for files above :data:`AUTO_STREAM_BYTES`, and
for Parquet) never holds the rows in memory. It reads the file ``passes + 1`` times:

1. **scan**: count rows and topics (so that every topic is known before training: a topic first seen
   in the last chunk still works), fingerprint the data, and count the document frequencies of hashed
   n-grams on the first :data:`IDF_SAMPLE_ROWS` rows for the idf;
2. **training passes**: hash each chunk (:class:`~classify.pipeline.features.HashedHeadlineVectorizer`, fixed
   width, no vocabulary), shuffle it, and update a multinomial logistic regression with
   ``partial_fit`` (:class:`SoftmaxSGD`: mini-batch AdaGrad that touches only the columns a batch
   uses; topics weighted as ``class_weight="balanced"`` would weight them). scikit-learn's
   ``SGDClassifier`` was measured first: its one-vs-rest ``partial_fit`` copies every topic's weight
   vector per call and was slower than the hashing itself. Rows whose text hashes to the calibration slice
   (about 1 row in :attr:`StreamSettings.calibration_every`, at most
   :attr:`StreamSettings.calibration_rows` kept) never train;
3. **calibration**: a temperature for the softmax of the scores, fitted on that held-out slice as the
   in-memory model's temperature scaling does (one positive scalar: the ranking of topics is kept).

Memory is set by the chunk size and the hashed width (topics x ``2**(word_bits)+2**(char_bits)``
weights), not by the rows. The result is an ordinary :class:`classify.pipeline.model.Model`: its pipeline's
fitted state is numpy arrays and scalars (idf, weights, intercepts, topic names, temperature).

Rows should come in no particular order of topic (an archive in date order is fine); a file sorted by
topic trains poorly with any stochastic gradient method: shuffle it first (``shuf``, or ``ORDER BY
random()``). The scan warns when the chunks look sorted.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classify.errors import DataError
from classify.io.chunks import Chunk, ReadStats, file_size, iter_chunks, stream_format
from classify.io.labelled import check_topic_count
from classify.pipeline.linear import fit_temperature
from classify.pipeline.softmax_sgd import SoftmaxSGD

#: Above this many bytes on disk (x4 for ``.gz``) ``classify train`` streams unless told not to:
#: about 450,000 headlines, where streaming became faster, smaller and no worse than the in-memory
#: pipeline (``bench/results/scale.md``); below it the in-memory pipeline is the better model.
AUTO_STREAM_BYTES = 32 * 2**20
#: The idf is counted on this many rows from the start of the file.
IDF_SAMPLE_ROWS = 200_000


@dataclass(frozen=True)
class StreamSettings:
    """Settings of streaming training (all have defaults that suit headlines)."""

    chunk_rows: int = 50_000
    #: Passes over the data; ``None``: chosen by the number of rows (see :func:`passes_for`).
    passes: int | None = None
    word_bits: int = 19
    char_bits: int = 19
    char_ngrams: tuple[int, int] | None = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)
    learning_rate: float = 0.2
    #: Rows per AdaGrad update; ``None``: grown with the data (see :func:`batch_rows_for`).
    batch_rows: int | None = None
    #: About one row in this many (by a hash of its text, so copies stay together) is held out.
    calibration_every: int = 50
    calibration_rows: int = 20_000
    random_state: int = 0

    def __post_init__(self) -> None:
        if self.chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {self.chunk_rows}")
        if self.passes is not None and self.passes < 1:
            raise ValueError(f"passes must be at least 1, got {self.passes}")
        if self.batch_rows is not None and self.batch_rows < 1:
            raise ValueError(f"batch_rows must be at least 1, got {self.batch_rows}")
        if not 8 <= self.word_bits <= 24 or not 8 <= self.char_bits <= 24:
            raise ValueError("word_bits and char_bits must be between 8 and 24")


@dataclass(frozen=True)
class StreamProgress:
    """Where a streaming run is, for a progress display.

    ``phase`` is ``scan``, ``train`` or ``calibrate``; ``pass_number`` counts training passes from 1
    (0 while scanning). ``rows_total`` and ``eta`` are ``None`` until the scan has counted the rows,
    and ``passes`` is 0 until then when the settings leave it to the number of rows.
    """

    phase: str
    pass_number: int
    passes: int
    rows_read: int
    rows_total: int | None
    elapsed: float
    eta: float | None


@dataclass(frozen=True)
class StreamResult:
    """What a streaming run produced.

    ``malformed`` counts rows skipped as unreadable (``bad_lines`` holds the first of them as
    ``(line, why)``); ``skipped`` those with an empty headline or label. ``holdout_accuracy`` is the
    accuracy on the calibration slice after each pass.
    """

    model: Any
    n_rows: int
    counts: dict[str, int]
    skipped: int
    malformed: int
    bad_lines: list[tuple[int, str]]
    seconds: float
    calibration_rows: int
    passes: int
    holdout_accuracy: list[float] = field(default_factory=list)
    truncated: int = 0
    first_truncated: int | None = None


def should_stream(path: Path) -> bool:
    """Whether ``classify train`` streams ``path`` by default (big file, or Parquet)."""
    path = Path(path)
    if stream_format(path) == "parquet":
        return True
    factor = 4 if path.suffix.lower() == ".gz" else 1
    return file_size(path) * factor > AUTO_STREAM_BYTES


#: Automatic batch size: about this many AdaGrad updates per pass, with batches of 1,024 to 8,192 rows.
UPDATES_PER_PASS = 128
BATCH_ROWS_RANGE = (1024, 8192)


def batch_rows_for(n_rows: int) -> int:
    """Rows per update for ``n_rows`` training rows: the batch grows with the data, within bounds.

    Large batches were faster and better on a 1M-row archive, small ones better at 100k (too few
    updates otherwise): a per-pass count of updates serves both (``bench/results/scale.md``).
    """
    low, high = BATCH_ROWS_RANGE
    return int(min(high, max(low, n_rows // UPDATES_PER_PASS)))


#: From this many rows on, one pass is the default (two below it).
SINGLE_PASS_ROWS = 500_000


def passes_for(n_rows: int) -> int:
    """Default passes over ``n_rows`` training rows: two for small data, one for an archive.

    From 500k rows one pass already makes hundreds of large updates, and a second fitted the training
    rows closer but not new headlines, at twice the time (``bench/results/scale.md``); below that a
    second pass costs little. ``--passes`` overrides it.
    """
    return 1 if n_rows >= SINGLE_PASS_ROWS else 2


def _calibration_slot(text: str, every: int) -> bool:
    return zlib.crc32(text.encode()) % every == 0


def train_stream(
    path: Path,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    settings: StreamSettings | None = None,
    on_progress: Callable[[StreamProgress], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> StreamResult:
    """Train a model on ``path`` without holding its rows in memory.

    Parameters
    ----------
    path
        Labelled CSV, TSV, JSON Lines (each optionally ``.gz``) or Parquet file.
    text_col, label_col
        Columns, found by their usual names when not given.
    settings
        Chunk size, passes, hashed width, regularisation (:class:`StreamSettings`).
    on_progress
        Called after every chunk with a :class:`StreamProgress` (the CLI draws a progress line). An
        exception it raises (e.g. ``KeyboardInterrupt``) stops the run; nothing has been written.
    clock
        Source of seconds for elapsed time and ETA (tests pass a fake one).

    Raises
    ------
    DataError
        Unreadable file or columns, fewer than two topics, or a topic with a single row.
    """
    s = settings or StreamSettings()
    path = Path(path)

    def chunks(stats: ReadStats | None = None) -> Any:
        return iter_chunks(path, chunk_rows=s.chunk_rows, text_col=text_col, label_col=label_col, stats=stats)

    return _train(chunks, str(path), s, on_progress, clock)


def train_stream_rows(
    texts: Sequence[str], labels: Sequence[str], *, settings: StreamSettings | None = None
) -> StreamResult:
    """Streaming training on rows already in memory, chunk by chunk as from a file.

    For the folds of ``classify evaluate`` on an archive that ``classify train`` would stream, so
    that the score is that of the model ``train`` builds (the rows are in memory there anyway).
    """
    s = settings or StreamSettings()

    def chunks(stats: ReadStats | None = None) -> Any:
        for start in range(0, len(texts), s.chunk_rows):
            part = [str(t) for t in texts[start : start + s.chunk_rows]]
            if stats is not None:
                stats.rows += len(part)
            lines = list(range(start + 2, start + 2 + len(part)))  # as in a file with a header
            yield Chunk(part, [str(y) for y in labels[start : start + s.chunk_rows]], lines)

    # A fold may hold a single row of a rare topic (the in-memory pipeline copes, and so does this:
    # the topic just gets little weight); a file to train on is refused it (see _train).
    return _train(chunks, "<rows>", s, None, time.perf_counter, single_rows_ok=True)


def fit_stream(texts: Sequence[str], labels: Sequence[str], settings: StreamSettings | None = None) -> Any:
    """The fitted pipeline of :func:`train_stream_rows` (a ``fit(texts, labels)`` for evaluation)."""
    return train_stream_rows(texts, labels, settings=settings).model.pipeline


def _train(
    chunks: Callable[..., Any],
    source: str,
    s: StreamSettings,
    on_progress: Callable[[StreamProgress], None] | None,
    clock: Callable[[], float],
    *,
    single_rows_ok: bool = False,
) -> StreamResult:
    """The streaming run over ``chunks(stats)`` (a fresh iterator of :class:`Chunk` per call).

    ``single_rows_ok``: accept topics with a single row instead of refusing the data.
    """
    from sklearn.pipeline import Pipeline

    from classify.pipeline.features import HashedHeadlineVectorizer
    from classify.pipeline.model import make_meta

    started = clock()
    report = on_progress or (lambda _p: None)

    # 1. scan -----------------------------------------------------------------------------------
    features = HashedHeadlineVectorizer(
        word_ngrams=s.word_ngrams, char_ngrams=s.char_ngrams, word_bits=s.word_bits, char_bits=s.char_bits
    ).start_counting()
    stats = ReadStats()
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    single_topic_chunks = 0
    n_chunks = 0
    for chunk in chunks(stats):
        n_chunks += 1
        topics_here: set[str] = set()
        for text, label in zip(chunk.texts, chunk.labels, strict=True):
            counts[label] = counts.get(label, 0) + 1
            topics_here.add(label)
            digest.update(f"{text}\t{label}\n".encode())
        single_topic_chunks += len(topics_here) == 1
        if features.n_documents_ < IDF_SAMPLE_ROWS:
            features.partial_count(chunk.texts[: IDF_SAMPLE_ROWS - features.n_documents_])
        report(StreamProgress("scan", 0, s.passes or 0, stats.rows, None, clock() - started, None))
    features.finish_counting()
    n_rows = stats.rows
    if not counts:
        raise DataError(f"{source}: no rows with both a headline and a label")
    if len(counts) < 2:
        raise DataError(f"{source}: only one topic ('{next(iter(counts))}'); a classifier needs at least 2")
    check_topic_count(str(source), counts)
    lonely = sorted(t for t, n in counts.items() if n < 2)
    if lonely and not single_rows_ok:
        raise DataError(
            f"{source}: topic(s) {', '.join(repr(t) for t in lonely[:3])} have fewer than 2 rows; "
            "add rows or remove the topic"
        )
    classes = np.asarray(sorted(counts))
    # class_weight="balanced", from the scan's counts (partial_fit cannot compute it itself).
    weights = {t: n_rows / (len(counts) * n) for t, n in counts.items()}
    every = max(2, min(s.calibration_every, n_rows // (2 * len(counts)) or 2))
    clf = SoftmaxSGD(
        features.n_features_,
        classes,
        np.asarray([weights[t] for t in classes.tolist()]),
        learning_rate=s.learning_rate,
        batch_rows=s.batch_rows or batch_rows_for(n_rows),
    )
    rng = np.random.default_rng(s.random_state)

    # 2. training passes ------------------------------------------------------------------------
    calib_texts: list[str] = []
    calib_labels: list[str] = []
    calib_x: Any = None
    holdout_accuracy: list[float] = []
    train_started = clock()
    passes = s.passes or passes_for(n_rows)
    work = n_rows * passes
    done = 0
    trained_labels: set[str] = set()
    for pass_number in range(1, passes + 1):
        rows_in_pass = 0
        for chunk in chunks():
            keep = []
            for i, text in enumerate(chunk.texts):
                if _calibration_slot(text, every):
                    if pass_number == 1 and len(calib_texts) < s.calibration_rows:
                        calib_texts.append(text)
                        calib_labels.append(chunk.labels[i])
                else:
                    keep.append(i)
            rows_in_pass += len(chunk)
            done += len(chunk)
            if keep:
                order = rng.permutation(len(keep))
                texts = [chunk.texts[keep[j]] for j in order]
                labels = np.asarray([chunk.labels[keep[j]] for j in order])
                if pass_number == 1:
                    trained_labels.update(labels.tolist())
                clf.partial_fit(features.transform(texts), labels)
            spent = clock() - train_started
            eta = spent / done * (work - done) if done else None
            report(StreamProgress("train", pass_number, passes, rows_in_pass, n_rows, clock() - started, eta))
        if calib_texts:
            if calib_x is None:
                calib_x = features.transform(calib_texts)
            predicted = clf.predict(calib_x)
            holdout_accuracy.append(float(np.mean(predicted == np.asarray(calib_labels))))
    if not trained_labels:
        raise DataError(f"{source}: too few rows to train on after holding out the calibration slice")

    # 3. calibration ----------------------------------------------------------------------------
    report(StreamProgress("calibrate", passes, passes, n_rows, n_rows, clock() - started, 0.0))
    head = _linear_head(clf.weights.T, clf.intercept_, classes.tolist(), 1.0)
    batch_rows = clf.batch_rows
    del clf  # its AdaGrad state is as large as the weights: free it before calibrating
    if calib_texts:
        index = {t: i for i, t in enumerate(head.classes_.tolist())}
        truth = np.asarray([index[t] for t in calib_labels])
        head.temperature_ = fit_temperature(head.decision_function(calib_x), truth)
    pipeline = Pipeline([("features", features), ("clf", head)])
    params = {
        **asdict(s),
        "method": "stream",
        "passes": passes,
        "calibration_every": every,
        "batch_rows": batch_rows,
    }
    ordered_counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    meta = make_meta(
        topics=head.classes_.tolist(),
        counts=ordered_counts,
        data_hash=digest.hexdigest(),
        source=source,
        settings=params,
        extra={
            "stream": {
                "calibration_rows": len(calib_texts),
                "temperature": head.temperature_,
                "holdout_accuracy": holdout_accuracy,
                "malformed_rows": stats.malformed,
                "sorted_chunks": single_topic_chunks if n_chunks > 1 else 0,
            }
        },
    )
    from classify.pipeline.model import Model

    return StreamResult(
        model=Model(pipeline=pipeline, meta=meta),
        n_rows=n_rows,
        counts=ordered_counts,
        skipped=stats.empty,
        malformed=stats.malformed,
        bad_lines=list(stats.bad_lines),
        seconds=clock() - started,
        calibration_rows=len(calib_texts),
        passes=passes,
        truncated=stats.truncated,
        first_truncated=stats.first_truncated,
        holdout_accuracy=holdout_accuracy,
    )


def _linear_head(coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str], temperature: float) -> Any:
    """The trained weights as the pipeline's :class:`~classify.pipeline.linear.TopicClassifier` (a multinomial
    logistic model: its state is the same arrays, whatever trained them)."""
    from classify.pipeline.linear import TopicClassifier

    coef = np.asarray(coef, dtype=np.float32)
    intercept = np.asarray(intercept, dtype=np.float32)
    if coef.shape[0] == 1 and len(classes) == 2:  # binary: one row, positive for the second topic
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32)
    state = {
        "classes": [str(c) for c in classes],
        "temperature": temperature,
        "calibration": "held-out slice",
    }
    return TopicClassifier.from_arrays({"loss": "logreg"}, state, {"coef": coef, "intercept": intercept})
