"""The stack's views (private): each fits one linear model on the feature matrix and returns it as
weights ``W`` (n_classes x n_features) and biases ``b``, so that its score is ``X @ W.T + b``.

Every view is linear in the features, which is what lets :class:`classify.pipeline.stacking.StackedLinear`
collapse its blend of them into one linear model; the views are described in its module docstring.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp


class ViewSettings(Protocol):
    """The settings of :class:`~classify.pipeline.stacking.StackedLinear` that the views read."""

    C: float
    nb_alpha: float
    mnb_alpha: float
    class_weight: str | None
    random_state: int
    view_loss: str


def _linear_svc(est: ViewSettings) -> Any:
    """The SVM views' linear model: LinearSVC (squared hinge), or logistic regression if asked."""
    if est.view_loss == "logistic":
        from sklearn.linear_model import LogisticRegression

        # 20x the SVM's C puts logistic regression's optimum near the SVM's on headlines (see linear.py).
        return LogisticRegression(
            C=est.C * 20, class_weight=est.class_weight, max_iter=2000, random_state=est.random_state
        )
    from sklearn.svm import LinearSVC

    # A fixed seed: liblinear shuffles rows, and the same data must give the same model.
    return LinearSVC(C=est.C, class_weight=est.class_weight, random_state=est.random_state)


def _quiet_fit(clf: Any, X: Any, y: np.ndarray) -> Any:
    """Fit, ignoring LinearSVC's convergence warnings (odd tiny folds; the fit is still usable)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def _svm_view(X: sp.csr_matrix, y: np.ndarray, k: int, est: ViewSettings) -> tuple[np.ndarray, np.ndarray]:
    """LinearSVC one-vs-rest: weights (k, n_features) and biases (k,)."""
    clf = _quiet_fit(_linear_svc(est), X, y)
    W, b = np.asarray(clf.coef_, dtype=np.float64), np.asarray(clf.intercept_, dtype=np.float64)
    if k == 2:  # one row, positive for the second class: one score per class, as for k > 2
        W, b = np.vstack([-W[0], W[0]]), np.array([-b[0], b[0]])
    return W, b


def nb_log_ratios(X: sp.csr_matrix, y: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """One-vs-rest naive Bayes log-count ratios on binarised features, one row per class.

    ``r_c = log((p_c / |p_c|_1) / (q_c / |q_c|_1))`` with ``p_c = alpha + `` the count of rows of class
    ``c`` holding each feature and ``q_c`` the same over the other rows (Wang and Manning 2012).
    """
    B = sp.csr_matrix(X, copy=True)
    B.data[:] = 1.0
    onehot = sp.csr_matrix((np.ones(len(y)), (y, np.arange(len(y)))), shape=(k, len(y)))
    inside = np.asarray((onehot @ B).todense(), dtype=np.float64)
    outside = inside.sum(axis=0, keepdims=True) - inside
    p, q = inside + alpha, outside + alpha
    return np.log(p / p.sum(axis=1, keepdims=True)) - np.log(q / q.sum(axis=1, keepdims=True))


def _nbsvm_view(X: sp.csr_matrix, y: np.ndarray, k: int, est: ViewSettings) -> tuple[np.ndarray, np.ndarray]:
    """NB-SVM one-vs-rest: a binary LinearSVC per class on features scaled by that class's ratios.

    The score ``w_c . (r_c * x) + b_c`` is ``(w_c * r_c) . x + b_c``: linear in ``x`` with weights
    ``w_c * r_c``.
    """
    R = nb_log_ratios(X, y, k, est.nb_alpha)
    W = np.zeros_like(R)
    b = np.zeros(k)
    for c in range(k):
        member = (y == c).astype(np.int64)
        clf = _quiet_fit(_linear_svc(est), sp.csr_matrix(X.multiply(R[c])), member)
        W[c] = clf.coef_[0] * R[c]
        b[c] = clf.intercept_[0]
    return W, b


def _mnb_view(X: sp.csr_matrix, y: np.ndarray, k: int, est: ViewSettings) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial naive Bayes joint log-likelihoods, centred over the classes.

    Centring (subtracting the mean over classes of each score) removes a term shared by all
    classes that only grows with the length of the headline: it changes no prediction, and it
    keeps the logistic layer's inputs on a scale comparable with the SVMs'.
    """
    from sklearn.naive_bayes import MultinomialNB

    clf = MultinomialNB(alpha=est.mnb_alpha).fit(X, y)
    W = np.asarray(clf.feature_log_prob_, dtype=np.float64)
    b = np.asarray(clf.class_log_prior_, dtype=np.float64)
    return W - W.mean(axis=0), b - b.mean()


def _emb_view(X: sp.csr_matrix, y: np.ndarray, k: int, est: ViewSettings) -> tuple[np.ndarray, np.ndarray]:
    """LinearSVC on static word vectors ``Z = X @ P`` (standardised), mapped back onto ``X``'s columns.

    ``P`` is the projection :meth:`StackedLinear.fit` was given (see :mod:`classify.pipeline.embeddings`).
    Standardising ``Z`` (``(Z - mu) / sd``) is affine, so the score ``W_d . (Z - mu) / sd + b_d`` is
    ``(W_d / sd) @ P.T . x + (b_d - (W_d / sd) . mu)``: linear in ``x`` with weights ``(W_d / sd) @ P.T``.
    """
    P = getattr(est, "_projection", None)
    if P is None:
        raise ValueError("the emb view needs the word projection: StackedLinear.fit(X, y, word_projection=P)")
    Z = np.asarray((X @ P).todense(), dtype=np.float64)
    mu, sd = Z.mean(axis=0), Z.std(axis=0) + 1e-9
    clf = _quiet_fit(_linear_svc(est), (Z - mu) / sd, y)
    Wd = np.asarray(clf.coef_, dtype=np.float64) / sd
    bd = np.asarray(clf.intercept_, dtype=np.float64) - Wd @ mu
    if k == 2:  # one row, positive for the second class: one score per class, as for k > 2
        Wd, bd = np.vstack([-Wd[0], Wd[0]]), np.array([-bd[0], bd[0]])
    return np.asarray((P @ Wd.T).T), bd


#: View name -> its fit (features, class indices, number of classes, settings) -> (W, b).
VIEW_FITS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "svm": _svm_view,
    "nbsvm": _nbsvm_view,
    "mnb": _mnb_view,
    "emb": _emb_view,
}
