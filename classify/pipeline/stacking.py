"""Several linear views of the same sparse features, blended per data set, as one linear model.

:class:`StackedLinear` fits a few linear classifiers ("views", fitted in
:mod:`classify.pipeline._stack_views`) on the same feature matrix:

``svm``
    LinearSVC, one-vs-rest, balanced class weights (the previous default model).
``nbsvm``
    NB-SVM (Wang and Manning 2012): for each topic, every feature is scaled by its naive Bayes
    log-count ratio (how much more often it occurs in the topic than outside it, on binarised
    counts), and a binary LinearSVC is fitted on the scaled features. The ratio is a prior on which
    features matter, which helps most when there are few rows per feature, as with headlines.
``mnb``
    Multinomial naive Bayes on the same (TF-IDF) values: a strong model for small data, a weak one
    for large or unbalanced data.
``emb``
    LinearSVC on static word vectors distilled from MiniLM (:mod:`classify.pipeline.embeddings`): each
    headline's TF-IDF-weighted sum of its words' vectors, ``X @ P``, which is linear in the
    features, so this view too is a linear model over them. It brings what the encoder knows about
    words that the training rows never put under a topic. Needs ``fit(..., word_projection=P)``.

It then learns how to blend them on *cross-validated* scores: each view is fitted on ``folds - 1``
folds of the training rows and scores the held-out fold, and a multinomial logistic regression
(balanced class weights) is fitted on the held-out scores of all views. So the blend adapts to
each data set (naive Bayes gets a large weight on small balanced sets and a small one on large
unbalanced sets, where a fixed blend hurt), and the weights are learnt on scores the views did not
see their own training rows for. Finally the views are refitted on all rows.

Every view's score is linear in the features (``X @ W_v.T + b_v``) and so is the logistic layer on
top of them, so the whole blend collapses, exactly, into one linear model
``X @ coef_.T + intercept_``: prediction costs what one linear model costs, the probabilities are
the logistic layer's own (a softmax of that score), and :mod:`classify.prediction.explain` reads ``coef_``
as before, with exact per-feature contributions.

The fitted state is only numpy arrays (``classes_``, ``coef_``, ``intercept_``, ``blend_``) and the
constructor's scalars and strings, so a model file can store it as arrays plus JSON.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from classify.pipeline._stack_views import VIEW_FITS as _VIEW_FITS
from classify.pipeline._stack_views import nb_log_ratios
from classify.pipeline.settings import parse_views

__all__ = ["StackedLinear", "fit_view_weights", "macro_f1_shifts", "nb_log_ratios"]


def fit_view_weights(scores: np.ndarray, y: np.ndarray, est: StackedLinear) -> tuple[np.ndarray, np.ndarray]:
    """The ``views`` blend: ``softmax(sum_v a_v * scores[:, v, :] + bias)`` fitted by weighted log-loss.

    Parameters
    ----------
    scores
        Held-out scores, shape (n_rows, n_views, n_classes).
    y
        Class indices of the rows.
    est
        Gives ``class_weight`` (``"balanced"``: each class's rows weigh the same in total) and
        ``meta_C`` (the L2 penalty on the view weights is ``|a|^2 / (2 meta_C)``, as in
        LogisticRegression; it keeps the weights finite when the held-out scores separate the
        classes perfectly, as on tiny data).

    Returns
    -------
    weights, bias
        One non-negative weight per view, one bias per class.
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    n, n_views, k = scores.shape
    counts = np.bincount(y, minlength=k)
    sample = (n / (k * counts))[y] if est.class_weight == "balanced" else np.ones(n)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, bias = theta[:n_views], theta[n_views:]
        z = np.einsum("nvk,v->nk", scores, a) + bias
        lse = logsumexp(z, axis=1)
        value = float(-(sample * (z[np.arange(n), y] - lse)).sum() + 0.5 * (a @ a) / est.meta_C)
        # d loss / d z = sample * (softmax(z) - onehot)
        dz = sample[:, None] * (np.exp(z - lse[:, None]) - onehot)
        grad_a = np.einsum("nvk,nk->v", scores, dz) + a / est.meta_C
        return value, np.concatenate([grad_a, dz.sum(axis=0)])

    if not est.blend_bias:
        # Weights only: the biases stay at zero, so the blend cannot shift the classes' priors that the
        # (balanced) views already set, which unbalanced sets need (bench/results/accuracy.md).
        def loss_weights(a: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = loss(np.concatenate([a, np.zeros(k)]))
            return value, grad[:n_views]

        result = minimize(
            loss_weights, np.ones(n_views), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * n_views
        )
        return result.x, np.zeros(k)
    start = np.concatenate([np.ones(n_views), np.zeros(k)])
    bounds = [(0.0, None)] * n_views + [(None, None)] * k
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:n_views], result.x[n_views:]


def _macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Macro-F1 over classes ``0 .. k-1`` (a class never predicted nor present counts as 0)."""
    tp = np.bincount(y[pred == y], minlength=k)
    return float(
        np.mean(2 * tp / np.maximum(np.bincount(y, minlength=k) + np.bincount(pred, minlength=k), 1))
    )


def macro_f1_shifts(scores: np.ndarray, y: np.ndarray, passes: int = 3, steps: int = 10) -> np.ndarray:
    """Per-class shifts of held-out scores that raise their macro-F1, by coordinate ascent.

    Log-loss fits the probabilities, not the decision between a rare class and a common one;
    macro-F1 weighs every class the same, so moving a class's threshold can pay. Each pass tries,
    class by class, shifts of up to one standard deviation of the scores in ``2 * steps`` steps and
    keeps one only if it raises macro-F1 by more than one row's worth, so that noise on small data
    moves nothing.
    """
    n, k = scores.shape
    shift = np.zeros(k)
    best = _macro_f1(y, scores.argmax(axis=1), k)
    grid = np.linspace(-1.0, 1.0, 2 * steps + 1) * float(scores.std())
    for _ in range(passes):
        moved = False
        for c in range(k):
            for d in grid:
                trial = shift.copy()
                trial[c] += d
                value = _macro_f1(y, (scores + trial).argmax(axis=1), k)
                if value > best + 1.0 / n:
                    best, shift, moved = value, trial, True
        if not moved:
            break
    return shift


def _best_C(
    held: Mapping[tuple[str, float], np.ndarray],
    view: str,
    candidates: Sequence[float],
    y: np.ndarray,
    k: int,
) -> float:
    """The candidate ``C`` whose held-out scores give the view its best macro-F1 (ties: the first)."""
    from sklearn.metrics import f1_score

    if len(candidates) == 1:
        return float(candidates[0])
    scores = [
        f1_score(y, held[(view, c)].argmax(axis=1), average="macro", labels=np.arange(k), zero_division=0)
        for c in candidates
    ]
    return float(candidates[int(np.argmax(scores))])


class StackedLinear(ClassifierMixin, BaseEstimator):
    """Linear views blended by a logistic layer learnt on cross-validated scores, as one linear model.

    Parameters
    ----------
    views
        Views to blend, joined by ``+`` (from ``svm``, ``nbsvm``, ``mnb``, ``emb``; see the module
        docstring).
    C
        Regularisation of the SVM views (LinearSVC's ``C``).
    nb_alpha
        Smoothing of NB-SVM's log-count ratios.
    mnb_alpha
        Smoothing of the multinomial naive Bayes view. Small: TF-IDF values are far below counts.
    meta_C
        Regularisation of the logistic layer that blends the views.
    blend
        ``"views"``: the logistic layer has one non-negative weight per view (shared by all classes)
        and one bias per class, which is all a few hundred held-out rows can tell reliably, keeps
        every view pointing the way it was fitted, and doubles as temperature scaling of the
        probabilities. ``"classes"``: a full multinomial logistic regression on all views' scores
        of all classes (n_classes x n_views * n_classes weights), which can overfit small data.
    folds
        Folds of the cross-validation that produces the scores the blend is learnt on (fewer if the
        smallest class has fewer rows; with a class of one row there is no blend to learn, and the
        first view is used alone).
    class_weight
        ``"balanced"`` (each class weighs the same in every fit, for macro-F1) or ``None``.
    random_state
        Seed of the fold assignment.
    blend_bias
        Whether the ``views`` blend learns one bias per class. Without them (``False``) it learns the
        view weights only and keeps the class priors the balanced views set, which is what an
        unbalanced set with many topics needs for macro-F1.
    view_loss
        ``"squared_hinge"`` (LinearSVC) or ``"logistic"`` (logistic regression at 20x ``C``) for the
        ``svm`` and ``nbsvm`` views.
    C_grid
        If given, candidate values of ``C`` for the ``svm`` and ``nbsvm`` views: each view takes the
        one whose held-out scores (the ones the blend is learnt on) give the best macro-F1, so the
        regularisation adapts per view and per data set at the cost of one fit per candidate.
    f1_bias
        Shift the ``views`` blend's per-class biases further, to the values that maximise the
        macro-F1 of the held-out blended scores (:func:`macro_f1_shifts`), instead of leaving them
        where log-loss puts them. It lowered BBC's macro-F1 (``bench/results/accuracy.md``), so it is
        off by default and no pipeline setting reaches it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_classes, n_features)
        Weights of the collapsed model: the score of class ``c`` is ``X @ coef_[c] + intercept_[c]``.
    intercept_ : ndarray of shape (n_classes,)
    blend_ : ndarray of shape (n_classes, n_views * n_classes)
        The logistic layer's weights on the views' scores (view-major columns), for inspection.
    view_C_ : dict of str to float
        The ``C`` each view was fitted with (chosen from ``C_grid`` when given).
    """

    def __init__(
        self,
        views: str = "svm+nbsvm+mnb",
        C: float = 0.5,
        nb_alpha: float = 1.0,
        mnb_alpha: float = 0.1,
        meta_C: float = 1.0,
        blend: str = "views",
        folds: int = 5,
        class_weight: str | None = "balanced",
        random_state: int = 0,
        blend_bias: bool = True,
        view_loss: str = "squared_hinge",
        C_grid: tuple[float, ...] | None = None,
        f1_bias: bool = False,
    ) -> None:
        self.views = views
        self.C = C
        self.nb_alpha = nb_alpha
        self.mnb_alpha = mnb_alpha
        self.meta_C = meta_C
        self.blend = blend
        self.folds = folds
        self.class_weight = class_weight
        self.random_state = random_state
        self.blend_bias = blend_bias
        self.view_loss = view_loss
        self.C_grid = C_grid
        self.f1_bias = f1_bias

    def _with_C(self, C: float) -> StackedLinear:
        """This estimator's settings with another ``C`` (what the view fits read)."""
        other = copy.copy(self)
        other.C = C
        return other

    def _fit_views(
        self, names: Sequence[str], X: sp.csr_matrix, y: np.ndarray, k: int, view_C: Mapping[str, float]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        return [_VIEW_FITS[v](X, y, k, self._with_C(view_C[v])) for v in names]

    def _candidates(self, name: str) -> tuple[float, ...]:
        """Values of ``C`` to try for one view (only the SVM views read ``C``)."""
        if self.C_grid and name in ("svm", "nbsvm"):
            return tuple(float(c) for c in self.C_grid)
        return (float(self.C),)

    def fit(self, X: Any, y: Sequence[Any], word_projection: sp.spmatrix | None = None) -> StackedLinear:
        """Fit the views on cross-validation folds, the blend on their held-out scores, then the
        views on all rows; collapse everything into ``coef_`` and ``intercept_``.

        Parameters
        ----------
        X
            Feature matrix (sparse or dense), non-negative (naive Bayes needs it).
        y
            Class labels; at least two classes.
        word_projection
            The (n_features, dims) map of :func:`classify.pipeline.embeddings.word_projection`, which the
            ``emb`` view needs (and the others ignore). A fit-time input, not a setting: it depends
            on the fitted vocabulary, and the fitted model does not keep it.
        """
        names = parse_views(self.views)
        if self.view_loss not in ("squared_hinge", "logistic"):
            raise ValueError(f"unknown view_loss {self.view_loss!r}: choose 'squared_hinge' or 'logistic'")
        X = sp.csr_matrix(X, dtype=np.float64)
        if "emb" in names:
            if word_projection is None or word_projection.shape[0] != X.shape[1]:
                raise ValueError("the emb view needs word_projection with one row per feature column")
            self._projection = sp.csr_matrix(word_projection, dtype=np.float64)
        try:
            return self._fit(X, y, names)
        finally:
            self.__dict__.pop("_projection", None)  # needed while fitting only: not part of the model

    def _fit(self, X: sp.csr_matrix, y: Sequence[Any], names: tuple[str, ...]) -> StackedLinear:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        classes, yi = np.unique(np.asarray(y), return_inverse=True)
        k = len(classes)
        if k < 2:
            raise ValueError(f"StackedLinear needs at least two classes, got {k}")
        if X.nnz and X.data.min() < 0 and "mnb" in names:
            raise ValueError("the mnb view needs non-negative features")
        smallest = int(np.bincount(yi).min())
        folds = min(self.folds, smallest)
        view_C = {v: float(self.C) for v in names}
        if (len(names) == 1 and not self.C_grid) or folds < 2:
            # Nothing to blend, or too few rows of some class to learn a blend: the first view alone.
            W, b = self._fit_views(names[:1], X, yi, k, view_C)[0]
            blend = np.hstack([np.eye(k), np.zeros((k, k * (len(names) - 1)))])
            self._set_fitted(classes, W, b, blend, view_C)
            return self
        # Held-out scores of every view with every candidate C: (view, C) -> (n_rows, k).
        held: dict[tuple[str, float], np.ndarray] = {
            (v, c): np.zeros((X.shape[0], k)) for v in names for c in self._candidates(v)
        }
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        for train, test in splitter.split(np.zeros(len(yi)), yi):
            for v, c in held:
                W, b = _VIEW_FITS[v](X[train], yi[train], k, self._with_C(c))
                held[(v, c)][test] = X[test] @ W.T + b
        for v in names:
            view_C[v] = _best_C(held, v, self._candidates(v), yi, k)
        held_out = np.hstack([held[(v, view_C[v])] for v in names])
        if self.blend == "views":
            stacked_scores = held_out.reshape(len(yi), len(names), k)
            weights, bias = fit_view_weights(stacked_scores, yi, self)
            if self.f1_bias:
                bias = bias + macro_f1_shifts(np.einsum("nvk,v->nk", stacked_scores, weights) + bias, yi)
            A = np.hstack([w * np.eye(k) for w in weights])
            a0 = bias
        elif self.blend == "classes":
            meta = LogisticRegression(C=self.meta_C, class_weight=self.class_weight, max_iter=5000)
            meta.fit(held_out, yi)
            A, a0 = meta.coef_, meta.intercept_
            if k == 2:  # one row for the second class: the same probabilities as a softmax of [-s/2, s/2]
                A, a0 = np.vstack([-A[0], A[0]]) / 2, np.array([-a0[0], a0[0]]) / 2
        else:
            raise ValueError(f"unknown blend {self.blend!r}: choose 'views' or 'classes'")
        fitted = self._fit_views(names, X, yi, k, view_C)
        # score = A @ concat_v(X @ W_v.T + b_v) + a0 = X @ (sum_v A_v @ W_v).T + (sum_v A_v @ b_v + a0)
        coef = np.zeros((k, X.shape[1]))
        intercept = a0.astype(np.float64).copy()
        for i, (W, b) in enumerate(fitted):
            A_v = A[:, i * k : (i + 1) * k]
            coef += A_v @ W
            intercept += A_v @ b
        self._set_fitted(classes, coef, intercept, A, view_C)
        return self

    def _set_fitted(
        self,
        classes: np.ndarray,
        coef: np.ndarray,
        intercept: np.ndarray,
        blend: np.ndarray,
        view_C: Mapping[str, float],
    ) -> None:
        self.classes_ = classes
        self.view_C_ = dict(view_C)
        self.coef_ = np.ascontiguousarray(coef)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        self.blend_ = np.asarray(blend, dtype=np.float64)
        self.n_features_in_ = coef.shape[1]

    def decision_function(self, X: Any) -> np.ndarray:
        """Score of each class (the logistic layer's logits), shape (n_samples, n_classes)."""
        check_is_fitted(self, "coef_")
        scores = X @ self.coef_.T
        return np.asarray(scores) + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the softmax of :meth:`decision_function`."""
        from scipy.special import softmax

        return softmax(self.decision_function(X), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest score."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]
