"""Near-duplicate groups: headlines that tell the same story, so evaluation can keep them together.

News repeats itself: one story comes back reworded ("Egypt, Sudan sign water deal" / "Sudan and Egypt
sign deal on Nile water"). If one copy is in a training fold and another in the test fold,
cross-validation measures memory rather than generalisation. :func:`near_duplicate_groups` links every
pair of headlines whose text similarity reaches a threshold and returns the connected components as
group ids, ready for scikit-learn's ``StratifiedGroupKFold``.

Similarity is the cosine of a TF-IDF vector that gives equal weight to word unigrams and to character
3-5-grams within word bounds, i.e. the mean of the word cosine and the character cosine. Words catch
shared names and numbers; character n-grams catch inflections, reordering and small spelling changes.
How the pairs are found (``method``):

- ``"exact"``: scikit-learn's brute-force radius search over all pairs (quadratic time: about 150 s
  and 1.8 GB at 100k headlines). Kept as the reference.
- ``"blocked"`` (the default, ``"auto"``): first, headlines that are the same text once lowercased,
  stripped of accents and whitespace-collapsed are merged by hashing (their similarity is 1); then the
  distinct texts are compared only within *blocks* that can hold a pair at the threshold, found by
  prefix filtering (Bayardo et al., "Scaling up all pairs similarity search", WWW 2007): with the
  features of each vector ordered rarest first, a pair with cosine >= t must share a feature among
  the first ones of each vector whose remaining norm is still >= t. Every candidate pair's
  similarity is then computed exactly, so no pair at the threshold is missed and no pair below it is
  added. The vectors are the exact method's own (:func:`similarity_vectors` over every row, copies
  included, one row kept per distinct text), so the groups are the same as the exact method's, which
  ``tests/test_groups.py`` checks. (Hashed features were tried first to save the vocabulary's memory:
  they moved a pair on the shipped corpus from 0.50002 to 0.49996, across the threshold.)
  Only connectivity matters, so the groups grow in a union-find forest and a candidate pair already
  joined through other pairs is not checked; the rest get their exact similarity, one sparse product
  per block of rows. Memory is bounded by the block. On real headlines the candidates are a small
  fraction of all pairs (AG News test: 3x faster than the exact search), but it is not linear: the
  candidates grow faster than the rows where many rows share mid-frequency n-grams, and on the
  synthetic archive of ``bench/scale.py`` (recombined halves of a few thousand headlines, hundreds of
  true pairs per row) it falls far short of "1M rows in minutes" (see ``bench/results/scale.md``).
  Getting there needs an approximate method (MinHash/LSH with a recall target), not done yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Similarity (mean of the word and the character TF-IDF cosine) from which two headlines count as one
#: story. Chosen by reading random pairs in bands of 0.05 on AG News (7,600 wire headlines) and on the
#: drafted corpus: from 0.5 up, AG News pairs are mostly one event reworded ("Cayman Islands hit by
#: hurricane" / "Hurricane Ivan Batters Grand Cayman", 0.52); between 0.4 and 0.5 they are about half
#: different events of a routine kind ("Sudan peace talks resume" / "N Korea crisis talks set to
#: resume"), and below 0.4 mostly so. Erring towards grouping only makes the score a little
#: pessimistic, while missing a copy flatters it, so the cut sits at the low end of the same-story band;
#: lower, chains start to join unrelated stories (largest AG News group: 13 rows at 0.5, 78 at 0.4).
DUPLICATE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Groups:
    """Group ids of near-duplicate headlines.

    Attributes
    ----------
    ids
        One integer per headline; headlines with the same id are (chains of) near-duplicates.
    threshold
        The similarity used to link two headlines.
    """

    ids: np.ndarray
    threshold: float

    @property
    def n_groups(self) -> int:
        """Number of groups, singletons included."""
        return len(set(self.ids.tolist()))

    def sizes(self) -> np.ndarray:
        """Size of each group, indexed by group id."""
        import numpy as np

        return np.bincount(self.ids) if len(self.ids) else np.zeros(0, dtype=int)

    @property
    def multi_groups(self) -> int:
        """Groups of two or more headlines."""
        return int((self.sizes() >= 2).sum())

    @property
    def multi_rows(self) -> int:
        """Headlines that share their group with at least one other headline."""
        sizes = self.sizes()
        return int(sizes[sizes >= 2].sum())

    @property
    def largest(self) -> int:
        """Size of the largest group (a large one would mean the threshold chains unrelated stories)."""
        sizes = self.sizes()
        return int(sizes.max()) if len(sizes) else 0

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts for reports."""
        return {
            "threshold": self.threshold,
            "groups": self.n_groups,
            "multi_row_groups": self.multi_groups,
            "rows_in_multi_row_groups": self.multi_rows,
            "largest_group": self.largest,
        }


