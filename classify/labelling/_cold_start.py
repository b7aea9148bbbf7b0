"""The cold start: which headlines to ask about before any model exists, and when that ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def diverse_order(
    vecs: Any,
    candidates: Sequence[int] | np.ndarray,
    *,
    limit: int = 200,
    clusters: int = 30,
    seed: int = 0,
) -> list[int]:
    """Typical and varied headlines first, for a cold start without a model.

    One representative per k-means cluster (the member nearest the centre), largest cluster
    first, so the first answers cover the pool's main themes rather than its oddities; then
    k-means++-style sampling: each next headline drawn with probability proportional to its
    squared distance from everything chosen so far, so near-duplicates of a pick are (almost) never
    drawn. Deterministic for a given ``seed``.

    Returns
    -------
    list of int
        The first ``limit`` picks, then the remaining candidates in pool order.
    """
    import warnings

    import numpy as np
    from sklearn.cluster import MiniBatchKMeans

    cand = np.asarray(candidates, dtype=int)
    if cand.size == 0:
        return []
    limit = min(limit, cand.size)
    sub = vecs[cand]
    k = max(1, min(clusters, limit, cand.size))
    picked: list[int] = []
    if k >= 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence and memory notes on tiny pools
            km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=1024).fit(sub)
        labels = km.labels_
        centres = km.cluster_centers_
        sizes = np.bincount(labels, minlength=k)
        for c in np.argsort(-sizes, kind="stable"):
            members = np.flatnonzero(labels == c)
            if members.size == 0:
                continue
            closeness = np.asarray(sub[members] @ centres[c]).ravel()
            picked.append(int(members[int(np.argmax(closeness))]))
    picked = picked[:limit]
    rng = np.random.default_rng(seed)
    chosen = np.zeros(cand.size, dtype=bool)
    chosen[picked] = True
    if picked:
        best_sim = np.asarray((sub @ sub[picked].T).max(axis=1).todense()).ravel()
    else:
        best_sim = np.zeros(cand.size)
    while len(picked) < limit:
        weight = np.clip(1.0 - best_sim, 0.0, None) ** 2
        weight[chosen] = 0.0
        total = weight.sum()
        # When all left are copies of picks (no weight), fall back to pool order.
        nxt = int(rng.choice(cand.size, p=weight / total)) if total > 0 else int(np.flatnonzero(~chosen)[0])
        picked.append(nxt)
        chosen[nxt] = True
        best_sim = np.maximum(best_sim, np.asarray((sub @ sub[nxt].T).todense()).ravel())
    rest = np.flatnonzero(~chosen)
    return [int(cand[i]) for i in picked] + [int(cand[i]) for i in rest]


def cold_start_over(counts: dict[str, int], topics: Sequence[str], answered: int) -> bool:
    """Whether enough answers exist to rank by a model's uncertainty instead of by diversity.

    Uncertainty needs a model that knows the topics: the cold start ends when every topic has two
    labels (the least a topic needs to be trained on), or, when some topic is rare in the pool, once
    two topics have two labels each and there are three answers per topic: rare topics are then
    better found by the model's doubt than by waiting for diversity to stumble on them.
    """
    trainable = sum(1 for t in topics if counts.get(t, 0) >= 2)
    if trainable == len(topics):
        return True
    return trainable >= 2 and answered >= 3 * len(topics)
