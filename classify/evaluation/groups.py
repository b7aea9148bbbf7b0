"""Near-duplicate groups: headlines that tell the same story, so evaluation can keep them together.

News repeats itself reworded ("Egypt, Sudan sign water deal" / "Sudan and Egypt sign deal on Nile
water"); with one copy in a training fold and another in the test fold, cross-validation measures
memory rather than generalisation. :func:`near_duplicate_groups` links every pair of headlines whose
similarity (:func:`similarity_vectors`: the mean of a word and a character 3-5-gram TF-IDF cosine)
reaches a threshold and returns the connected components as group ids, for grouped k-fold
(:mod:`classify.evaluation.splits`). How the pairs are found (``method``):

- ``"exact"``: scikit-learn's brute-force radius search over all pairs (quadratic); the reference.
- ``"blocked"``: exact copies merged by hashing, then prefix-filtered blocks, every candidate checked
  exactly: the same groups as ``"exact"``, much faster on real headlines
  (:mod:`classify.evaluation._blocked`).
- ``"minhash"``: MinHash/LSH candidates, each checked exactly, so no pair below the threshold is
  joined but a few may be missed; for archives (:mod:`classify.evaluation._minhash`).
- ``"auto"`` (the default): ``"blocked"`` up to :data:`AUTO_BLOCKED_ROWS` headlines, ``"minhash"``
  above. A missed pair that straddles folds makes the score a little optimistic.

Times, memory and the MinHash method's recall against the blocked one: ``bench/results/scale.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from classify.evaluation._blocked import BLOCK_ROWS as BLOCK_ROWS
from classify.evaluation._blocked import PREFIX_ROWS as PREFIX_ROWS
from classify.evaluation._blocked import _blocked_labels
from classify.evaluation._minhash import MINHASH_BANDS as MINHASH_BANDS
from classify.evaluation._minhash import MINHASH_MAX_DF as MINHASH_MAX_DF
from classify.evaluation._minhash import MINHASH_MIN_AGREEMENT as MINHASH_MIN_AGREEMENT
from classify.evaluation._minhash import MINHASH_RECALL_JACCARD as MINHASH_RECALL_JACCARD
from classify.evaluation._minhash import MINHASH_RECALL_TARGET as MINHASH_RECALL_TARGET
from classify.evaluation._minhash import MINHASH_ROWS as MINHASH_ROWS
from classify.evaluation._minhash import MINHASH_SEED as MINHASH_SEED
from classify.evaluation._minhash import MINHASH_WINDOW as MINHASH_WINDOW
from classify.evaluation._minhash import PAIR_BATCH as PAIR_BATCH
from classify.evaluation._minhash import SIGNATURE_ROWS as SIGNATURE_ROWS
from classify.evaluation._minhash import VECTOR_BUDGET_NNZ as VECTOR_BUDGET_NNZ
from classify.evaluation._minhash import _minhash_labels
from classify.evaluation._minhash import _table_vectors as _table_vectors
from classify.evaluation._minhash import _token_tables as _token_tables
from classify.evaluation._minhash import lsh_collision_probability as lsh_collision_probability
from classify.evaluation._similarity import similarity_vectors
from classify.progress import report

if TYPE_CHECKING:
    import numpy as np

#: Similarity from which two headlines count as one story, chosen by reading random pairs around it on
#: AG News and the shipped corpus: from 0.5 up, pairs are mostly one event reworded; below, more and
#: more different events of a routine kind, and chains join unrelated stories. Grouping too much only
#: makes the score a little pessimistic, missing a copy flatters it, so the cut is at the low end.
DUPLICATE_THRESHOLD = 0.5
#: Up to this many headlines ``method="auto"`` uses the blocked method (exact), above it MinHash/LSH.
AUTO_BLOCKED_ROWS = 50_000
METHODS = ("auto", "blocked", "minhash", "exact")


@dataclass(frozen=True)
class Groups:
    """Group ids of near-duplicate headlines.

    Attributes
    ----------
    ids
        One integer per headline; headlines with the same id are (chains of) near-duplicates.
    threshold
        The similarity used to link two headlines.
    method
        How the pairs were found: ``"blocked"`` or ``"exact"`` (every pair at the threshold), or
        ``"minhash"`` (approximate: a few pairs may be missed, none below the threshold added).
    """

    ids: np.ndarray
    threshold: float
    method: str = "blocked"

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
            "method": self.method,
            "groups": self.n_groups,
            "multi_row_groups": self.multi_groups,
            "rows_in_multi_row_groups": self.multi_rows,
            "largest_group": self.largest,
        }


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
        ``"blocked"``: exact-copy hashing then prefix-filtered blocks (exact); ``"minhash"``: exact-copy
        hashing, MinHash/LSH candidates, exact similarity of each (approximate recall, exact
        precision; for large inputs); ``"auto"``: blocked up to :data:`AUTO_BLOCKED_ROWS` headlines,
        minhash above; ``"exact"``: the all-pairs radius search (quadratic; the reference). See the
        module docstring.

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
    if method == "auto":
        method = "blocked" if len(texts) <= AUTO_BLOCKED_ROWS else "minhash"
    if len(texts) == 0:
        return Groups(ids=np.zeros(0, dtype=int), threshold=threshold, method=method)
    report(f"grouping near-duplicates of {len(texts):,} headlines")
    if method == "exact":
        labels = _exact_labels(texts, threshold)
    elif method == "minhash":
        labels = _minhash_labels(texts, threshold)
    else:
        labels = _blocked_labels(texts, threshold)
    return Groups(ids=_by_first_appearance(labels), threshold=threshold, method=method)


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
