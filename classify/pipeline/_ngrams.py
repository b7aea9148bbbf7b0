"""The numpy machinery behind :class:`classify.pipeline.runtime.HeadlineFeatures` (private).


:class:`HeadlineVectorizer` computes the same matrix as the scikit-learn ``FeatureUnion`` of a word
1-2-gram ``TfidfVectorizer`` and a ``char_wb`` 2-5-gram ``TfidfVectorizer`` (same sorted columns, same
values up to float32 rounding), several times faster at prediction time.

Why it is faster: scikit-learn extracts every character n-gram of every document in Python and looks
each one up in a dict, about 150 look-ups per headline. But ``char_wb`` n-grams never cross whitespace
(each word is padded with one space on each side and cut into n-grams inside it), so a document's
character counts are the sum of its words' counts, and words repeat a lot. Here each distinct
whitespace token is analysed once and its feature columns are kept in a table (a sparse matrix ``T``
with one row per token); a batch of documents becomes a sparse document-by-token matrix ``D``, and
``D @ T`` (compiled sparse code) adds the rows up. Word n-grams of two or more words, which do cross
whitespace, are looked up with numpy (sorted integer keys and ``searchsorted``) and enter ``D`` as rows
of an identity block at the top of ``T``. The Python-level work left is one lowercasing per headline
and one dict look-up per token (a batch is split as one string); tokens never seen before are
analysed together, in one pass, when a batch first meets them.

Kept apart from the estimator so that ``features.py`` reads as a scikit-learn transformer,
``runtime.py`` as the fitted transform, and this module as the counting they rely on; nothing
outside those two (and ``hashing.py``, which splits batches with :func:`split_tokens`) should import
it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from classify.text import char_wb_ngrams, preprocess

if TYPE_CHECKING:
    from classify.pipeline.runtime import HeadlineFeatures

#: scikit-learn's default ``token_pattern``: words of two or more word characters.
WORD = re.compile(r"(?u)\b\w\w+\b")


def gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenation of the ranges ``starts[i] : starts[i] + lengths[i]``, without a loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts.astype(np.int64) - offsets, lengths) + np.arange(total, dtype=np.int64)


def lookup(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Position of each key in ``sorted_keys``, or -1 where it is absent."""
    if len(sorted_keys) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    return np.where(sorted_keys[pos] == keys, pos, -1)


#: Marks the end of each document when a batch is split as one string. It is looked up like any
#: token (so a headline that really holds it is still analysed right); :func:`split_tokens` only
#: treats it as a boundary after checking that no headline of the batch contains it.
SEP = "\x00"


