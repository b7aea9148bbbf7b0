"""The token table behind :class:`classify.pipeline.runtime.HeadlineFeatures` (private).

:class:`~classify.pipeline.features.HeadlineVectorizer` computes the same matrix as scikit-learn's
``FeatureUnion`` of a word and a ``char_wb`` ``TfidfVectorizer``, several times faster at prediction
time. ``char_wb`` n-grams never cross whitespace, so a document's character counts are the sum of its
words' counts, and words repeat a lot: each distinct whitespace token is analysed once and its feature
columns kept as a row of a sparse table ``T``; a batch becomes a sparse document-by-token matrix
``D`` and ``D @ T`` (compiled sparse code) adds the rows up. Word n-grams of two or more words, which
do cross whitespace, are found with numpy and enter ``D`` as rows of an identity block at the top of
``T``. The Python-level work left is one lowercasing per headline and one dict look-up per token.

This module holds the table (:class:`TokenTable`, :class:`CharIndex`); the array kernels it and the
estimators use are in :mod:`classify.pipeline._counting` and re-exported here. Nothing outside
``features.py``, ``runtime.py`` and ``hashing.py`` should import either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from classify.pipeline._counting import (
    SEP,
    WORD,
    FirstSight,
    KeyIndex,
    append,
    code_points,
    count_matrix,
    gather,
    get_all,
    get_ids,
    lookup,
    ngram_ids,
    pack,
    split_tokens,
    stack_rows,
    unpack,
)
from classify.text import char_wb_ngrams

__all__ = [
    "SEP",
    "WORD",
    "CharIndex",
    "FirstSight",
    "KeyIndex",
    "TokenCache",
    "TokenTable",
    "append",
    "code_points",
    "count_matrix",
    "gather",
    "get_all",
    "get_ids",
    "lookup",
    "ngram_ids",
    "pack",
    "split_tokens",
    "stack_rows",
    "unpack",
]


class TokenTable:
    """Per-token feature rows, filled on first sight of each token and reused afterwards.

    Row ``r`` of :meth:`matrix` holds the features a token carries on its own (its character
    n-grams and word unigrams), one entry per occurrence; rows ``0 .. n_word - 1`` are an identity
    block so that word n-grams found across tokens can be added through the same product. The
    ``seq_*`` arrays hold each token's word ids for the n-gram search.

    New tokens are only queued on look-up and analysed together in :meth:`flush`: one ``map`` of
    ``dict.get`` over all their n-grams is over twice as fast as analysing them one by one.

    Parameters
    ----------
    n_word, n_features
        Columns of the word block (which comes first) and in all.
    word_columns
        Word unigram -> column, or ``None`` when the word n-grams start above one word.
    char_columns, char_ngrams
        Character n-gram -> column of the whole matrix, and the ``char_wb`` lengths (``None``: no
        character block).
    ngram_words, ngram_keys
        Word -> id among the words of known n-grams of two or more words, and per length ``n`` the
        sorted keys of its ``n - 1`` levels (see :func:`~classify.pipeline._counting.ngram_ids`).
    """

    def __init__(
        self,
        *,
        n_word: int,
        n_features: int,
        word_columns: dict[str, int] | None,
        char_columns: dict[str, int],
        char_ngrams: Sequence[int] | None,
        ngram_words: dict[str, int],
        ngram_keys: Mapping[int, Sequence[np.ndarray]],
    ) -> None:
        self.n_word = n_word
        self.n_features = n_features
        self.word_columns = word_columns
        self.char_columns = char_columns
        self.char_ngrams: tuple[int, int] | None = (
            (int(char_ngrams[0]), int(char_ngrams[1])) if char_ngrams else None
        )
        self.ngram_words = ngram_words
        self.ngram_keys = ngram_keys
        # Built on first use, so that a cold start answered from the cache never pays for it; kept
        # by reset (they depend on the vocabulary only).
        self.char_index: CharIndex | None = None
        self._ngram_index: dict[int, list[KeyIndex]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every token (in place: the vectorizer keeps the same table object)."""
        self.cache: TokenCache = TokenCache(self)
        n_word = self.n_word
        self.base_rows = n_word
        self.indptr = np.arange(n_word + 1, dtype=np.int32)
        self.indices = np.arange(n_word, dtype=np.int32)
        self.data = np.ones(n_word, dtype=np.float32)
        self.rows = n_word
        self.nnz = n_word
        self.seq_ptr = np.zeros(1, dtype=np.int64)
        self.seq_len = np.zeros(0, dtype=np.int64)
        self.seq_data = np.zeros(0, dtype=np.int64)
        self.pending: list[str] = []

    def ngram_levels(self, n: int) -> list[KeyIndex]:
        """The hashed keys of the word n-grams of length ``n``, level by level (built on first use)."""
        if n not in self._ngram_index:
            self._ngram_index[n] = [KeyIndex(keys) for keys in self.ngram_keys[n]]
        return self._ngram_index[n]

    def flush(self) -> None:
        """Analyse the tokens queued since the last flush and append their rows."""
        tokens = self.pending
        if not tokens:
            return
        count = len(tokens)
        words = [WORD.findall(t) for t in tokens]
        flat_words = [w for ws in words for w in ws]
        word_lens = np.fromiter(map(len, words), dtype=np.int64, count=count)
        rows, cols = [], []
        if self.word_columns is not None:
            rows.append(np.repeat(np.arange(count), word_lens))
            cols.append(get_all(self.word_columns, flat_words))
        if self.char_ngrams:
            if self.char_index is None:
                self.char_index = CharIndex(self.char_columns, self.char_ngrams)
            char_rows, char_cols = self.char_index.find(tokens)
            rows.append(char_rows)
            cols.append(char_cols)
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        if len(row):  # the parts, and the character n-grams by length, come in several runs
            order = np.argsort(row, kind="stable")
            row, col = row[order], col[order]
        known = col >= 0
        row, col = row[known], col[known]
        added = len(col)
        lens = np.bincount(row, minlength=count)
        self.indices = append(self.indices, self.nnz, col.astype(np.int32))
        self.data = append(self.data, self.nnz, np.ones(added, dtype=np.float32))
        self.indptr = append(self.indptr, self.rows + 1, (self.nnz + np.cumsum(lens)).astype(np.int32))
        self.nnz += added
        self.rows += count
        if self.ngram_keys:
            used = int(self.seq_ptr[-1])
            ids = get_all(self.ngram_words, flat_words)
            self.seq_data = np.concatenate([self.seq_data[:used], ids])
            self.seq_ptr = np.concatenate([self.seq_ptr, used + np.cumsum(word_lens)])
            self.seq_len = np.concatenate([self.seq_len, word_lens])
        tokens.clear()

    def matrix(self) -> sp.csr_matrix:
        """The table as a sparse matrix (views on the buffers, no copy)."""
        return sp.csr_matrix(
            (self.data[: self.nnz], self.indices[: self.nnz], self.indptr[: self.rows + 1]),
            shape=(self.rows, self.n_features),
            copy=False,
        )


