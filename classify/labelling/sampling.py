"""Which headline to label next: uncertainty sampling with diversity, and a diverse cold start.

Pure functions over arrays, shared by ``classify label`` (:mod:`classify.labelling.session`) and the
simulation in ``bench/active.py``, so that the benchmark measures the order the page really uses.

- :func:`uncertainty_order`: smallest *margin* first (the gap between the model's two most likely
  topics; a small gap means the model cannot decide, so the answer teaches it most), while never
  placing two near-duplicates (the same story reworded) within ``window`` places of each other: labelling
  one of them teaches the model what the other would. Given the labels per topic so far, half of each
  batch is shared among the predicted topics by how few labels each has (:func:`_quota_picks`).
- :func:`diverse_order` (:mod:`classify.labelling._cold_start`): before any model exists (``--topics``
  with no model), typical headlines from different regions of the pool: one representative per
  k-means cluster, largest cluster first, then k-means++-style sampling.
- :func:`selection_proba` (:mod:`classify.labelling._selection`): the probabilities that rank by
  uncertainty once answers exist: a linear SVM fitted on the answers' pool vectors (which know the
  whole pool's vocabulary), not the suggestion model's probabilities.

Similarity is :func:`classify.evaluation.groups.similarity_vectors` (mean of word and character TF-IDF
cosines) and a near-duplicate is what :data:`classify.evaluation.groups.DUPLICATE_THRESHOLD` says it
is, as in evaluation.
Simulated labelling with these orders: ``bench/results/active.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from classify.labelling._cold_start import cold_start_over as cold_start_over
from classify.labelling._cold_start import diverse_order as diverse_order
from classify.labelling._selection import SELECTION_C as SELECTION_C
from classify.labelling._selection import selection_proba as selection_proba

if TYPE_CHECKING:
    import numpy as np

#: Default number of recent picks a new pick must not near-duplicate (one refit's batch of answers).
DIVERSITY_WINDOW = 10
#: How far down the margin ranking the diversity check looks (as a multiple of ``limit``); beyond it
#: the order is by margin alone, and a refit re-ranks long before the page gets there.
_LOOKAHEAD = 4


def vectors(texts: Sequence[str]) -> Any:
    """Unit-length sparse vectors whose dot product is the near-duplicate similarity."""
    from classify.evaluation.groups import similarity_vectors

    return similarity_vectors(texts)


def duplicate_threshold() -> float:
    """The similarity from which two headlines are one story (shared with evaluation)."""
    from classify.evaluation.groups import DUPLICATE_THRESHOLD

    return DUPLICATE_THRESHOLD


def margins(proba: np.ndarray) -> np.ndarray:
    """Gap between the highest and the second-highest probability of each row (0: undecided).

    Parameters
    ----------
    proba
        ``(n, k)`` probabilities; with one column the margin is 1 (nothing to choose between).
    """
    import numpy as np

    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2:
        raise ValueError(f"proba must be 2-dimensional, got shape {proba.shape}")
    if proba.shape[1] < 2:
        return np.ones(proba.shape[0])
    top2 = np.partition(proba, -2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def uncertainty_order(
    proba: np.ndarray,
    vecs: Any,
    candidates: Sequence[int] | np.ndarray,
    *,
    limit: int = 200,
    window: int = DIVERSITY_WINDOW,
    threshold: float | None = None,
    batch: int = 0,
    seed: int = 0,
    counts: Sequence[int] | None = None,
) -> list[int]:
    """Order ``candidates`` smallest margin first, keeping near-duplicates apart.

    Parameters
    ----------
    proba
        ``(n_pool, k)`` probabilities for the whole pool (rows indexed like ``vecs``).
    vecs
        Pool vectors from :func:`vectors`.
    candidates
        Pool indices still to label.
    limit
        The diversity check covers the first ``limit`` places; the rest follow by margin alone.
    window
        A pick is deferred while one of the last ``window`` picks is its near-duplicate.
    threshold
        Similarity from which two headlines are near-duplicates (default: the evaluation's).
    batch
        If positive, the first ``batch`` places (the questions until the next refit) are chosen as
        in diverse mini-batch active learning (Zhdanov 2019): the ``BATCH_POOL * batch`` most
        uncertain candidates are clustered into ``batch`` groups by k-means weighted by uncertainty,
        and the member nearest each centre is asked, most uncertain first. This spreads a batch over
        different kinds of doubt and prefers typical headlines to odd ones.
    seed
        Seed of that k-means.
    counts
        Labels so far per column of ``proba``. If given, the ``batch`` places are shared among the
        topics the candidates are predicted to be (their most likely column) in proportion to
        ``1 / (1 + labels of the topic)``, and each topic's places are filled as above from its own
        ``BATCH_POOL * places`` most uncertain candidates (see :func:`_quota_picks` for why).

    Returns
    -------
    list of int
        Every candidate exactly once; ties by margin keep pool order, so the result is deterministic.
    """
    import numpy as np

    cand = np.unique(np.asarray(candidates, dtype=int))  # sorted: ties keep pool order
    if cand.size == 0:
        return []
    margin = margins(np.asarray(proba)[cand])
    ranked = cand[np.argsort(margin, kind="stable")]
    first: list[int] = []
    if batch > 0 and cand.size > batch:
        if counts is None:
            top = ranked[: BATCH_POOL * batch]
            first = _cluster_picks(top, 1.0 - np.sort(margin)[: len(top)], vecs, batch, seed)
        else:
            # A share of the batch as without counts, the rest shared among predicted topics.
            plain = batch - round(QUOTA_SHARE * batch)
            first = []
            if plain:
                top = ranked[: BATCH_POOL * plain]
                first = _cluster_picks(top, 1.0 - np.sort(margin)[: len(top)], vecs, plain, seed)
            taken = np.isin(cand, first)
            first += _quota_picks(
                cand[~taken],
                np.asarray(proba)[cand[~taken]],
                margin[~taken],
                vecs,
                batch - plain,
                counts,
                seed,
            )
            rank = {int(i): n for n, i in enumerate(ranked)}
            first.sort(key=rank.__getitem__)  # most uncertain first
        chosen = set(first)
        ranked = np.array(first + [int(i) for i in ranked if int(i) not in chosen], dtype=int)
    head = ranked[: max(limit, 1) * _LOOKAHEAD]
    # The spread keeps near-duplicates apart over the batch picks and what follows them alike.
    ordered = _spread(head, vecs, limit=max(limit, len(first)), window=window, threshold=threshold)
    placed = set(ordered)
    return ordered + [int(i) for i in ranked if int(i) not in placed]


#: Candidates per batch place clustered by :func:`uncertainty_order` (Zhdanov's beta): 30 rather than
#: his 10, because a wider net lets the clusters prefer typical doubtful headlines to the odd ones at
#: the very top of the margin ranking; it needed fewer labels in simulated labelling
#: (``bench/results/active.md``).
BATCH_POOL = 30


def _cluster_picks(
    top: np.ndarray, weight: np.ndarray, vecs: Any, batch: int, seed: int, scale: np.ndarray | None = None
) -> list[int]:
    """One pick per k-means cluster of ``top`` (the member nearest the centre), in ``top``'s order.

    ``scale`` (aligned with ``top``) multiplies each member's closeness to its centre before the pick;
    the benchmark's variants use it (``bench/active_variants.py``).
    """
    import warnings

    import numpy as np
    from sklearn.cluster import KMeans

    k = min(batch, len(top))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes when the top holds copies
        km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(vecs[top], sample_weight=weight)
    rank = {int(i): n for n, i in enumerate(top)}
    picks = []
    for c in range(k):
        members = np.flatnonzero(km.labels_ == c)
        if members.size:
            closeness = np.asarray(vecs[top[members]] @ km.cluster_centers_[c]).ravel()
            if scale is not None:
                closeness = closeness * scale[members]
            picks.append(int(top[members[int(np.argmax(closeness))]]))
    return sorted(picks, key=rank.__getitem__)


#: Share of a batch given to predicted-topic quotas when label counts are known (see
#: :func:`_quota_picks`); the rest is clustered from the most uncertain candidates as without counts.
QUOTA_SHARE = 0.5


def _quota_picks(
    cand: np.ndarray,
    proba: np.ndarray,
    margin: np.ndarray,
    vecs: Any,
    batch: int,
    counts: Sequence[int],
    seed: int,
) -> list[int]:
    """A batch shared among predicted topics by how few labels each has, clustered within each.

    Why: macro-F1 weighs every topic alike, and plain uncertainty keeps asking about the topics the
    model already confuses most, which on an unbalanced pool are the big ones; a rare topic's few
    labels then decide its F1. Giving each predicted topic ``batch / (1 + labels)``-proportional
    places asks more about the rare ones without giving up uncertainty inside each topic; the other
    half of the batch (:data:`QUOTA_SHARE`) stays with plain uncertainty, which is what a balanced
    pool needs. In simulated labelling it helped most on unbalanced topics, and other shares or
    picking schemes did no better (``bench/results/active.md``, ``bench/results/active_variants.md``).

    Parameters
    ----------
    cand
        Candidate pool indices (sorted), rows of ``proba`` and ``margin`` in the same order.
    proba, margin
        The candidates' probabilities and margins.
    counts
        Labels so far per column of ``proba``.
    """
    import numpy as np

    k = proba.shape[1]
    if len(counts) != k:
        raise ValueError(f"counts has {len(counts)} entries for {k} topics")
    pred = proba.argmax(axis=1)
    need = 1.0 / (1.0 + np.asarray(counts, dtype=float))
    need = need * (np.bincount(pred, minlength=k) > 0)
    share = need / need.sum() * batch
    slots = np.floor(share).astype(int)
    for j in np.argsort(-(share - slots), kind="stable")[: batch - int(slots.sum())]:
        slots[j] += 1  # largest remainders first
    picks: list[int] = []
    for j in np.flatnonzero(slots):
        members = np.flatnonzero(pred == j)
        members = members[np.argsort(margin[members], kind="stable")]  # most uncertain first
        n = int(min(slots[j], len(members)))
        if len(members) > n:
            top = members[: BATCH_POOL * n]
            picks += _cluster_picks(cand[top], 1.0 - margin[top], vecs, n, seed)
        else:
            picks += [int(i) for i in cand[members]]
    return picks


def labelling_order(
    proba: np.ndarray,
    vecs: Any,
    candidates: Sequence[int] | np.ndarray,
    refit_every: int,
    counts: Sequence[int] | None = None,
    seed: int = 0,
) -> list[int]:
    """The order ``classify label`` asks in once a model exists (the benchmark calls this too).

    The ``refit_every`` questions until the next refit are a diverse mini-batch of the most
    uncertain headlines (see ``batch`` in :func:`uncertainty_order`); with ``counts``, half of them
    (:data:`QUOTA_SHARE`) are shared among the predicted topics by how few labels each has
    (:func:`_quota_picks`). After them, smallest margin first. No question near-duplicates any of the
    last ``min(refit_every, 10)``, checked over the next ``max(50, 3 * refit_every)`` places (a refit
    re-ranks sooner).

    Parameters
    ----------
    proba, vecs, candidates
        As in :func:`uncertainty_order`.
    refit_every
        Answers until the next refit: the size of the batch.
    counts
        Labels so far per column of ``proba`` (``classify label`` passes them; ``None``: no quotas,
        the order before they were measured to help).
    seed
        Seed of the batch's k-means: the same inputs and seed give the same order.
    """
    return uncertainty_order(
        proba,
        vecs,
        candidates,
        limit=max(50, 3 * refit_every),
        window=min(refit_every, DIVERSITY_WINDOW),
        batch=refit_every,
        counts=counts,
        seed=seed,
    )


def _spread(ranked: np.ndarray, vecs: Any, *, limit: int, window: int, threshold: float | None) -> list[int]:
    """Greedy pass over ``ranked``: take the best item not near-duplicating a recent pick."""
    import numpy as np

    cut = duplicate_threshold() if threshold is None else threshold
    sims = np.asarray((vecs[ranked] @ vecs[ranked].T).todense()) if len(ranked) else np.zeros((0, 0))
    waiting = list(range(len(ranked)))  # positions in `ranked`, best first
    picked: list[int] = []
    while waiting and len(picked) < limit:
        recent = picked[-window:] if window > 0 else []
        # The best item far enough from the recent picks; if every one left is a near-duplicate of
        # a recent pick, the best anyway.
        n = next((n for n, pos in enumerate(waiting) if not recent or sims[pos, recent].max() < cut), 0)
        picked.append(waiting.pop(n))
    return [int(ranked[p]) for p in picked + waiting]