def split_tokens(docs: Sequence[str], ids: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Preprocess and whitespace-split a batch; return each token's id and its document's index.

    The batch is joined with a separator token and split once: splitting each headline into its own
    list made a million small lists, and the garbage collector's passes over them tripled the time.
    An all-ASCII batch (most of them) is lowercased whole, in one call; otherwise preprocessing is
    per headline, because lowercasing after accent stripping would differ from scikit-learn on a
    few characters.

    Parameters
    ----------
    docs
        Raw headlines.
    ids
        Token -> id; looking up a token it lacks must add it (a dict with ``__missing__``).
    """
    joined = f" {SEP} ".join(docs)
    if joined.isascii():  # lowercasing ASCII text is the same whole or headline by headline
        joined = joined.lower()
        pre = None
    else:
        pre = [d.lower() if d.isascii() else preprocess(d) for d in docs]
        joined = f" {SEP} ".join(pre)
    if joined.count(SEP) == len(docs) - 1:
        tokens = joined.split()
        tok = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        boundary = tok == ids[SEP]
        doc = np.cumsum(boundary)
        return tok[~boundary], doc[~boundary]
    # A headline holds the separator itself: split one by one.
    split = [d.split() for d in (pre if pre is not None else [d.lower() for d in docs])]
    lens = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    tokens = [t for toks in split for t in toks]
    tok = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    return tok, np.repeat(np.arange(len(docs), dtype=np.int64), lens)


class FirstSight(dict):
    """Token -> id in order of first sight (the fit's provisional ids)."""

    def __missing__(self, token: str) -> int:
        value = self[token] = len(self)
        return value


class KeyIndex:
    """The positions of distinct non-negative integer keys, found by hashing instead of bisection.

    ``searchsorted`` takes ~17 dependent steps through a 36k-key array per query, and the word
    bigram look-up makes one query per word of every headline: 0.135 s of a 200k-headline run. An
    open-addressing table four times the keys' count answers most queries in one vectorised probe
    (multiplicative hashing, linear probing; the few that collide take another round): 0.08 s.

    Parameters
    ----------
    keys
        Distinct non-negative keys; a key's answer is its index in this array.
    """

    #: Fibonacci hashing: the key times 2**64 / golden ratio, top bits kept.
    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        bits = max(4, (4 * len(keys)).bit_length())
        self._shift = np.uint64(64 - bits)
        self._mask = (1 << bits) - 1
        self._keys = np.full(1 << bits, -1, dtype=np.int64)  # -1: an empty slot
        self._values = np.full(1 << bits, -1, dtype=np.int64)
        todo = np.arange(len(keys), dtype=np.int64)
        slot = self._slot(keys)
        while len(todo):
            free = self._keys[slot] == -1
            # Of the keys that want the same free slot, the first takes it; the rest probe on.
            wanted, first = np.unique(slot[free], return_index=True)
            taken = np.flatnonzero(free)[first]
            self._keys[wanted] = keys[todo[taken]]
            self._values[wanted] = todo[taken]
            left = np.ones(len(todo), dtype=bool)
            left[taken] = False
            todo, slot = todo[left], (slot[left] + 1) & self._mask

    def _slot(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.astype(np.uint64) * self._MULTIPLIER) >> self._shift).astype(np.int64)

    def find(self, queries: np.ndarray) -> np.ndarray:
        """The index of each query among the keys, or -1 where it is not one."""
        slot = self._slot(queries)
        found = self._keys[slot]
        out = np.where(found == queries, self._values[slot], -1)
        # Queries whose probe met another key go on to the next slot until a match or an empty one.
        pending = np.flatnonzero((found != queries) & (found != -1))
        while len(pending):
            slot_p = (slot[pending] + 1) & self._mask
            slot[pending] = slot_p
            found_p = self._keys[slot_p]
            hit = found_p == queries[pending]
            out[pending[hit]] = self._values[slot_p[hit]]
            pending = pending[~hit & (found_p != -1)]
        return out


def ngram_ids(
    words: np.ndarray, docs: np.ndarray, n: int, levels: Sequence[KeyIndex], base: int
) -> tuple[np.ndarray, np.ndarray]:
    """Find the known n-grams (n >= 2) in a flat sequence of word ids.

    An n-gram is identified one word at a time: a known prefix id times ``base`` plus the next word id
    is looked up in that level's sorted keys, and its position there is the next prefix id. Keys stay
    far below 2**63 whatever ``n`` is, unlike a single base-``base`` number of ``n`` digits.

    Parameters
    ----------
    words
        Word ids of all documents concatenated (-1 for words in no known n-gram).
    docs
        Document index of each word, to keep n-grams inside one document.
    n
        N-gram length.
    levels
        The ``n - 1`` levels' keys (each level's sorted key array, indexed); the position in the
        last one is the n-gram's id.
    base
        One more than the largest word id.

    Returns
    -------
    start, ngram
        Position of the first word of each n-gram found, and its id.
    """
    count = len(words) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    start = np.flatnonzero((docs[:count] == docs[n - 1 :]) & (words[:count] >= 0))
    prefix = words[start]
    for j in range(1, n):
        nxt = words[start + j]
        keep = nxt >= 0
        start, prefix, nxt = start[keep], prefix[keep], nxt[keep]
        prefix = levels[j - 1].find(prefix * base + nxt)
        keep = prefix >= 0
        start, prefix = start[keep], prefix[keep]
    return start, prefix


class TokenTable:
    """Per-token feature rows, filled on first sight of each token and reused afterwards.

    Row ``r`` of :meth:`matrix` holds the features a token carries on its own (its character
    n-grams and word unigrams), one entry per occurrence; rows ``0 .. n_word - 1`` are an identity
    block so that word n-grams found across tokens can be added through the same product. The
    ``seq_*`` arrays hold each token's word ids for the n-gram search.

    New tokens are only queued on look-up and analysed together in :meth:`flush`: one ``map`` of
    ``dict.get`` over all their n-grams is over twice as fast as analysing them one by one.
    """

    def __init__(self, vectorizer: HeadlineFeatures) -> None:
        self.vec = vectorizer
        # Built on first use, so that a cold start answered from the cache never pays for it; kept
        # by reset (they depend on the vocabulary only).
        self.char_index: CharIndex | None = None
        self._ngram_index: dict[int, list[KeyIndex]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every token (in place: the vectorizer keeps the same table object)."""
        self.cache: TokenCache = TokenCache(self)
        n_word = self.vec.n_word_features_
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
            self._ngram_index[n] = [KeyIndex(keys) for keys in self.vec._ngram_levels[n][0]]
        return self._ngram_index[n]

    def flush(self) -> None:
        """Analyse the tokens queued since the last flush and append their rows."""
        tokens = self.pending
        if not tokens:
            return
        vec = self.vec
        count = len(tokens)
        words = [WORD.findall(t) for t in tokens]
        flat_words = [w for ws in words for w in ws]
        word_lens = np.fromiter(map(len, words), dtype=np.int64, count=count)
        rows, cols = [], []
        if vec._unigrams:
            rows.append(np.repeat(np.arange(count), word_lens))
            cols.append(get_all(vec.word_vocabulary_, flat_words))
        if vec.char_ngrams:
            if self.char_index is None:
                ngram_range: tuple[int, int] = tuple(vec.char_ngrams)  # type: ignore[assignment]
                self.char_index = CharIndex(vec._char_columns, ngram_range)
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
        if vec._ngram_levels:
            used = int(self.seq_ptr[-1])
            ids = get_all(vec._ngram_words, flat_words)
            self.seq_data = np.concatenate([self.seq_data[:used], ids])
            self.seq_ptr = np.concatenate([self.seq_ptr, used + np.cumsum(word_lens)])
            self.seq_len = np.concatenate([self.seq_len, word_lens])
        tokens.clear()

    def matrix(self) -> sp.csr_matrix:
        """The table as a sparse matrix (views on the buffers, no copy)."""
        return sp.csr_matrix(
            (self.data[: self.nnz], self.indices[: self.nnz], self.indptr[: self.rows + 1]),
            shape=(self.rows, self.vec.n_features_),
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


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32 (lone surrogates included, as scikit-learn keeps them)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


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


def get_all(mapping: dict[str, int], keys: list[str]) -> np.ndarray:
    """``mapping[key]`` for each key, -1 where absent, looked up in one C-level loop."""
    return np.fromiter(map(mapping.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))


def get_ids(ids: FirstSight, keys: list[str]) -> np.ndarray:
    """Provisional id of each key, new keys numbered in order of first sight."""
    return np.fromiter(map(ids.__getitem__, keys), dtype=np.int64, count=len(keys))


def append(buffer: np.ndarray, used: int, values: np.ndarray) -> np.ndarray:
    """Write ``values`` after the first ``used`` items, doubling the capacity when needed.

    Doubling keeps the cost of adding tokens one small batch at a time linear overall.
    """
    need = used + len(values)
    if need > len(buffer):
        grown = np.empty(max(need, 2 * len(buffer)), dtype=buffer.dtype)
        grown[:used] = buffer[:used]
        buffer = grown
    buffer[used:need] = values
    return buffer


def pack(vocabulary: dict[str, int]) -> tuple[str, np.ndarray, np.ndarray]:
    """A str -> int dict as (all keys concatenated, key lengths, values)."""
    keys = list(vocabulary)
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    values = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(keys))
    return "".join(keys), lengths, values


def unpack(packed: tuple[str, np.ndarray, np.ndarray]) -> dict[str, int]:
    """Inverse of :func:`pack`."""
    text, lengths, values = packed
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]] if ends else []
    return dict(zip([text[a:b] for a, b in zip(starts, ends, strict=True)], values.tolist(), strict=True))


def stack_rows(parts: list[tuple[np.ndarray, np.ndarray] | None], n_rows: int, n_cols: int) -> sp.csr_matrix:
    """A count matrix whose row ``r`` holds the columns of row ``r`` of every part (ragged arrays)."""
    cols, rows = [], []
    for part in parts:
        if part is None:
            continue
        values, lens = part
        cols.append(values)
        rows.append(np.repeat(np.arange(n_rows, dtype=np.int64), lens))
    if not cols:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(col), dtype=np.float32), (row, col)), shape=(n_rows, n_cols))


def count_matrix(
    n_docs: int,
    tok_doc: np.ndarray,
    tok_rows: np.ndarray,
    gram_doc: np.ndarray,
    gram_rows: np.ndarray,
    table: sp.csr_matrix,
) -> sp.csr_matrix:
    """Documents x features counts as ``D @ T``: D counts each document's token rows and n-gram rows.

    The product is compiled sparse code that adds up duplicate columns, which is the per-document
    counting scikit-learn does with a Python dict. Its column indices are not sorted within rows;
    nothing downstream (``X @ coef``, l2 norms) needs them sorted.
    """
    row = np.concatenate([tok_doc, gram_doc])
    col = np.concatenate([tok_rows, gram_rows])
    if len(gram_doc):
        order = np.argsort(row, kind="stable")  # two sorted runs: timsort merges them in linear time
        row, col = row[order], col[order]
    index = np.int32 if table.shape[0] < 2**31 - 1 else np.int64
    indptr = np.zeros(n_docs + 1, dtype=index)
    np.cumsum(np.bincount(row, minlength=n_docs), out=indptr[1:])
    col = col.astype(index)
    ones = np.ones(len(col), dtype=np.float32)
    product = _product_into(n_docs, indptr, col, ones, table)
    if product is not None:
        return product
    docs = sp.csr_matrix((ones, col, indptr), shape=(n_docs, table.shape[0]))
    return sp.csr_matrix(docs @ table)


def _product_into(
    n_docs: int, indptr: np.ndarray, col: np.ndarray, ones: np.ndarray, table: sp.csr_matrix
) -> sp.csr_matrix | None:
    """``D @ T`` with scipy's compiled kernel, into arrays sized by a bound known beforehand.

    ``D @ T`` first runs a whole symbolic pass over both matrices only to count the product's
    entries (``csr_matmat_maxnnz``), a fifth of the product's time. Here the count is bounded by
    the sum of the table rows that ``D`` adds up (no more than 10% above the true count on
    headlines, whose words share few n-grams), the kernel fills the arrays, and they are cut to
    what it wrote. The kernel is scipy's private ``_sparsetools.csr_matmat``, unchanged for a
    decade; if it is missing, or the index types differ, None tells the caller to use ``@``.
    """
    try:
        from scipy.sparse._sparsetools import csr_matmat
    except ImportError:  # pragma: no cover - a scipy that moved its kernels
        return None
    if table.indptr.dtype != indptr.dtype or table.indices.dtype != indptr.dtype:
        return None
    bound = int((table.indptr[col.astype(np.int64) + 1] - table.indptr[col]).sum())
    if bound >= np.iinfo(indptr.dtype).max or table.data.dtype != np.float32:
        return None
    out_ptr = np.empty(n_docs + 1, dtype=indptr.dtype)
    out_ind = np.empty(bound, dtype=indptr.dtype)
    out_val = np.empty(bound, dtype=np.float32)
    n_cols = table.shape[1]
    csr_matmat(
        n_docs, n_cols, indptr, col, ones, table.indptr, table.indices, table.data, out_ptr, out_ind, out_val
    )
    nnz = int(out_ptr[-1])
    return sp.csr_matrix((out_val[:nnz], out_ind[:nnz], out_ptr), shape=(n_docs, n_cols), copy=False)
