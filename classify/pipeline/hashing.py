"""Hashed word + character n-gram TF-IDF features that need no vocabulary, for streaming training.

The in-memory pipeline (:class:`classify.pipeline.features.HeadlineVectorizer`) keeps a vocabulary of every
n-gram it saw; on tens of millions of headlines that vocabulary alone would outgrow memory. Here each
n-gram is hashed (CRC-32, stable across processes and machines, unlike Python's ``hash``) into a fixed
number of columns, so memory is set by ``n_features`` and never by the rows. The analysis follows
scikit-learn's ``TfidfVectorizer`` (lowercase, ``strip_accents="unicode"``, the default token pattern
for words, ``char_wb`` n-grams for characters); word n-grams are hashed by mixing the hashes of their
words. As in the in-memory pipeline each block is weighted by an idf and l2-normalised on its own, the
character block scaled by ``char_weight`` (term frequencies are raw: in a headline an n-gram rarely
repeats, and not merging repeats saves sorting every row). The idf comes from document frequencies
counted on a sample (:meth:`partial_count`), so it can be built in a first pass; a column never seen
in the sample gets the largest idf.

Each distinct whitespace-delimited token is analysed and hashed once and remembered (up to
``cache_size`` tokens) in flat arrays, so a chunk of headlines costs one dictionary look-up per token
in Python and the rest is numpy indexing.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from classify.pipeline._counting import FirstSight, split_tokens
from classify.text import char_wb_ngrams, preprocess

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class HashedFeatures:
    """Word n-gram plus ``char_wb`` n-gram hashed TF-IDF, in float32, with a fixed width.

    Plain numpy (no scikit-learn import), so that a model trained by streaming predicts with
    :mod:`classify.pipeline.runtime` alone; :class:`classify.pipeline.features.HashedHeadlineVectorizer`
    is the scikit-learn estimator over it, which pipelines, training and model files use.

    Parameters
    ----------
    word_ngrams
        Smallest and largest word n-gram.
    char_ngrams
        Smallest and largest character n-gram inside word bounds, or ``None`` for no character block.
    word_bits, char_bits
        Each block has ``2**bits`` columns; collisions shrink as they grow, memory of the classifier
        grows with them (topics x columns weights).
    char_weight
        Factor on the normalised character block.
    cache_size
        Distinct tokens whose hashed n-grams are remembered; past this the cache starts afresh.

    Attributes
    ----------
    idf_ : ndarray of shape (n_features_,), float32
        Smoothed inverse document frequency of each column (1.0 everywhere before any counting).
    n_documents_ : int
        Documents counted for the idf.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        word_bits: int = 19,
        char_bits: int = 19,
        char_weight: float = 1.0,
        cache_size: int = 300_000,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.word_bits = word_bits
        self.char_bits = char_bits
        self.char_weight = char_weight
        self.cache_size = cache_size

    # ------------------------------------------------------------------ state

    @property
    def n_word_features_(self) -> int:
        return 1 << self.word_bits

    @property
    def n_features_(self) -> int:
        return self.n_word_features_ + (1 << self.char_bits if self.char_ngrams else 0)

    def start_counting(self) -> HashedFeatures:
        """Reset the document frequencies (the start of a first pass)."""
        self.df_ = np.zeros(self.n_features_, dtype=np.int64)
        self.n_documents_ = 0
        self.idf_ = np.ones(self.n_features_, dtype=np.float32)
        return self

    def partial_count(self, texts: Sequence[str]) -> HashedFeatures:
        """Add the document frequencies of ``texts`` and update ``idf_`` from all counted so far."""
        if not hasattr(self, "df_"):
            self.start_counting()
        counts = self._counts(texts)
        self.df_ += np.bincount(counts.indices, minlength=self.n_features_)
        self.n_documents_ += len(texts)
        n = self.n_documents_
        self.idf_ = (np.log((1 + n) / (1 + self.df_)) + 1).astype(np.float32)
        return self

    def finish_counting(self) -> HashedFeatures:
        """Drop the raw counts: the fitted state is ``idf_`` (and ``n_documents_``) only."""
        if hasattr(self, "df_"):
            del self.df_
        return self

    def fit(self, X: Sequence[str], y: Any = None) -> HashedFeatures:
        """Count document frequencies on ``X`` (all of it: for data that fits in memory)."""
        return self.start_counting().partial_count(list(X)).finish_counting()

    # ------------------------------------------------------------------ transforming

    def transform(self, X: Sequence[str]) -> Any:
        """Sparse float32 matrix of shape ``(len(X), n_features_)``: idf-weighted, block-normalised.

        An n-gram that occurs twice in a headline appears as two entries of its column (they add up
        in any product with the matrix); merging them would cost a sort of every row for nothing.
        """
        import scipy.sparse as sp

        counts, words_per_doc = self._count_blocks(X)
        data = self.idf_[counts.indices]
        # Each row is its word entries then its character entries (see _count_blocks), so the two
        # blocks of every row are consecutive runs: their squared norms are differences of one
        # running sum, and the scale factors are repeated run by run. (Per-entry row numbers, two
        # weighted bincounts and a 2-D gather did the same at over twice the cost.)
        n = counts.shape[0]
        starts = counts.indptr[:-1]
        bounds = np.empty(2 * n + 1, dtype=np.int64)
        bounds[0:-1:2] = starts
        bounds[1::2] = starts + words_per_doc
        bounds[-1] = counts.indptr[-1]
        running = np.zeros(len(data) + 1, dtype=np.float64)
        np.cumsum(np.square(data, dtype=np.float64), out=running[1:])
        norms = np.sqrt(np.diff(running[bounds])).astype(np.float32).reshape(n, 2)
        norms[norms == 0] = 1
        factor = np.array([1.0, self.char_weight], dtype=np.float32) / norms
        data *= np.repeat(factor.ravel(), np.diff(bounds))
        return sp.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)

    def token_features(self, text: str) -> list[tuple[str, np.ndarray]]:
        """For each word of a text, in order, the columns of the features it carries (for explanations).

        As :meth:`classify.pipeline.runtime.HeadlineFeatures.token_features`: a word carries its character
        n-grams, its word unigrams and every word n-gram that overlaps it. The columns are hashed, so
        a column may also hold other n-grams; an explanation reads the weight of the column.
        """
        tokens = preprocess(text).split()
        analysed = [self._token(t) for t in tokens]
        hashes = np.concatenate([w for _, w in analysed]) if analysed else np.zeros(0, np.uint32)
        owner = np.repeat(np.arange(len(tokens)), [len(w) for _, w in analysed])
        extra: list[list[int]] = [[] for _ in tokens]
        for n in range(self.word_ngrams[0], self.word_ngrams[1] + 1):
            for start, column in enumerate(self._word_ngrams(hashes, n).tolist()):
                for t in set(owner[start : start + n].tolist()):
                    extra[t].append(column)
        return [
            (token, np.unique(np.concatenate([grams.astype(np.int64), np.asarray(cols, dtype=np.int64)])))
            for token, (grams, _), cols in zip(tokens, analysed, extra, strict=True)
        ]

    def _word_ngrams(self, hashes: np.ndarray, n: int) -> np.ndarray:
        """Column of every run of ``n`` consecutive words (their hashes mixed by multiply-xor).

        One per start position ``0 .. len(hashes) - n``; the caller drops runs that cross headlines.
        """
        m = len(hashes) - n + 1
        if m <= 0:
            return np.zeros(0, dtype=np.uint32)
        mixed = hashes[:m].copy()
        for k in range(1, n):
            mixed = (mixed * np.uint32(0x9E3779B1)) ^ hashes[k : m + k]
        return mixed & np.uint32(self.n_word_features_ - 1)

    def _token(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        """Hashed char n-gram columns and word hashes of one whitespace-delimited token."""
        if self.char_ngrams is not None:
            mask, base = (1 << self.char_bits) - 1, self.n_word_features_
            grams = [base + (zlib.crc32(g.encode()) & mask) for g in char_wb_ngrams(token, self.char_ngrams)]
        else:
            grams = []
        # Word tokens never cross whitespace, so a token's words are its own business.
        words = [zlib.crc32(w.encode()) for w in _TOKEN.findall(token)]
        return np.asarray(grams, dtype=np.int32), np.asarray(words, dtype=np.uint32)

    def _table(self) -> dict[str, Any]:
        """The token cache: token -> id, and per id its char columns and word hashes, flattened.

        Kept flat (one array of values and one of offsets per kind) so that a chunk's tokens are
        expanded into n-grams by numpy indexing instead of a Python loop.
        """
        table: dict[str, Any] | None = self.__dict__.get("_cache")
        if table is None or len(table["ids"]) > self.cache_size:
            table = {
                "ids": _TokenIds(),
                "char_ptr": np.zeros(1, dtype=np.int64),
                "char_flat": np.zeros(0, dtype=np.int32),
                "word_ptr": np.zeros(1, dtype=np.int64),
                "word_flat": np.zeros(0, dtype=np.uint32),
            }
            self.__dict__["_cache"] = table
        return table

    @staticmethod
    def _grow(table: dict[str, Any], kind: str, parts: list[np.ndarray]) -> None:
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        ptr = table[f"{kind}_ptr"]
        table[f"{kind}_ptr"] = np.concatenate([ptr, ptr[-1] + np.cumsum(lengths)])
        table[f"{kind}_flat"] = np.concatenate([table[f"{kind}_flat"], *parts])

    @staticmethod
    def _gather(ptr: np.ndarray, flat: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values of every id in ``ids``, concatenated, and how many each id has."""
        starts = ptr[ids]
        lengths = ptr[ids + 1] - starts
        total = int(lengths.sum())
        ends = np.cumsum(lengths)
        index = np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
        return flat[index], lengths

    def _counts(self, X: Sequence[str]) -> Any:
        """Hashed n-gram occurrences: a CSR matrix of ones, repeated n-grams as repeated entries."""
        return self._count_blocks(X)[0]

    def _count_blocks(self, X: Sequence[str]) -> tuple[Any, np.ndarray]:
        """:meth:`_counts`, and the number of word entries of each row.

        Each row holds its word n-grams, then its character n-grams; the columns are not sorted.
        """
        import scipy.sparse as sp

        table = self._table()
        ids: _TokenIds = table["ids"]
        n_docs = len(X)
        # The batch is lowercased and split as one string, each token looked up in C (as the in-memory
        # features do, see classify.pipeline._counting.split_tokens); only unseen tokens are analysed.
        tok, tok_doc = split_tokens(list(X), ids)
        if ids.pending:
            analysed = [self._token(t) for t in ids.pending]
            ids.pending.clear()
            self._grow(table, "char", [grams for grams, _ in analysed])
            self._grow(table, "word", [words for _, words in analysed])
        tokens_per_doc = np.bincount(tok_doc, minlength=n_docs)
        token_ids = tok
        char_ids, char_len = self._gather(table["char_ptr"], table["char_flat"], token_ids)
        hashes, word_len = self._gather(table["word_ptr"], table["word_flat"], token_ids)
        token_doc = np.repeat(np.arange(n_docs), tokens_per_doc)
        word_doc = np.repeat(token_doc, word_len)
        char_doc = np.repeat(token_doc, char_len)
        # n-grams of n words, within one headline only.
        blocks: list[tuple[np.ndarray, np.ndarray]] = []
        for n in range(self.word_ngrams[0], self.word_ngrams[1] + 1):
            columns = self._word_ngrams(hashes, n)
            m = len(columns)
            same = word_doc[:m] == word_doc[n - 1 :]
            blocks.append((columns[same].astype(np.int32), word_doc[:m][same]))
        blocks.append((char_ids.astype(np.int32), char_doc))
        # Scatter into CSR order without sorting: every block is already in document order.
        per_doc = [np.bincount(d, minlength=n_docs) for _, d in blocks]
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.sum(per_doc, axis=0), out=indptr[1:])
        indices = np.empty(indptr[-1], dtype=np.int32)
        offset = indptr[:-1].copy()
        for (block_ids, d), counts in zip(blocks, per_doc, strict=True):
            if len(block_ids):
                first = np.zeros(n_docs + 1, dtype=np.int64)
                np.cumsum(counts, out=first[1:])
                rank = np.arange(len(block_ids)) - first[d]
                indices[offset[d] + rank] = block_ids
            offset += counts
        data = np.ones(len(indices), dtype=np.float32)
        words_per_doc = np.sum(per_doc[:-1], axis=0) if len(per_doc) > 1 else np.zeros(n_docs, np.int64)
        return sp.csr_matrix((data, indices, indptr), shape=(n_docs, self.n_features_)), words_per_doc

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state (the idf weights) as plain arrays, for :mod:`classify.pipeline.modelfile`."""
        return {"n_documents": int(self.n_documents_)}, {"idf": self.idf_}

    @classmethod
    def from_arrays(
        cls, params: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> HashedFeatures:
        """Rebuild a fitted vectorizer from :meth:`to_arrays` output, checking that the parts agree."""
        vec = cls(**params)
        idf = np.asarray(arrays["idf"], dtype=np.float32)
        if not 1 <= vec.word_bits <= 26 or not 1 <= vec.char_bits <= 26:
            raise ValueError("the hashed widths are out of range")
        if idf.shape != (vec.n_features_,) or not np.isfinite(idf).all():
            raise ValueError("the idf weights do not fit the hashed width")
        vec.idf_ = idf
        vec.n_documents_ = int(state["n_documents"])
        return vec

    def __getstate__(self) -> dict[str, Any]:
        # The token cache is a speed-up, not state: never pickle it into a model file.
        state = dict(self.__dict__)
        state.pop("_cache", None)
        state.pop("df_", None)
        return state


class _TokenIds(FirstSight):
    """Token -> id in the token cache (ids in order of first sight); a token it lacks also waits in
    ``pending`` to be analysed with the others of its batch."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[str] = []

    def __missing__(self, token: str) -> int:
        self.pending.append(token)
        return super().__missing__(token)
