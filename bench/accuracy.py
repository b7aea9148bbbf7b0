"""Which linear model over sparse headline features gets past MiniLM + LogReg?

    python -m bench.accuracy                                # every variant on every set
    python -m bench.accuracy --variants base,nbsvm --sets bbc
    python -m bench.accuracy --fresh                        # ignore cached scores

Every variant is scored on the same folds as ``bench.compare`` (``StratifiedKFold(5, shuffle=True,
random_state=0)``, headline text only), by mean macro-F1 and accuracy over the folds. Scores are cached
per (set, variant, code of the variant) in ``bench/results/accuracy.json`` so that iterating on one
variant does not re-run the others; ``--fresh`` drops the cache. The table is written to
``bench/results/accuracy.md`` (atomically), with MiniLM's figures from ``compare.json`` beside it
when that file has them.

The variants share one feature step per fold (the default ``HeadlineVectorizer``: word 1-2-grams and
character 2-5-grams inside word bounds, each block l2-normalised), so they differ only in the model
on top, except the ones named ``norm-*`` (text normalised before the features) and ``product`` (the
pipeline of :func:`classify.pipeline.model.fit_pipeline`, whatever it is at the time).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from bench.compare import FOLDS, folds_of
from bench.datasets import ROOT, SETS

RESULTS = ROOT / "bench" / "results"

# A variant: (train matrix, train labels, test matrix, context) -> predicted labels.
Variant = Callable[..., np.ndarray]


def _svm(C: float = 0.5, balanced: bool = True) -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(C=C, class_weight="balanced" if balanced else None)


def _fit_predict(clf: Any, X: Any, y: np.ndarray, Xt: Any) -> np.ndarray:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf.predict(Xt)


# ------------------------------------------------------------------------------ model variants


def v_base(X, y, Xt, ctx):
    """The current default model: LinearSVC(C=0.5, balanced) on word + char TF-IDF."""
    return _fit_predict(_svm(), X, y, Xt)


def v_base_c1(X, y, Xt, ctx):
    return _fit_predict(_svm(C=1.0), X, y, Xt)


def v_base_c025(X, y, Xt, ctx):
    return _fit_predict(_svm(C=0.25), X, y, Xt)


def v_logreg(X, y, Xt, ctx):
    from sklearn.linear_model import LogisticRegression

    return _fit_predict(LogisticRegression(C=10, class_weight="balanced", max_iter=2000), X, y, Xt)


def nb_ratios(
    X: Any, y: np.ndarray, classes: np.ndarray, alpha: float = 1.0, binary: bool = True
) -> np.ndarray:
    """One-vs-rest log-count ratios (Wang & Manning 2012), one row per class."""
    B = X.copy()
    if binary:
        B.data[:] = 1.0
    B = sp.csr_matrix(B)
    out = np.empty((len(classes), X.shape[1]), dtype=np.float64)
    total = np.asarray(B.sum(axis=0)).ravel()
    for i, c in enumerate(classes):
        p = np.asarray(B[y == c].sum(axis=0)).ravel() + alpha
        q = total - (p - alpha) + alpha
        out[i] = np.log(p / p.sum()) - np.log(q / q.sum())
    return out


def nbsvm_scores(X, y, Xt, C=0.5, alpha=1.0, beta=1.0, binary=True, balanced=True, loss="svm"):
    """One-vs-rest NB-SVM decision values for Xt (classes sorted)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    classes = np.unique(y)
    R = nb_ratios(X, y, classes, alpha=alpha, binary=binary)
    scores = np.empty((Xt.shape[0], len(classes)))
    for i, c in enumerate(classes):
        Xr = sp.csr_matrix(X.multiply(R[i]))
        yy = (y == c).astype(int)
        if loss == "svm":
            clf = LinearSVC(C=C, class_weight="balanced" if balanced else None)
        else:
            clf = LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=2000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xr, yy)
        w = clf.coef_.ravel()
        if beta != 1.0:  # Wang & Manning's interpolation towards the mean weight
            w = (1 - beta) * np.abs(w).mean() + beta * w
        scores[:, i] = Xt @ (w * R[i]) + clf.intercept_[0]
    return classes, scores


def v_nbsvm(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt)
    return classes[s.argmax(1)]


def v_nbsvm_c01(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt, C=0.1)
    return classes[s.argmax(1)]


def v_nbsvm_c2(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt, C=2.0)
    return classes[s.argmax(1)]


def v_nbsvm_tf(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt, binary=False)
    return classes[s.argmax(1)]