def similarity_vectors(texts: Sequence[str]) -> Any:
    """L2-normalised sparse vectors whose dot product is the near-duplicate similarity.

    Each half (words, characters) is normalised on its own and scaled by ``sqrt(1/2)``, so a dot
    product is the mean of the two cosines and every vector still has unit length.
    """
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    blocks = []
    for vectorizer in (
        TfidfVectorizer(lowercase=True, strip_accents="unicode", sublinear_tf=True, dtype=np.float32),
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            lowercase=True,
            strip_accents="unicode",
            sublinear_tf=True,
            dtype=np.float32,
        ),
    ):
        try:
            blocks.append(vectorizer.fit_transform(list(texts)))
        except ValueError:  # empty vocabulary (e.g. only one-letter words): the other half decides
            continue
    if not blocks:
        return sp.csr_matrix((len(texts), 1), dtype=np.float32)
    matrix = sp.hstack(blocks, format="csr") * np.float32(np.sqrt(1 / len(blocks)))
    # A text with no features in one half has a shorter vector; renormalise so cosine stays honest.
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1 / norms) @ matrix


METHODS = ("auto", "blocked", "exact")


def near_duplicate_groups(
    texts: Sequence[str], *, threshold: float = DUPLICATE_THRESHOLD, method: str = "auto"
) -> Groups:
    """Group headlines whose similarity (see :func:`similarity_vectors`) is at least ``threshold``.

    Grouping is transitive: if A is like B and B like C, all three share a group, because a story
    that drifts through rewordings is still one story.

    Parameters
    ----------
    texts
        The headlines.
    threshold
        Cosine similarity in ``(0, 1]``; 1 groups only exact (case- and accent-insensitive) copies.
    method
        ``"auto"``/``"blocked"``: exact-copy hashing then prefix-filtered blocks (near-linear); ``"exact"``:
        the all-pairs radius search (quadratic; the reference). See the module docstring.

    Returns
    -------
    Groups
        Group ids numbered in order of first appearance.
    """
    import numpy as np

    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if len(texts) == 0:
        return Groups(ids=np.zeros(0, dtype=int), threshold=threshold)
    labels = _blocked_labels(texts, threshold) if method != "exact" else _exact_labels(texts, threshold)
    return Groups(ids=_by_first_appearance(labels), threshold=threshold)


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber component labels by first appearance, so ids do not depend on traversal order."""
    import numpy as np

    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[inverse.ravel()], dtype=int)


def _exact_labels(texts: Sequence[str], threshold: float) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    vectors = similarity_vectors(texts)
    # The radius is a cosine distance; a hair of slack so that float32 rounding keeps exact copies.
    radius = max(1.0 - threshold, 0.0) + 1e-6
    search = NearestNeighbors(radius=radius, metric="cosine", algorithm="brute").fit(vectors)
    graph = search.radius_neighbors_graph(vectors, mode="connectivity")
    _, labels = connected_components(graph, directed=False)
    return labels


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
        apart = _find(parent, ci) != _find(parent, cj)
        if not apart.any():
            continue
        rows, cols = np.unique(ci[apart]), np.unique(cj[apart])
        # Exact similarities of those rows against those columns, in one sparse product (faster than
        # pair by pair); any pair at the threshold is a true edge, candidate or not.
        sims = (vectors[rows] @ vectors[cols].T).tocoo()
        hit = sims.data >= t
        for x, y in zip(rows[sims.row[hit]].tolist(), cols[sims.col[hit]].tolist(), strict=True):
            _union(parent, x, y)
    return _find(parent, np.arange(n))[first_of]


def _find(parent: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Roots of ``items`` in the union-find forest ``parent`` (vectorised, with path halving)."""
    import numpy as np

    roots = parent[items]
    while True:
        up = parent[roots]
        if np.array_equal(up, roots):
            return roots
        parent[roots] = parent[up]  # halve the paths walked
        roots = up


def _union(parent: np.ndarray, x: int, y: int) -> None:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    while parent[y] != y:
        parent[y] = parent[parent[y]]
        y = parent[y]
    if x != y:
        parent[max(x, y)] = min(x, y)


def similar_pairs(texts: Sequence[str], *, low: float, high: float = 1.0) -> list[tuple[float, int, int]]:
    """Pairs ``(similarity, i, j)`` with ``low <= similarity < high``, most similar first.

    A tool for choosing and checking the threshold by reading the pairs around it.
    """
    from sklearn.neighbors import NearestNeighbors

    vectors = similarity_vectors(texts)
    search = NearestNeighbors(radius=1.0 - low + 1e-6, metric="cosine", algorithm="brute").fit(vectors)
    distances, neighbours = search.radius_neighbors(vectors)
    pairs = []
    for i, (dist, idx) in enumerate(zip(distances, neighbours, strict=True)):
        for d, j in zip(dist, idx, strict=True):
            sim = 1.0 - float(d)
            if j > i and low <= sim < high:
                pairs.append((sim, i, int(j)))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return pairs
