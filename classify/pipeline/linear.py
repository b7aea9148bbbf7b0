"""The pipeline's classifier: a linear model over the features, with temperature-scaled probabilities.

:class:`TopicClassifier` fits scikit-learn's ``LinearSVC`` (or ``LogisticRegression``) and keeps only
what prediction needs as plain arrays: one weight row and one intercept per topic, and a temperature.
Its probabilities are ``softmax(scores / temperature)``, which never changes the ranking of topics (as
Platt's per-class sigmoids can on small folds).

Why not ``CalibratedClassifierCV(method="temperature")``, which computes the same thing: it fits the
SVM once per calibration fold and once more on all rows, four fits where a large training set needs
one (a held-out slice calibrates as well when it holds tens of thousands of rows), and what it keeps
is a scikit-learn object graph that only pickle can store. The arrays here are what a model file
holds (:mod:`classify.pipeline.modelfile`), readable by any version of scikit-learn, or none.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from classify.pipeline.runtime import LinearScores, softmax, weights_layout
from classify.pipeline.runtime import scores as _scores
from classify.progress import report

#: Above this many training rows the SVM is fitted once, by stochastic gradient descent, and the
#: temperature on a held-out slice, instead of by liblinear once per calibration fold and once on all
#: rows: on large data five epochs of SGD reach the same macro-F1 in a quarter of the time.
#: High enough that every benchmark set and the default model stay on the exact path: at 20,000 the
#: default model took the SGD path and lost 2-3 macro-F1 points (bench/default_model.py).
HOLDOUT_ABOVE = 50_000
#: Epochs of SGD on large data.
SGD_EPOCHS = 5
#: Share of the rows held out to fit the temperature on large data, and the most rows it takes.
HOLDOUT_FRACTION = 0.1
HOLDOUT_MAX = 50_000
#: Folds for the cross-validated scores on small data (fewer when a topic has fewer rows).
CALIBRATION_FOLDS = 3


class TopicClassifier(ClassifierMixin, BaseEstimator, LinearScores):
    """Linear topic classifier with probabilities from temperature scaling.

    Parameters
    ----------
    loss
        ``svm``: LinearSVC (squared hinge, balanced class weights), probabilities by temperature
        scaling; ``logreg``: multinomial logistic regression (balanced), its own probabilities;
        ``stack``: :class:`classify.pipeline.stacking.StackedLinear`'s views blended and collapsed into one
        linear model.
    C
        Inverse regularisation strength of the SVM; logistic regression uses 20x this, which puts
        its optimum near the SVM's on headline data.
    random_state
        Seed of the held-out slice on large data.
    views
        The views ``stack`` blends (see :class:`~classify.pipeline.settings.Settings`).
    blend_bias
        Whether ``stack``'s blend learns one bias per topic (see
        :class:`~classify.pipeline.settings.Settings`).

    Attributes
    ----------
    classes_ : ndarray of str
        Topics, in column order of :meth:`predict_proba`.
    coef_ : ndarray of shape (n_topics, n_features), float32
        One weight row per topic (two rows for two topics, so that every topic has its own).
    intercept_ : ndarray of shape (n_topics,), float32
    temperature_ : float
        Scores are divided by it before the softmax.
    calibration_ : str
        How the temperature was fitted: ``cross-validated scores``, ``held-out slice`` (large data:
        the SVM is fitted by SGD on the other rows) or ``none`` (logistic regression).
    heldout_ : tuple of (ndarray, ndarray) or None
        The calibrated probabilities of rows the weights did not see (the calibration's folds or
        slice) and those rows' topic codes; ``None`` where the fit has none (``logreg``, ``stack``).
        Training keeps its model's reference statistics from them; model files do not store them.
    """

    def fit(
        self, X: Any, y: Any, word_projection: Any = None, word_vectors: float = 0.0, groups: Any = None
    ) -> TopicClassifier:
        """Fit on features ``X`` (sparse) and topics ``y``.

        Parameters
        ----------
        X, y
            Features and topics.
        word_projection
            The (n_features, dims) map of :func:`classify.pipeline.embeddings.word_projection`: what the
            stack's ``emb`` view needs (see :meth:`classify.pipeline.stacking.StackedLinear.fit`), and what
            ``word_vectors`` reads.
        word_vectors
            If positive (``svm`` and ``logreg``), the static word vectors ``X @ P``, standardised and
            scaled to a norm of about ``word_vectors``, are fitted as extra columns beside ``X``; since
            they are linear in ``X``, their weights are then folded back onto ``X``'s columns
            (:func:`fold_vector_columns`), so the fitted model has ``X``'s width and nothing else.
        groups
            Rows of one group (copies of one headline, one per topic, in multi-label training) are
            kept in one calibration fold, so that held-out probabilities are truly held out.

        With ``svm``, the held-out probabilities the temperature was fitted on are kept in
        ``oof_proba_`` (rows ``oof_rows_``; not saved in model files) for the conformal calibration.
        """
        if word_vectors > 0 and self.loss != "stack":
            if word_projection is None:
                raise ValueError("word_vectors needs word_projection")
            columns, widened = VectorColumns.fit_append(X, word_projection, word_vectors)
            self.fit(widened, y, groups=groups)
            coef, intercept = columns.fold(np.asarray(self.coef_, dtype=np.float64), self.intercept_)
            self.coef_ = weights_layout(coef)
            self.intercept_ = np.asarray(intercept, dtype=np.float32)
            return self
        labels = np.asarray([str(t) for t in y])
        classes, codes = np.unique(labels, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"need at least 2 topics, got {len(classes)}")
        counts = np.bincount(codes)
        folds = min(CALIBRATION_FOLDS, int(counts.min()))
        loss = self.loss
        self.oof_proba_: np.ndarray | None = None
        self.oof_rows_: np.ndarray | None = None
        heldout = None
        if loss == "svm" and folds < 2 and len(codes) <= HOLDOUT_ABOVE:
            # A topic with one row cannot be calibrated on held-out scores: logistic regression gives
            # probabilities without them.
            loss = "logreg"
        if loss == "logreg":
            coef, intercept = self._fit_linear("logreg", X, codes)
            temperature, how = 1.0, "none"
        elif loss == "stack":
            from classify.pipeline.stacking import StackedLinear

            # The blend is learnt on cross-validated scores by log loss, so its softmax is already
            # calibrated: the collapsed weights are kept as they are, at temperature 1.
            stacked = StackedLinear(
                views=self.views, C=self.C, random_state=self.random_state, blend_bias=self.blend_bias
            )
            stacked.fit(X, codes.tolist(), word_projection=word_projection)
            coef, intercept = stacked.coef_, stacked.intercept_
            temperature, how = 1.0, "stack blend"
        elif loss == "svm":
            if len(codes) > HOLDOUT_ABOVE:
                fit_rows, held = self._holdout(codes, groups)
                coef, intercept = self._fit_linear("sgd", X[fit_rows], codes[fit_rows], len(classes))
                scores = _scores(X[held], coef, intercept)
                temperature, how = fit_temperature(scores, codes[held]), "held-out slice"
                self.oof_rows_ = held
                heldout = (softmax(scores / temperature).astype(np.float32), codes[held])
            else:
                from sklearn.model_selection import StratifiedKFold

                scores = np.zeros((len(codes), len(classes)), dtype=np.float64)
                splits = (
                    StratifiedKFold(n_splits=folds).split(codes, codes)
                    if groups is None
                    else group_folds(codes, groups, folds, self.random_state)
                )
                for number, (train_idx, test_idx) in enumerate(splits, start=1):
                    report(f"calibrating {number}/{folds}")
                    c, b = self._fit_linear("svm", X[train_idx], codes[train_idx], len(classes))
                    scores[test_idx] = _scores(X[test_idx], c, b)
                temperature = fit_temperature(scores, codes)
                heldout = (softmax(scores / temperature).astype(np.float32), codes)
                coef, intercept = self._fit_linear("svm", X, codes)
                how = "cross-validated scores"
            self.oof_proba_ = softmax(scores / temperature)
        else:
            raise ValueError(f"loss={self.loss!r}: expected 'svm', 'logreg' or 'stack'")
        self.classes_ = classes
        self.coef_ = weights_layout(coef)
        self.intercept_ = np.asarray(intercept, dtype=np.float32)
        self.temperature_ = float(temperature)
        self.calibration_ = how
        self.heldout_ = heldout
        return self

    def _holdout(self, codes: np.ndarray, groups: Any = None) -> tuple[np.ndarray, np.ndarray]:
        from sklearn.model_selection import train_test_split

        rows = np.arange(len(codes))
        size = min(HOLDOUT_MAX, max(int(len(codes) * HOLDOUT_FRACTION), 2 * int(codes.max() + 1)))
        if groups is not None:  # whole groups held out: a random share of the groups
            names, group = np.unique(np.asarray(groups), return_inverse=True)
            rng = np.random.default_rng(self.random_state)
            held_groups = rng.random(len(names)) < size / len(codes)
            held = held_groups[group]
            return rows[~held], rows[held]
        fit_rows, held = train_test_split(
            rows, test_size=size, stratify=codes, random_state=self.random_state
        )
        return np.sort(fit_rows), np.sort(held)

    def _fit_linear(
        self, loss: str, X: Any, codes: np.ndarray, n_classes: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Weights and intercepts, one row per class of ``0 .. n_classes - 1`` (zero rows for a class
        absent from ``codes``, so fold models line up with the full one)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression, SGDClassifier
        from sklearn.svm import LinearSVC

        n_classes = n_classes or int(codes.max()) + 1
        if loss == "logreg":
            model: Any = LogisticRegression(C=self.C * 20, class_weight="balanced", max_iter=2000)
        elif loss == "sgd":
            # The SVM's objective, 0.5 |w|^2 + C * sum(loss), is SGD's alpha / 2 |w|^2 + mean(loss)
            # with alpha = 1 / (C n): the same regularisation whatever the number of rows.
            model = SGDClassifier(
                loss="hinge",
                alpha=1.0 / (self.C * len(codes)),
                max_iter=SGD_EPOCHS,
                tol=None,
                class_weight="balanced",
                random_state=self.random_state,
            )
        else:
            model = LinearSVC(C=self.C, class_weight="balanced")
        with warnings.catch_warnings():
            # LinearSVC may not fully converge on odd tiny data; the fit is still usable.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, codes)
        coef = np.asarray(model.coef_, dtype=np.float64)
        intercept = np.asarray(model.intercept_, dtype=np.float64)
        present = model.classes_.astype(int)
        if coef.shape[0] == 1:
            # Two classes: one row, positive for the second. Split it into two opposite rows, so that
            # softmax over the rows gives the same probabilities (a sigmoid of the score).
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.asarray([-intercept[0] / 2, intercept[0] / 2])
        full = np.zeros((n_classes, coef.shape[1]))
        full_b = np.full(n_classes, -1e3)  # an absent class never wins
        full[present], full_b[present] = coef, intercept
        return full, full_b

    def _check_fitted(self) -> None:
        check_is_fitted(self, "coef_")

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state as JSON-ready scalars and plain arrays, for :mod:`classify.pipeline.modelfile`."""
        check_is_fitted(self, "coef_")
        state = {
            "classes": [str(c) for c in self.classes_],
            "temperature": self.temperature_,
            "calibration": self.calibration_,
        }
        return state, {"coef": self.coef_, "intercept": self.intercept_}

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class VectorColumns:
    """Static word vectors as extra, standardised columns: ``(X @ P - mu) / sd * scale``.

    A weight ``w_z`` on these columns scores ``w_z . ((X @ P - mu) / sd * scale)``, which is
    ``((w_z * scale / sd) @ P.T) . x - (w_z * scale / sd) . mu``: :meth:`fold` adds the first part to
    ``X``'s weights and the second to the intercept, exactly.
    """

    def __init__(self, projection: Any, mu: np.ndarray, sd: np.ndarray, scale: float) -> None:
        self.projection, self.mu, self.sd, self.scale = projection, mu, sd, scale

    @classmethod
    def fit(cls, X: Any, projection: Any, norm: float) -> VectorColumns:
        """Standardise on the training rows; ``scale`` brings a row's vector norm to about ``norm``."""
        return cls._fit(X, projection, norm)[0]

    @classmethod
    def fit_append(cls, X: Any, projection: Any, norm: float) -> tuple[VectorColumns, Any]:
        """:meth:`fit`, and :meth:`append` of the same rows, their vectors computed once."""
        columns, Z = cls._fit(X, projection, norm)
        return columns, columns._stack(X, Z)

    @classmethod
    def _fit(cls, X: Any, projection: Any, norm: float) -> tuple[VectorColumns, np.ndarray]:
        import scipy.sparse as sp

        P = sp.csr_matrix(projection, dtype=np.float64)
        columns = cls(P, np.zeros(0), np.ones(0), norm / np.sqrt(P.shape[1]))
        Z = columns._vectors(X)
        columns.mu, columns.sd = Z.mean(axis=0), Z.std(axis=0) + 1e-9
        return columns, Z

    def append(self, X: Any) -> Any:
        """``X`` with the vector columns after its own (sparse, float64)."""
        return self._stack(X, self._vectors(X))

    def _vectors(self, X: Any) -> np.ndarray:
        return np.asarray((X @ self.projection).todense(), dtype=np.float64)

    def _stack(self, X: Any, Z: np.ndarray) -> Any:
        """``[X, (Z - mu) / sd * scale]`` as one CSR matrix, written in place.

        By hand, not ``scipy.sparse.hstack``: that goes through COO copies of both blocks with 64-bit
        row and column arrays, and peaked at 1.3 GB for 100,000 headlines whose result takes 0.4 GB.
        Each row of the result is the row of ``X`` followed by its ``d`` vector columns. ``Z`` (the
        callers' own, just computed) is standardised in place and so overwritten.
        """
        import scipy.sparse as sp

        X = sp.csr_matrix(X)
        n, d = Z.shape
        width = X.shape[1]
        Z -= self.mu
        Z /= self.sd  # in place, in the order of (Z - mu) / sd * scale: the same floats
        Z *= self.scale
        indptr = X.indptr.astype(np.int64) + d * np.arange(n + 1, dtype=np.int64)
        data = np.empty(indptr[-1], dtype=np.float64)
        indices = np.empty(indptr[-1], dtype=np.int32 if width + d < 2**31 else np.int64)
        is_x = np.ones(indptr[-1], dtype=bool)
        vector_at = (indptr[1:] - d)[:, None] + np.arange(d)  # where each row's vector columns go
        is_x[vector_at] = False
        data[is_x], indices[is_x] = X.data, X.indices
        data[vector_at], indices[vector_at] = Z, np.arange(width, width + d)
        return sp.csr_matrix((data, indices, indptr), shape=(n, width + d))

    def fold(self, coef: np.ndarray, intercept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights on ``[X, vectors]`` as weights on ``X`` alone, and the intercept that goes with them."""
        n = self.projection.shape[0]
        Wz = coef[:, n:] * (self.scale / self.sd)
        folded = coef[:, :n] + np.asarray((self.projection @ Wz.T).T)
        return folded, np.asarray(intercept, dtype=np.float64) - Wz @ self.mu


def group_folds(
    codes: np.ndarray, groups: Any, folds: int, random_state: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Calibration folds that keep each group's rows together, stratified by each group's first row.

    scikit-learn's ``StratifiedGroupKFold`` does this too, but scores every group against every fold
    in a Python loop: 45 s more for the default model's 30,000 headlines, against none here.
    """
    from sklearn.model_selection import StratifiedKFold

    _, first, inverse = np.unique(np.asarray(groups), return_index=True, return_inverse=True)
    first_codes = codes[first]
    fold_of = np.empty(len(first), dtype=np.int64)
    with warnings.catch_warnings():
        # A topic that is some groups' second topic only has fewer first rows than folds: fine here.
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        for f, (_, test) in enumerate(splitter.split(first_codes, first_codes)):
            fold_of[test] = f
    row_fold = fold_of[inverse.reshape(-1)]
    return [(np.flatnonzero(row_fold != f), np.flatnonzero(row_fold == f)) for f in range(folds)]


def fit_temperature(scores: np.ndarray, codes: np.ndarray) -> float:
    """The temperature that minimises the log loss of ``softmax(scores / T)`` on held-out scores.

    Searched as ``log(1 / T)`` in [-10, 10], as scikit-learn's temperature scaling does.
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import logsumexp

    if len(codes) == 0:
        return 1.0
    scores = np.asarray(scores, dtype=np.float64)
    rows = np.arange(len(codes))

    def loss(log_beta: float) -> float:
        z = np.exp(log_beta) * scores
        return float(np.mean(logsumexp(z, axis=1) - z[rows, codes]))

    best = minimize_scalar(loss, bounds=(-10.0, 10.0), method="bounded", options={"xatol": 1e-8})
    return float(np.exp(-best.x))