def v_nbsvm_beta(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt, beta=0.25)
    return classes[s.argmax(1)]


def v_nbsvm_a05(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt, alpha=0.5)
    return classes[s.argmax(1)]


def v_nblr(X, y, Xt, ctx):
    classes, s = nbsvm_scores(X, y, Xt, C=4.0, loss="logreg")
    return classes[s.argmax(1)]


VARIANTS: dict[str, Variant] = {
    "base": v_base,
    "base-C1": v_base_c1,
    "base-C0.25": v_base_c025,
    "logreg": v_logreg,
    "nbsvm": v_nbsvm,
    "nbsvm-C0.1": v_nbsvm_c01,
    "nbsvm-C2": v_nbsvm_c2,
    "nbsvm-tf": v_nbsvm_tf,
    "nbsvm-beta0.25": v_nbsvm_beta,
    "nbsvm-a0.5": v_nbsvm_a05,
    "nblr": v_nblr,
}

# ------------------------------------------------------------------------------ views and stacking


def _scores_svm(X, y, Xt, C=0.5, cols=None):
    """Decision values of a LinearSVC (classes sorted), optionally on a column slice."""
    from sklearn.exceptions import ConvergenceWarning

    if cols is not None:
        X, Xt = X[:, cols], Xt[:, cols]
    clf = _svm(C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    s = clf.decision_function(Xt)
    if s.ndim == 1:
        s = np.column_stack([-s, s])
    return s


def _scores_mnb(X, y, Xt, alpha=0.1, complement=False):
    from sklearn.naive_bayes import ComplementNB, MultinomialNB

    clf = ComplementNB(alpha=alpha) if complement else MultinomialNB(alpha=alpha)
    clf.fit(X, y)
    if complement:
        s = Xt @ clf.feature_log_prob_.T
        return s - s.mean(1, keepdims=True)
    s = clf.predict_joint_log_proba(Xt)
    return s - s.mean(1, keepdims=True)


def _scores_lsa(X, y, Xt, dims=300, C=1.0):
    """LinearSVC on a truncated SVD of the features (linear in X: scores = X @ V @ W.T + b)."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    svd = TruncatedSVD(n_components=min(dims, X.shape[0] - 1), random_state=0).fit(X)
    Z, Zt = normalize(svd.transform(X)), normalize(svd.transform(Xt))
    return _scores_svm(Z, y, Zt, C=C)


VIEWS: dict[str, Callable[..., np.ndarray]] = {
    "lsa": lambda X, y, Xt, ctx: _scores_lsa(X, y, Xt),
    "svm": lambda X, y, Xt, ctx: _scores_svm(X, y, Xt),
    "svm-word": lambda X, y, Xt, ctx: _scores_svm(X, y, Xt, C=0.5, cols=slice(0, ctx["n_word"])),
    "svm-char": lambda X, y, Xt, ctx: _scores_svm(X, y, Xt, C=0.5, cols=slice(ctx["n_word"], None)),
    "nbsvm": lambda X, y, Xt, ctx: nbsvm_scores(X, y, Xt)[1],
    "nbsvm-word": lambda X, y, Xt, ctx: nbsvm_scores(X[:, : ctx["n_word"]], y, Xt[:, : ctx["n_word"]])[1],
    "nbsvm-char": lambda X, y, Xt, ctx: nbsvm_scores(X[:, ctx["n_word"] :], y, Xt[:, ctx["n_word"] :])[1],
    "mnb": lambda X, y, Xt, ctx: _scores_mnb(X, y, Xt),
    "cnb": lambda X, y, Xt, ctx: _scores_mnb(X, y, Xt, alpha=0.3, complement=True),
}


def stack(X, y, Xt, ctx, views, meta="lr", inner=5, meta_C=1.0, balanced=True):
    """Views' decision values combined by a logistic layer fitted on inner cross-validated values."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    classes = np.unique(y)
    oof = np.zeros((X.shape[0], len(classes) * len(views)))
    skf = StratifiedKFold(n_splits=inner, shuffle=True, random_state=1)
    for tr, te in skf.split(np.zeros(len(y)), y):
        oof[te] = np.hstack([VIEWS[v](X[tr], y[tr], X[te], ctx) for v in views])
    test = np.hstack([VIEWS[v](X, y, Xt, ctx) for v in views])
    if meta == "lr":
        clf = LogisticRegression(C=meta_C, class_weight="balanced" if balanced else None, max_iter=5000)
        clf.fit(oof, y)
        return clf.predict(test)
    # "weights": one weight per view, shared by all classes, plus per-class biases, fitted by LR on
    # a block-diagonal design (softmax over classes of sum_v a_v s_v,c + b_c).
    import scipy.optimize as so

    K, V = len(classes), len(views)
    yi = np.searchsorted(classes, y)
    S = oof.reshape(len(y), V, K)
    cw = len(y) / (K * np.bincount(yi, minlength=K)) if balanced else np.ones(K)
    sw = cw[yi]

    def loss(theta):
        a, b = theta[:V], theta[V:]
        z = np.einsum("nvk,v->nk", S, a) + b
        z -= z.max(1, keepdims=True)
        lse = np.log(np.exp(z).sum(1))
        ll = (z[np.arange(len(yi)), yi] - lse) * sw
        return -ll.sum() + 0.5 * (a**2).sum() / meta_C

    res = so.minimize(loss, np.concatenate([np.ones(V), np.zeros(K)]), method="L-BFGS-B")
    a, b = res.x[:V], res.x[V:]
    T = test.reshape(Xt.shape[0], V, K)
    return classes[(np.einsum("nvk,v->nk", T, a) + b).argmax(1)]


def _stacker(views, **kw):
    def variant(X, y, Xt, ctx):
        return stack(X, y, Xt, ctx, views, **kw)

    variant.__doc__ = f"stack of {'+'.join(views)} ({kw or 'LR meta, balanced'})"
    variant._key = repr((views, kw))  # type: ignore[attr-defined]
    return variant


VARIANTS.update(
    {
        "stack-svm+nbsvm": _stacker(["svm", "nbsvm"]),
        "stack-word+char+nb": _stacker(["svm-word", "svm-char", "nbsvm"]),
        "stack-svm+nbsvm+mnb": _stacker(["svm", "nbsvm", "mnb"]),
        "stack-svm+nbsvm+mnb-w": _stacker(["svm", "nbsvm", "mnb"], meta="weights"),
        "stack-all-w": _stacker(["svm-word", "svm-char", "nbsvm-word", "nbsvm-char", "mnb"], meta="weights"),
        "stack-all": _stacker(["svm-word", "svm-char", "nbsvm-word", "nbsvm-char", "mnb"]),
        "stack-svm+nbsvm+mnb+lsa-w": _stacker(["svm", "nbsvm", "mnb", "lsa"], meta="weights"),
        "stack-svm+nbsvm+mnb+lsa": _stacker(["svm", "nbsvm", "mnb", "lsa"]),
        "stack-svm+nbsvm+mnb+cnb-w": _stacker(["svm", "nbsvm", "mnb", "cnb"], meta="weights"),
        "stack-svm+nbsvm+nbw+nbc+mnb-w": _stacker(
            ["svm", "nbsvm", "nbsvm-word", "nbsvm-char", "mnb"], meta="weights"
        ),
    }
)


def _stacked(**kw):
    """classify.pipeline.stacking.StackedLinear with these settings, on the shared features."""

    def variant(X, y, Xt, ctx):
        from classify.pipeline.stacking import StackedLinear

        return StackedLinear(**kw).fit(X, y).predict(Xt)

    variant.__doc__ = f"StackedLinear({', '.join(f'{k}={v!r}' for k, v in kw.items())})"
    variant._key = repr(kw) + (ROOT / "classify" / "stacking.py").read_text()  # type: ignore[attr-defined]
    return variant


def v_sl_plain_blend(X, y, Xt, ctx):
    """StackedLinear() with balanced views but an unweighted (plain log-loss) blend layer."""
    import copy

    import classify.pipeline.stacking as stacking

    original = stacking.fit_view_weights

    def plain(scores, yy, est):
        unweighted = copy.copy(est)
        unweighted.class_weight = None
        return original(scores, yy, unweighted)

    stacking.fit_view_weights = plain
    try:
        return stacking.StackedLinear().fit(X, y).predict(Xt)
    finally:
        stacking.fit_view_weights = original


VARIANTS["SL-plain-blend"] = v_sl_plain_blend


def v_sl_no_bias(X, y, Xt, ctx):
    """StackedLinear() whose blend learns the view weights only: no per-class biases."""
    import classify.pipeline.stacking as stacking

    original = stacking.fit_view_weights

    def weights_only(scores, yy, est):
        k = scores.shape[2]
        # Frozen zero biases: a huge class column of zeros appended to nothing; refit a by bounded search.
        from scipy.optimize import minimize
        from scipy.special import logsumexp

        n = len(yy)
        counts = np.bincount(yy, minlength=k)
        sample = (n / (k * counts))[yy]

        def loss(a):
            z = np.einsum("nvk,v->nk", scores, a)
            return float(-(sample * (z[np.arange(n), yy] - logsumexp(z, axis=1))).sum() + 0.5 * a @ a)

        res = minimize(
            loss, np.ones(scores.shape[1]), method="L-BFGS-B", bounds=[(0, None)] * scores.shape[1]
        )
        return res.x, np.zeros(k)

    stacking.fit_view_weights = weights_only
    try:
        return stacking.StackedLinear().fit(X, y).predict(Xt)
    finally:
        stacking.fit_view_weights = original


VARIANTS["SL-no-bias"] = v_sl_no_bias

VARIANTS.update(
    {
        "SL": _stacked(),
        "SL-mnb0.03": _stacked(mnb_alpha=0.03),
        "SL-mnb0.3": _stacked(mnb_alpha=0.3),
        "SL-classes": _stacked(blend="classes"),
        "SL-meta0.1": _stacked(meta_C=0.1),
        "SL-meta10": _stacked(meta_C=10.0),
        "SL-C1": _stacked(C=1.0),
        "SL-C0.25": _stacked(C=0.25),
        "SL-svm+mnb": _stacked(views="svm+mnb"),
        "SL-nbsvm+mnb": _stacked(views="nbsvm+mnb"),
        "SL-unbalanced": _stacked(class_weight=None),
        "SL-svm+nbsvm": _stacked(views="svm+nbsvm"),
        "SL-nb1-C0.25": _stacked(C=0.25, nb_alpha=0.5),
        # The product's own no-bias blend (classify.pipeline.stacking, blend_bias=False) and what it
        # combines with.
        "SLnb": _stacked(blend_bias=False),
        "SLnb-Cgrid": _stacked(blend_bias=False, C_grid=(0.125, 0.25, 0.5, 1.0, 2.0)),
        "SL-Cgrid": _stacked(C_grid=(0.125, 0.25, 0.5, 1.0, 2.0)),
        "SLnb-logistic": _stacked(blend_bias=False, view_loss="logistic"),
        "SLnb-unbalanced": _stacked(blend_bias=False, class_weight=None),
        "SLnb-meta0.1": _stacked(blend_bias=False, meta_C=0.1),
        "SLnb-meta10": _stacked(blend_bias=False, meta_C=10.0),
        "SLnb-C1": _stacked(blend_bias=False, C=1.0),
        "SLnb-mnb0.03": _stacked(blend_bias=False, mnb_alpha=0.03),
        "SLnb-nb0.5": _stacked(blend_bias=False, nb_alpha=0.5),
        "SLnb-f1": _stacked(blend_bias=False, f1_bias=True),
        "SL-f1": _stacked(f1_bias=True),
    }
)


# ------------------------------------------------------------------------------ static word vectors


def _table(dims: int) -> Any:
    """The shipped vectors at 128 dimensions; another width distilled once into the user cache."""
    from classify.paths import user_cache_dir
    from classify.pipeline import embeddings

    if dims == embeddings.DIMS:
        return None
    path = user_cache_dir() / f"bench-wordpieces-pca{dims}.npz"
    if not path.is_file():
        embeddings.build_table(path, dims)  # needs the embed extra
    return embeddings.load_table(path)


def _embedded(dims: int = 128, views: str = "svm+nbsvm+mnb+emb", **kw: Any) -> Variant:
    """StackedLinear with the ``emb`` view: MiniLM's static word vectors (classify.pipeline.embeddings)."""

    def variant(X, y, Xt, ctx):
        from classify.pipeline.embeddings import word_projection
        from classify.pipeline.stacking import StackedLinear

        P = word_projection(ctx["vec"].word_vocabulary_, X.shape[1], _table(dims))
        return StackedLinear(views=views, **kw).fit(X, y, word_projection=P).predict(Xt)

    variant.__doc__ = (
        f"StackedLinear(views={views!r}, {', '.join(f'{k}={v!r}' for k, v in kw.items())}): "
        f"emb = static MiniLM word vectors, PCA {dims} (classify.pipeline.embeddings)"
    )
    variant._key = repr((dims, views, kw)) + "".join(  # type: ignore[attr-defined]
        (ROOT / "classify" / name).read_text() for name in ("stacking.py", "embeddings.py")
    )
    return variant


# The first runs of these (bbc, ag_news, huffpost, corpus) used the same computation written out in
# this file (an SVM on standardised X @ P), before it moved to classify.pipeline.stacking; the product's view
# gives the same predictions (checked on bbc fold 1: identical). Also tried on bbc then: logistic
# regression (C=1) instead of the SVM on the vectors 0.871, the SVM at C=0.05 0.874.
VARIANTS.update(
    {
        "emb-only": _embedded(dims=256, views="emb", blend_bias=False),
        "SLnb-emb": _embedded(dims=256, blend_bias=False),
        "SLnb-emb384": _embedded(dims=384, blend_bias=False),
        "SLnb-emb128": _embedded(blend_bias=False),
    }
)


def _softened(power: float, C: float = 0.5) -> Variant:
    """LinearSVC with class weights ``(n / (k * count)) ** power``: between none (0) and balanced (1)."""

    def variant(X, y, Xt, ctx):
        from sklearn.svm import LinearSVC

        classes, counts = np.unique(y, return_counts=True)
        weights = (len(y) / (len(classes) * counts)) ** power
        clf = LinearSVC(C=C, class_weight=dict(zip(classes, weights, strict=True)))
        return _fit_predict(clf, X, y, Xt)

    variant.__doc__ = f"LinearSVC(C={C}) with class weights balanced ** {power}"
    variant._key = repr((power, C))  # type: ignore[attr-defined]
    return variant


VARIANTS.update(
    {
        "svm-cw0.5": _softened(0.5),
        "svm-cw0.75": _softened(0.75),
        "svm-cw1.25": _softened(1.25),
    }
)


def _svm_with_vectors(gamma: float, C: float = 0.5) -> Variant:
    """One LinearSVC on the features plus the static word vectors ``X @ P`` as extra columns."""

    def variant(X, y, Xt, ctx):
        from classify.pipeline.embeddings import word_projection

        P = word_projection(ctx["vec"].word_vocabulary_, X.shape[1])
        Z, Zt = np.asarray((X @ P).todense()), np.asarray((Xt @ P).todense())
        mu, sd = Z.mean(axis=0), Z.std(axis=0) + 1e-9
        scale = gamma / np.sqrt(Z.shape[1])
        A = sp.hstack([X, sp.csr_matrix((Z - mu) / sd * scale)]).tocsr()
        At = sp.hstack([Xt, sp.csr_matrix((Zt - mu) / sd * scale)]).tocsr()
        return _fit_predict(_svm(C=C), A, y, At)

    variant.__doc__ = f"LinearSVC(C={C}, balanced) on features + standardised X @ P scaled to norm ~{gamma}"
    variant._key = repr((gamma, C)) + (ROOT / "classify" / "embeddings.py").read_text()  # type: ignore[attr-defined]
    return variant


VARIANTS.update({f"svm-vec{g:g}": _svm_with_vectors(g) for g in (0.15, 0.25, 0.35, 0.5, 0.7, 1.0)})

#: What the variants without a docstring of their own are.
DESCRIPTIONS = {
    "base-C1": "as base, C=1",
    "base-C0.25": "as base, C=0.25",
    "logreg": "LogisticRegression(C=10, balanced) on the same features",
    "nbsvm": "NB-SVM one-vs-rest: binarised log-count ratios (alpha 1) scale TF-IDF, LinearSVC C=0.5",
    "nbsvm-C0.1": "NB-SVM, C=0.1",
    "nbsvm-C2": "NB-SVM, C=2",
    "nbsvm-tf": "NB-SVM with ratios from TF-IDF sums instead of binarised counts",
    "nbsvm-beta0.25": "NB-SVM with Wang and Manning's interpolation beta=0.25",
    "nbsvm-a0.5": "NB-SVM, ratio smoothing alpha=0.5",
    "nblr": "NB-LR: NB-SVM with logistic regression (C=4)",
}

#: Variants that bring their own text handling: (train texts, labels, test texts) -> predictions.
TEXT_VARIANTS: dict[str, Callable[..., np.ndarray]] = {}


def v_product(texts, y, test_texts):
    """The product pipeline, as ``classify train`` fits it."""
    from classify.pipeline.model import fit_pipeline

    pipe = fit_pipeline(texts, list(y))
    return np.asarray(pipe.predict(test_texts))


TEXT_VARIANTS["product"] = v_product

_DIGITS = re.compile(r"\d")
_POSSESSIVE = re.compile(r"(\w)['\u2019]s\b")
_ACRONYM = re.compile(r"\b([A-Z]{2,5})\b")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_CURRENCY = re.compile(r"[$\u00a3\u20ac\u00a5]")


def normalise(text: str, how: str) -> str:
    """Headline normalisations: digits -> 0, possessive 's dropped, quotes unified, acronyms marked."""
    if "quotes" in how or "all" in how:
        text = text.translate(_QUOTES)
    if "curr" in how or "all" in how:
        text = _CURRENCY.sub(" $ ", text)  # one currency word, whichever the symbol
    if "digits" in how or "all" in how:
        text = _DIGITS.sub("0", text)
    if "poss" in how or "all" in how:
        text = _POSSESSIVE.sub(r"\1", text)
    if ("acro" in how or "all" in how) and not text.isupper():
        text = _ACRONYM.sub(r"\1_", text)  # "US" stays apart from "us": its own word and char n-grams
    return text


def _normalised(how: str, **kw: Any) -> Callable[..., np.ndarray]:
    def variant(texts, y, test_texts):
        from classify.pipeline.stacking import StackedLinear

        X, Xt, _ = features([normalise(t, how) for t in texts], [normalise(t, how) for t in test_texts])
        return StackedLinear(**kw).fit(X, y).predict(Xt)

    variant.__doc__ = (
        f"StackedLinear({', '.join(f'{k}={v!r}' for k, v in kw.items())}) on text normalised: {how}"
    )
    variant._key = (
        how + repr(kw) + inspect.getsource(normalise) + (ROOT / "classify" / "stacking.py").read_text()
    )
    return variant


def _featured(blend: str = "views", **feature_kw: Any) -> Callable[..., np.ndarray]:
    def variant(texts, y, test_texts):
        from classify.pipeline.features import HeadlineVectorizer
        from classify.pipeline.stacking import StackedLinear

        settings = {"word_ngrams": (1, 2), "char_ngrams": (2, 5), "sublinear_tf": True, **feature_kw}
        vec = HeadlineVectorizer(**settings)
        X = sp.csr_matrix(vec.fit_transform(texts), dtype=np.float64)
        Xt = sp.csr_matrix(vec.transform(test_texts), dtype=np.float64)
        return StackedLinear(blend=blend).fit(X, y).predict(Xt)

    variant.__doc__ = f"StackedLinear(blend={blend}) on HeadlineVectorizer({feature_kw})"
    variant._key = repr((blend, feature_kw)) + (ROOT / "classify" / "stacking.py").read_text()
    return variant


TEXT_VARIANTS.update(
    {
        "feat-char2-6": _featured(char_ngrams=(2, 6)),
        "feat-char1-5": _featured(char_ngrams=(1, 5)),
        "feat-word1-3": _featured(word_ngrams=(1, 3)),
        "feat-cw0.7": _featured(char_weight=0.7),
        "feat-cw1.5": _featured(char_weight=1.5),
        "feat-classes-char2-6": _featured(blend="classes", char_ngrams=(2, 6)),
    }
)

for _how in ("digits", "poss", "quotes", "acro", "all"):
    TEXT_VARIANTS[f"norm-{_how}"] = _normalised(_how)
for _how in ("digits", "curr", "poss", "acro", "curr+digits+poss", "all"):
    TEXT_VARIANTS[f"SLnb-norm-{_how}"] = _normalised(_how, blend_bias=False)


# ------------------------------------------------------------------------------ the runner


def features(train: list[str], test: list[str]) -> tuple[Any, Any, Any]:
    from classify.pipeline.features import HeadlineVectorizer

    vec = HeadlineVectorizer(
        word_ngrams=(1, 2), char_ngrams=(2, 5), min_df=1, sublinear_tf=True, char_weight=1.0
    )
    X = vec.fit_transform(train)
    return sp.csr_matrix(X, dtype=np.float64), sp.csr_matrix(vec.transform(test), dtype=np.float64), vec


def code_of(name: str) -> str:
    fn = VARIANTS.get(name) or TEXT_VARIANTS[name]
    src = inspect.getsource(fn) + getattr(fn, "_key", "") + inspect.getsource(stack)
    if name == "product":
        src += (ROOT / "classify" / "model.py").read_text() + "".join(
            p.read_text() for p in sorted((ROOT / "classify").glob("*.py"))
        )
    return hashlib.sha1(src.encode()).hexdigest()[:10]


def subsample(train_idx: Sequence[int], labels: list[str], rows: int) -> list[int]:
    """``rows`` of a fold's training rows (at least 2 of each topic), stratified and seeded, in order."""
    if not rows or rows >= len(train_idx):
        return list(train_idx)
    rng = np.random.default_rng(0)
    idx = np.asarray(train_idx)
    y = np.asarray([labels[i] for i in idx], dtype=object)
    chosen = []
    for topic in sorted(set(y.tolist())):
        members = idx[y == topic]
        take = min(len(members), max(2, round(len(members) * rows / len(idx))))
        chosen.append(rng.choice(members, size=take, replace=False))
    return sorted(np.concatenate(chosen).tolist())


def run(
    sets: Sequence[str],
    variants: Sequence[str],
    n_folds: int,
    cache: dict[str, Any],
    train_rows: int = 0,
    only_folds: int = 0,
) -> None:
    from sklearn.metrics import accuracy_score, f1_score

    for set_name in sets:
        texts, labels = SETS[set_name]()
        y_all = np.asarray(labels, dtype=object)
        todo = [v for v in variants if cache.get(f"{set_name}/{v}", {}).get("code") != code_of(v)]
        if not todo:
            continue
        per: dict[str, list[tuple[float, float, float]]] = {v: [] for v in todo}
        for train_all, test_idx in folds_of(labels, n_folds)[: only_folds or None]:
            train_idx = subsample(train_all, labels, train_rows)
            tr_t = [texts[i] for i in train_idx]
            te_t = [texts[i] for i in test_idx]
            y, yt = y_all[train_idx], y_all[test_idx]
            mats = None
            for v in todo:
                started = time.perf_counter()
                if v in TEXT_VARIANTS:
                    pred = TEXT_VARIANTS[v](tr_t, y, te_t)
                else:
                    if mats is None:
                        mats = features(tr_t, te_t)
                    pred = VARIANTS[v](
                        mats[0],
                        y,
                        mats[1],
                        {"vec": mats[2], "texts": tr_t, "n_word": mats[2].n_word_features_},
                    )
                seconds = time.perf_counter() - started
                per[v].append((f1_score(yt, pred, average="macro"), accuracy_score(yt, pred), seconds))
        for v in todo:
            scores = per[v]
            cache[f"{set_name}/{v}"] = {
                "code": code_of(v),
                "macro_f1": statistics.fmean(s[0] for s in scores),
                "accuracy": statistics.fmean(s[1] for s in scores),
                "fold_f1": [round(s[0], 4) for s in scores],
                "seconds": sum(s[2] for s in scores),
            }
            r = cache[f"{set_name}/{v}"]
            print(
                f"{set_name:9s} {v:22s} F1 {r['macro_f1']:.4f} acc {r['accuracy']:.4f}  {r['seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )


def _compare_scores(path: Any, system: str, first: int) -> dict[str, float]:
    """Macro-F1 per set of one system in a ``bench.compare`` report (mean of the first folds if asked)."""
    if not path.exists():
        return {}
    out = {}
    for r in json.loads(path.read_text()).get("results", []):
        if r.get("system") == system and "macro_f1" in r:
            folds = r["folds"][:first] if first else r["folds"]
            out[r["set"]] = statistics.fmean(f["macro_f1"] for f in folds)
    return out


def render_section(
    cache: dict[str, Any],
    sets: Sequence[str],
    variants: Sequence[str],
    n_folds: int,
    train_rows: int,
    only_folds: int = 0,
) -> list[str]:
    compare, stacked = RESULTS / "compare.json", RESULTS / "compare-stack.json"
    # The run before the emb view (13:24 UTC, 2026-11-29), on the corpus of 20,579 rows of that day.
    nobias = RESULTS / "compare-stack-nobias.json"
    minilm = _compare_scores(compare, "minilm", only_folds)
    if train_rows:
        title = f"## Small data: {train_rows:,} training rows per fold"
        what = (
            f"each training fold subsampled (stratified, seeded) to {train_rows:,} rows; the test folds "
            "are whole. MiniLM's figures are on all rows, for reference only."
        )
    else:
        title, what = "## All rows", "all training rows of each fold."
    if only_folds:
        title += f" (first {only_folds} of the {n_folds} folds only)"
        what += f" Scores, the reference rows too, are means over the first {only_folds} fold(s)."
    lines = [
        title,
        "",
        f"Macro-F1, mean over {n_folds} stratified folds (shuffle, random_state 0: the folds of "
        f"`bench.compare`), headline text only, {what} In brackets: accuracy. Bold: at or above "
        "MiniLM + LogReg.",
        "",
        "| variant | " + " | ".join(sets) + " | what |",
        "|---|" + "---|" * len(sets) + "---|",
    ]
    references = [(minilm, "MiniLM + LogReg", "sentence embeddings (compare.json)")]
    if not train_rows:
        references += [
            (
                _compare_scores(compare, "classify_vectors", only_folds),
                "classify `word_vectors` 0.35 (bench.compare)",
                "the classify_vectors system: the default SVM with static word-vector columns folded "
                "back into the word weights, through fit_pipeline (compare.json)",
            ),
            (
                _compare_scores(compare, "classify_stack", only_folds),
                "classify `stack` + `emb`, `blend_bias` false (bench.compare)",
                "the classify_stack system: views svm+nbsvm+mnb+emb, no per-topic biases, through "
                "fit_pipeline (compare.json)",
            ),
            (
                _compare_scores(nobias, "classify_stack", only_folds),
                "classify `stack`, `blend_bias` false (bench.compare)",
                "the classify_stack system before the emb view: stack without per-topic biases "
                "(compare-stack-nobias.json; its corpus had 20,579 rows)",
            ),
            (
                _compare_scores(stacked, "classify", only_folds),
                "classify `stack` (bench.compare)",
                "StackedLinear() through fit_pipeline (compare-stack.json)",
            ),
            (
                _compare_scores(compare, "classify", only_folds),
                "classify default (bench.compare)",
                "the default pipeline, LinearSVC (compare.json)",
            ),
        ]
    for scores, name, what_it_is in references:
        if scores:
            lines.append(
                f"| {name} | "
                + " | ".join(f"{scores[s]:.3f}" if s in scores else "-" for s in sets)
                + f" | {what_it_is} |"
            )
    for v in variants:
        cells = []
        for s in sets:
            r = cache.get(f"{s}/{v}")
            if not r:
                cells.append("-")
                continue
            cell = f"{r['macro_f1']:.3f} ({r['accuracy']:.3f})"
            if s in minilm and round(r["macro_f1"], 3) >= round(minilm[s], 3):
                cell = f"**{cell}**"
            cells.append(cell)
        fn = VARIANTS.get(v) or TEXT_VARIANTS[v]
        doc = (fn.__doc__ or DESCRIPTIONS.get(v, "")).strip().split("\n")[0]
        lines.append(f"| {v} | " + " | ".join(cells) + f" | {doc} |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    from classify.atomic import write_text_atomic

    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--variants", default=",".join([*VARIANTS, *TEXT_VARIANTS]))
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--train-rows", type=int, default=0, help="subsample each training fold to N rows")
    parser.add_argument(
        "--only-folds", type=int, default=0, help="score the first N folds only (a quick look)"
    )
    parser.add_argument("--fresh", action="store_true", help="ignore cached scores")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    sets = args.sets.split(",")
    variants = args.variants.split(",")
    known = {*VARIANTS, *TEXT_VARIANTS}
    bad = [v for v in variants if v not in known] + [s for s in sets if s not in SETS]
    if bad:
        print(f"Error: unknown variant(s)/set(s) {', '.join(bad)}", file=sys.stderr)
        return 2
    from pathlib import Path

    out = Path(args.out)
    cache_path = out / "accuracy.json"
    section = f"folds={args.folds}" + (f",train_rows={args.train_rows}" if args.train_rows else "")
    section += f",only_folds={args.only_folds}" if args.only_folds else ""
    cache: dict[str, Any] = {}
    if cache_path.exists() and not args.fresh:
        cache = json.loads(cache_path.read_text()).get(section, {})
    before = dict(cache)
    run(sets, variants, args.folds, cache, args.train_rows, args.only_folds)
    # Merge into the file as it is now: another run may have added scores meanwhile.
    everything = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    mine = everything.setdefault(section, {})
    mine.update({key: value for key, value in cache.items() if before.get(key) != value})
    write_text_atomic(cache_path, json.dumps(everything, indent=1, sort_keys=True) + "\n")
    lines = ["# Accuracy variants", ""]
    for name, scores in sorted(everything.items()):
        opts = {k: int(v) for k, v in (part.split("=") for part in name.split(","))}
        variants_done = [v for v in [*VARIANTS, *TEXT_VARIANTS] if any(f"{s}/{v}" in scores for s in SETS)]
        sets_done = [s for s in SETS if any(f"{s}/{v}" in scores for v in variants_done)]
        if set(opts) == {"folds"}:
            sets_done = list(SETS)  # the bench.compare rows cover every set
        lines += render_section(
            scores,
            sets_done,
            variants_done,
            opts["folds"],
            opts.get("train_rows", 0),
            opts.get("only_folds", 0),
        )
        lines.append("")
    markdown = "\n".join(lines)
    write_text_atomic(out / "accuracy.md", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
