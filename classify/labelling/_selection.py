"""The selection model: the probabilities that rank the pool by uncertainty once answers exist.

A linear SVM on the pool's own similarity vectors, not the suggestion model's probabilities; the
variants compared in simulated labelling are in ``bench/results/active.md`` and
``bench/results/active_variants.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Regularisation of :func:`selection_proba`'s SVM (scikit-learn's default; the values tried are in
#: ``bench/results/active_variants.md``).
SELECTION_C = 1.0


def selection_proba(
    vecs: Any, labelled: Sequence[int], labels: Sequence[str], topics: Sequence[str]
) -> np.ndarray:
    """Topic probabilities that rank the pool's questions: a linear SVM on the pool's own vectors.

    Why not the probabilities of the model that suggests topics: that pipeline learns its vocabulary
    and IDF from the few answers only, so words no answer has used are invisible to it, and its
    temperature, fitted on a few dozen answers, is noisy. The pool's vectors know every word's rarity
    from the start, and an SVM on them fits in milliseconds. Probabilities are the softmax of the raw
    SVM scores: only their order and the gap between a row's two best matter, so no calibration.

    Parameters
    ----------
    vecs
        Pool vectors from :func:`classify.labelling.sampling.vectors`.
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
