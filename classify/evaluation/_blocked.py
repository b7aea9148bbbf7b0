"""The blocked method of near-duplicate grouping: exact, without comparing every pair.

Exact copies (the same text once lowercased, stripped of accents and whitespace-collapsed) are merged
by hashing; the distinct texts are then compared only within blocks that can hold a pair at the
threshold, found by prefix filtering (Bayardo et al., "Scaling up all pairs similarity search",
WWW 2007): with each vector's features ordered rarest first, a pair with cosine >= t shares a feature
among the first ones of each vector whose remaining norm is still >= t. Every candidate pair gets its
exact similarity over the reference's own vectors (:func:`similarity_vectors` over every row, one row
kept per distinct text), so the groups equal the ``"exact"`` method's (``tests/test_groups.py``).
Hashed features were tried to save the vocabulary's memory and moved pairs across the threshold.
Memory is bounded by the block; time is not linear where many rows share mid-frequency n-grams
(``bench/results/scale.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from classify.evaluation._similarity import similarity_vectors
from classify.evaluation._unionfind import find, union

if TYPE_CHECKING:
    import numpy as np

#: Rows per block of the candidate search (memory of one block's candidate matrix).
BLOCK_ROWS = 512
#: Rows per block when choosing each row's prefix features (memory of one sort).
PREFIX_ROWS = 65_536


def _blocked_labels(texts: Sequence[str], threshold: float) -> np.ndarray:
    import numpy as np
    import scipy.sparse as sp

    from classify.text import preprocess as _preprocess

    # 1. Exact copies (same text up to case, accents and spacing) have similarity 1: merge them.
    keys: dict[str, int] = {}
    first_of = np.fromiter(
        (keys.setdefault(" ".join(_preprocess(t).split()), len(keys)) for t in texts),
        dtype=np.int64,
        count=len(texts),
    )
    del keys
    # The reference's own vectors (vocabulary, idf over every row, copies included), one per distinct
    # text: the first row of each.
    _, representatives = np.unique(first_of, return_index=True)
    vectors = similarity_vectors(texts)[representatives].tocsr()
    n = vectors.shape[0]
    # 2. Prefix filtering: order features rarest first; keep each row's leading features while the
    #    norm of what remains (that feature included) is still >= t, and so is the sum of its values times
    #    each feature's largest value anywhere. A pair with dot >= t shares a kept feature (the first
    #    shared feature in this order is kept in both rows, else the rest of one row could not reach t).
    t = max(threshold - 1e-6, 0.0)  # the exact method's float32 slack
    df = np.bincount(vectors.indices, minlength=vectors.shape[1])
    # The largest value of each feature over all rows: a second, often much tighter, bound on what a
    # row's remaining features can add to any dot product (common n-grams have small weights).
    top = np.zeros(vectors.shape[1], dtype=np.float64)
    np.maximum.at(top, vectors.indices, vectors.data)
    parts = []
    for start in range(0, n, PREFIX_ROWS):  # in blocks of rows, to bound the sort's memory
        block = vectors[start : start + PREFIX_ROWS]
        rows = np.repeat(np.arange(block.shape[0], dtype=np.int32), np.diff(block.indptr))
        order = np.lexsort((block.indices, df[block.indices], rows))
        squares = block.data[order].astype(np.float64) ** 2
        cum = np.concatenate([[0.0], np.cumsum(squares)])
        row_start = block.indptr[:-1]
        row_end = block.indptr[1:]
        # Mass from this entry to the end of its row (entries are grouped by row after the sort).
        remaining = cum[row_end][rows] - cum[:-1]
        bound = block.data[order].astype(np.float64) * top[block.indices[order]]
        cum_bound = np.concatenate([[0.0], np.cumsum(bound)])
        # Keep an entry while both bounds on the rest of the row (this entry included) reach t.
        keep = (remaining >= t * t - 1e-9) & (cum_bound[row_end][rows] - cum_bound[:-1] >= t - 1e-9)
        del row_start
        parts.append(
            sp.csr_matrix(
                (np.ones(int(keep.sum()), dtype=np.float32), (rows[order][keep], block.indices[order][keep])),
                shape=block.shape,
            )
        )
    prefix = sp.vstack(parts, format="csr") if parts else sp.csr_matrix(vectors.shape, dtype=np.float32)
    del parts
    prefix_t = prefix.T.tocsr()
    # 3. Per block of rows: candidates share a prefix feature. Only connectivity matters, so a pair
    #    already joined (through other pairs) is not checked; the others get their exact similarity.
    parent = np.arange(n)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        candidates = (prefix[start:stop] @ prefix_t).tocoo()
        ci, cj = candidates.row.astype(np.int64) + start, candidates.col.astype(np.int64)
        del candidates
        later = cj > ci  # each pair once
        ci, cj = ci[later], cj[later]
        apart = find(parent, ci) != find(parent, cj)
        if not apart.any():
            continue
        rows, cols = np.unique(ci[apart]), np.unique(cj[apart])
        # Exact similarities of those rows against those columns, in one sparse product (faster than
        # pair by pair); any pair at the threshold is a true edge, candidate or not.
        sims = (vectors[rows] @ vectors[cols].T).tocoo()
        hit = sims.data >= t
        for x, y in zip(rows[sims.row[hit]].tolist(), cols[sims.col[hit]].tolist(), strict=True):
            union(parent, x, y)
    return find(parent, np.arange(n))[first_of]
