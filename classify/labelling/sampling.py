"""Which headline to label next: uncertainty sampling with diversity, and a diverse cold start.

Pure functions over arrays, shared by ``classify label`` (:mod:`classify.labelling.session`) and the
simulation in ``bench/active.py``, so that the benchmark measures the order the page really uses.

- :func:`uncertainty_order`: smallest *margin* first (the gap between the model's two most likely
  topics; a small gap means the model cannot decide, so the answer teaches it most), while never
  placing two near-duplicates (the same story reworded) within ``window`` places of each other: labelling
  one of them teaches the model what the other would. Given the labels per topic so far, half of each
  batch is shared among the predicted topics by how few labels each has (:func:`_quota_picks`).
- :func:`diverse_order`: before any model exists (``--topics`` with no model), typical headlines from
  different regions of the pool: one representative per k-means cluster, largest cluster first, then
  k-means++-style sampling (probability proportional to the squared distance from everything chosen).

- :func:`selection_proba`: the probabilities that rank by uncertainty once answers exist: a linear
  SVM fitted on the answers' pool vectors (which know the whole pool's vocabulary), not the
  suggestion model's probabilities. It is the variant that won in simulated labelling among those
  measured for issue 14 (every variant is logged in bench/results/active_variants.jsonl).

Similarity is :func:`classify.evaluation.groups.similarity_vectors` (mean of word and character TF-IDF cosines)
and a near-duplicate is what :data:`classify.evaluation.groups.DUPLICATE_THRESHOLD` says it is, as in evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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


#: Candidates per batch place clustered by :func:`uncertainty_order` (Zhdanov's beta). 30 rather than
#: his 10: in simulated labelling (bench/active.py, mean of 3 seeds) it reached random order's
#: 1,000-label macro-F1 on AG News with ~800 labels instead of ~910, and was level on HuffPost (~870
#: against ~850); its curves were higher up to 400 labels on AG News. A wider net lets the clusters
#: prefer typical doubtful headlines to the odd ones at the very top of the margin ranking.
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
    pool needs. Measured in simulated labelling (``python -m bench.active --previous``, seeds 0-2,
    bench/results/active.md), macro-F1 at 600 labels went from 0.316 to 0.326 on HuffPost (19
    unbalanced topics) and from 0.657 to 0.661 on AG News (4 balanced topics), and random order's
    1,000-label score was reached with 700 labels instead of 800 (HuffPost) and 800 instead of 900
    (AG News). On the exploration seeds 3-8 (bench/results/active_variants.md): 0.306 -> 0.332 and
    0.655 -> 0.662. The whole batch by quota did as well on HuffPost but worse on AG News (0.653);
    a share of 0.25 or 0.75 did about as well as 0.5; stochastic batch acquisition (sampling the
    batch by uncertainty instead of clustering the most uncertain) and longer random warm-ups did
    worse on both sets.

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


#: Regularisation of :func:`selection_proba`'s SVM (scikit-learn's default; see the issue-14 log in
#: bench/results/active_variants.jsonl for the values tried).
SELECTION_C = 1.0


def selection_proba(
    vecs: Any, labelled: Sequence[int], labels: Sequence[str], topics: Sequence[str]
) -> np.ndarray:
    """Topic probabilities that rank the pool's questions: a linear SVM on the pool's own vectors.

    Why not the probabilities of the model that suggests topics (the project pipeline refitted on
    the answers): that pipeline learns its vocabulary and IDF from the few answers only, so a word
    no answer has used yet is invisible to it and its margins on headlines made of such words say
    little; and its temperature, fitted on a few dozen answers, is itself noisy. The pool's vectors
    (:func:`vectors`, word and character TF-IDF fitted on the whole unlabelled pool) know every
    word's rarity from the start, and an SVM on them fits in milliseconds. Measured in simulated
    labelling (``python -m bench.active``, mean of 3 seeds, see bench/results/active.md), ranking by
    this model instead of the pipeline's probabilities raised macro-F1 at 600 labels from 0.640 to
    0.657 on AG News and from 0.304 to 0.316 on HuffPost (19 unbalanced topics), and random order's
    1,000-label score was reached at 900 and 800 labels instead of 900 and 900. Logistic regression
    on the same vectors did about as well on AG News but fits too slowly for 19 topics; other C
    values, a two-view committee and BADGE did no better (bench/results/active_variants.md).
    Probabilities are the softmax of the raw SVM scores: only their order and the gap
    between a row's two best matter here, so no calibration is fitted.

    Parameters
    ----------
    vecs
        Pool vectors from :func:`vectors`.
    labelled
        Pool indices of the labelled headlines.
    labels
        Their topics (each must be in ``topics``).
    topics
        Column order of the result; a topic without a label gets a score that never wins.

    Returns
    -------
    numpy.ndarray
        ``(n_pool, len(topics))`` rows summing to 1.
    """
    import warnings

    import numpy as np
    from sklearn.svm import LinearSVC

    if len(labelled) != len(labels):
        raise ValueError(f"{len(labelled)} labelled indices but {len(labels)} labels")
    column = {t: j for j, t in enumerate(topics)}
    unknown = sorted(set(labels) - set(column))
    if unknown:
        raise ValueError(f"labels not among the topics: {', '.join(unknown)}")
    if len(set(labels)) < 2:
        raise ValueError("need labels of at least two topics to rank by uncertainty")
    clf = LinearSVC(C=SELECTION_C, class_weight="balanced", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # liblinear's convergence note on odd tiny sets
        clf.fit(vecs[np.asarray(labelled, dtype=int)], list(labels))
    raw = clf.decision_function(vecs)
    if raw.ndim == 1:  # two topics: one score, positive for classes_[1]
        raw = np.column_stack([-raw, raw])
    scores = np.full((vecs.shape[0], len(column)), -1e3)
    for k, topic in enumerate(clf.classes_):
        scores[:, column[str(topic)]] = raw[:, k]
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


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