class CharIndex:
    """The ``char_wb`` n-gram columns of many tokens at once, found with numpy instead of a dict.

    Analysing the tokens a batch meets for the first time was a third of a cold prediction run: each
    token's n-grams made as Python strings (about 30 per token) and looked up one by one. Here the
    padded tokens become one array of code points, each n-gram an exact integer key (its characters'
    ranks in the vocabulary's alphabet as the digits of a base ``len(alphabet) + 1`` number, 0 for a
    character the vocabulary lacks, so such an n-gram matches nothing), and every key of a length is
    looked up in one ``searchsorted``. It gives the same columns as :func:`char_wb_ngrams` with a
    dict, including scikit-learn's rule for tokens shorter than ``n`` (tested against it).

    When the vocabulary's alphabet is too large for ``hi``-digit keys to fit in 63 bits (thousands
    of distinct characters), :meth:`find` falls back to the per-token strings.

    Parameters
    ----------
    columns
        Character n-gram -> column of the whole matrix.
    ngram_range
        The ``char_wb`` n-gram lengths.
    """

    def __init__(self, columns: dict[str, int], ngram_range: tuple[int, int]) -> None:
        self.columns = columns
        self.lo, self.hi = ngram_range
        grams = list(columns)
        points = code_points("".join(grams))
        self.alphabet = np.unique(points)
        self.base = len(self.alphabet) + 1
        self.exact = self.base ** max(self.hi, 1) < 2**62
        self.keys: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if not self.exact or not grams:
            return
        lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        digits = self._digits(points)
        starts = np.cumsum(lengths) - lengths
        values = np.fromiter(columns.values(), dtype=np.int64, count=len(grams))
        for n in np.unique(lengths).tolist():
            which = np.flatnonzero(lengths == n)
            key = np.zeros(len(which), dtype=np.int64)
            for j in range(n):
                key += digits[starts[which] + j] * self.base**j
            order = np.argsort(key)
            self.keys[n] = (key[order], values[which][order])

    def _digits(self, points: np.ndarray) -> np.ndarray:
        """Each code point's rank in the alphabet plus one, or 0 where the alphabet lacks it."""
        if not len(self.alphabet):
            return np.zeros(len(points), dtype=np.int64)
        pos = np.searchsorted(self.alphabet, points)
        pos[pos == len(self.alphabet)] = 0
        return np.where(self.alphabet[pos] == points, pos + 1, 0).astype(np.int64)

    def find(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The known n-grams of each token: the token's index and the column, one pair per occurrence.

        Parameters
        ----------
        tokens
            Whitespace-free tokens, already lowercased and stripped as the vocabulary was.
        """
        if not self.exact:
            grams = [char_wb_ngrams(t, (self.lo, self.hi)) for t in tokens]
            lens = np.fromiter(map(len, grams), dtype=np.int64, count=len(tokens))
            rows = np.repeat(np.arange(len(tokens)), lens)
            cols = get_all(self.columns, [g for gs in grams for g in gs])
            return rows[cols >= 0], cols[cols >= 0]
        sizes = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens)) + 2
        total = int(sizes.sum())
        # Each token padded with a space on both sides (as char_wb pads words), then zeros past the
        # end so that every window of up to ``hi`` characters can be read without a bounds check.
        digits = np.zeros(total + self.hi, dtype=np.int64)
        digits[:total] = self._digits(code_points("".join([f" {t} " for t in tokens])))
        owner = np.repeat(np.arange(len(tokens), dtype=np.int64), sizes)
        left = np.repeat(np.cumsum(sizes), sizes) - np.arange(total)  # characters from here to the end
        starts = np.cumsum(sizes) - sizes
        key = np.zeros(total, dtype=np.int64)
        found_rows: list[np.ndarray] = []
        found_cols: list[np.ndarray] = []
        for n in range(1, self.hi + 1):
            key += digits[n - 1 : total + n - 1] * self.base ** (n - 1)
            # Every window of n characters inside a padded token; below the smallest n, only a padded
            # token of exactly n characters, which counts once, whole (scikit-learn's rule).
            at = np.flatnonzero(left >= n) if n >= self.lo else starts[sizes == n]
            if not len(at) or n not in self.keys:
                continue
            keys, values = self.keys[n]
            pos = lookup(key[at], keys)
            found = pos >= 0
            found_rows.append(owner[at[found]])
            found_cols.append(values[pos[found]])
        if not found_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(found_rows), np.concatenate(found_cols)


class TokenCache(dict):
    """Token -> token id; a miss queues the token for analysis (``dict.__getitem__`` stays in C)."""

    def __init__(self, table: TokenTable) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, token: str) -> int:
        table = self.table
        token_id = self[token] = table.rows - table.base_rows + len(table.pending)
        table.pending.append(token)
        return token_id
