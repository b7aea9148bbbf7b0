"""The array kernels of the n-gram features (private): a batch split into token ids, integer-key
look-ups, the word n-gram search and the documents x features count product ``D @ T``.

Plain numpy and scipy, no state: :mod:`classify.pipeline._ngrams` builds its token table on them,
:mod:`classify.pipeline.features` fits with them and :mod:`classify.pipeline.hashing` splits its
batches with :func:`split_tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from classify.text import preprocess

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
    bigram look-up makes one query per word of every headline. An open-addressing table four times
    the keys' count answers most queries in one vectorised probe (multiplicative hashing, linear
    probing; the few that collide take another round), in about 60% of the time.

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


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as uint32 (lone surrogates included, as scikit-learn keeps them)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


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
