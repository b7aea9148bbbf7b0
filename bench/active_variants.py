"""Exploration loop for the labelling order: variants of the labelling order, one set and seed at a time.

    python -m bench.active_variants --sets ag_news,huffpost --seeds 3,4 --variant SPEC [--variant SPEC ...]
    python -m bench.active_variants --summary      # bench/results/active_variants.md from the log

Same simulation as ``bench/active.py`` (stratified 80/20 split, the editor answers with the set's
label, the project pipeline scored by macro-F1 on the held-out 20% after 50..1000 labels), with the
selection rule swappable. Each run appends one JSON line to ``bench/results/active_variants.jsonl``
so every variant measured is kept. The random baseline of a set and seed is cached in that file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.active import CHECKPOINTS, macro_f1, run_random, self_trained_f1
from bench.datasets import ROOT, ag_news, huffpost
from classify.atomic import write_text_atomic
from classify.labelling import sampling
from classify.pipeline.model import fit_pipeline

#: Exploring: score only up to the goal's 600 labels (a run costs half as much).
EXPLORE_MARKS = [200, 400, 600]
LOG = ROOT / "bench" / "results" / "active_variants.jsonl"


def pipeline_tag() -> str:
    """Which evaluated pipeline a run scored with: rows before the pipeline had static word vectors
    carry no tag (``tfidf``); later ones ``wv`` and the ``word_vectors`` norm. Random order's cached
    scores are only reused for the same pipeline, and the summary compares like with like."""
    from classify.pipeline.settings import Settings

    norm = Settings().word_vectors
    return f"wv{norm:g}" if norm else "tfidf"


# Selection models: (labelled pool indices, their labels, topics) -> (n_pool, k) scores ------------
def proba_pipeline(ctx: dict[str, Any], idx: list[int], labels: list[str]) -> np.ndarray:
    model = fit_pipeline([ctx["pool"][i] for i in idx], labels)
    out = np.zeros((len(ctx["pool"]), len(ctx["topics"])))
    p = model.predict_proba(ctx["pool"])
    col = {t: j for j, t in enumerate(ctx["topics"])}
    for k, t in enumerate(model.classes_):
        out[:, col[t]] = p[:, k]
    return out


def proba_pool_lr(
    ctx: dict[str, Any], idx: list[int], labels: list[str], c: float = 10.0, balanced: bool = True
) -> np.ndarray:
    """Logistic regression on the pool's own TF-IDF vectors (fitted on the whole unlabelled pool)."""
    from sklearn.linear_model import LogisticRegression

    X = ctx["vecs"]
    clf = LogisticRegression(C=c, max_iter=300, class_weight="balanced" if balanced else None)
    clf.fit(X[idx], labels)
    out = np.zeros((X.shape[0], len(ctx["topics"])))
    p = clf.predict_proba(X)
    col = {t: j for j, t in enumerate(ctx["topics"])}
    for k, t in enumerate(clf.classes_):
        out[:, col[t]] = p[:, k]
    return out


def proba_pool_svm(ctx: dict[str, Any], idx: list[int], labels: list[str], c: float = 1.0) -> np.ndarray:
    """LinearSVC on the pool's TF-IDF vectors; softmax of the raw scores (margin of the scores)."""
    from sklearn.svm import LinearSVC

    X = ctx["vecs"]
    clf = LinearSVC(C=c, class_weight="balanced")
    clf.fit(X[idx], labels)
    s = clf.decision_function(X)
    if s.ndim == 1:
        s = np.column_stack([-s, s])
    out = np.full((X.shape[0], len(ctx["topics"])), -10.0)
    col = {t: j for j, t in enumerate(ctx["topics"])}
    for k, t in enumerate(clf.classes_):
        out[:, col[t]] = s[:, k]
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _views(ctx: dict[str, Any]) -> list[Any]:
    if "views" not in ctx:
        from sklearn.feature_extraction.text import TfidfVectorizer

        w = TfidfVectorizer(sublinear_tf=True, strip_accents="unicode").fit_transform(ctx["pool"])
        c = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, strip_accents="unicode"
        ).fit_transform(ctx["pool"])
        ctx["views"] = [w.tocsr(), c.tocsr()]
    return ctx["views"]


def proba_qbc(ctx: dict[str, Any], idx: list[int], labels: list[str], c: float = 1.0) -> np.ndarray:
    """Committee of two views (word SVM, character SVM): the mean of their softmaxes."""
    out = []
    for X in _views(ctx):
        out.append(proba_pool_svm({**ctx, "vecs": X}, idx, labels, c=c))
    return np.mean(out, axis=0)


def proba_selftrain(  # type: ignore[no-untyped-def]
    ctx, idx, labels, c=1.0, frac=0.2, weight=0.3, rounds=1, **kw
):
    """The pool SVM refitted on the labels plus pseudo-labels: per predicted topic the ``frac``
    most confident unlabelled headlines (largest margin), each with sample weight ``weight``."""
    from sklearn.svm import LinearSVC

    X = ctx["vecs"]
    p = proba_pool_svm(ctx, idx, labels, c=c)
    topics = np.array(ctx["topics"])
    un = np.setdiff1d(np.arange(X.shape[0]), idx)
    for _ in range(rounds):
        pred = p[un].argmax(axis=1)
        m = sampling.margins(p[un])
        chosen = []
        for j in np.unique(pred):
            mem = np.flatnonzero(pred == j)
            n = int(frac * len(mem))
            chosen += list(mem[np.argsort(-m[mem], kind="stable")[:n]])
        chosen = np.array(sorted(chosen), dtype=int)
        rows = np.concatenate([np.asarray(idx, dtype=int), un[chosen]])
        y = list(labels) + list(topics[pred[chosen]])
        w = np.concatenate([np.ones(len(idx)), np.full(len(chosen), weight)])
        clf = LinearSVC(C=c, class_weight="balanced")
        clf.fit(X[rows], y, sample_weight=w)
        s = clf.decision_function(X)
        if s.ndim == 1:
            s = np.column_stack([-s, s])
        out = np.full((X.shape[0], len(topics)), -10.0)
        col = {t: j for j, t in enumerate(topics)}
        for k, t in enumerate(clf.classes_):
            out[:, col[t]] = s[:, k]
        e = np.exp(out - out.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
    return p


def proba_pool_features(ctx, idx, labels, c=0.5, balanced=True):  # type: ignore[no-untyped-def]
    """LinearSVC on the evaluated pipeline's own features (word 1-2 + char_wb 2-5 TF-IDF) fitted on
    the whole pool, so the selection boundary is the evaluated model's kind of boundary."""
    if "pfeat" not in ctx:
        from classify.pipeline.features import HeadlineVectorizer
        from classify.pipeline.settings import Settings

        ctx["pfeat"] = HeadlineVectorizer(**Settings().vectorizer_params()).fit_transform(ctx["pool"]).tocsr()

    return (
        proba_pool_svm({**ctx, "vecs": ctx["pfeat"]}, idx, labels, c=c)
        if balanced
        else _unbal(ctx, idx, labels, c)
    )


def _unbal(ctx, idx, labels, c):  # type: ignore[no-untyped-def]
    from sklearn.svm import LinearSVC

    X = ctx["pfeat"]
    clf = LinearSVC(C=c).fit(X[idx], labels)
    s = clf.decision_function(X)
    out = np.full((X.shape[0], len(ctx["topics"])), -10.0)
    col = {t: j for j, t in enumerate(ctx["topics"])}
    for k, t in enumerate(clf.classes_):
        out[:, col[t]] = s[:, k] if s.ndim == 2 else (s if k else -s)
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def proba_bagged(ctx, idx, labels, c=1.0, n=5, **kw):  # type: ignore[no-untyped-def]
    """Query by bagging (Abe & Mamitsuka 1998): the mean softmax of ``n`` pool SVMs, each fitted on
    a bootstrap resample of the labels (stratified so every topic stays), so that a headline the
    resamples disagree on has a small mean margin."""
    rng = np.random.default_rng(len(idx))
    idx = np.asarray(idx, dtype=int)
    lab = np.asarray(labels)
    out = []
    for _ in range(n):
        sub = kw.get("sub", 0.0)  # 0: bootstrap; else that fraction of each topic without replacement
        take = np.concatenate(
            [
                rng.choice(
                    np.flatnonzero(lab == t),
                    size=max(1, round(sub * (lab == t).sum())) if sub else int((lab == t).sum()),
                    replace=not sub,
                )
                for t in np.unique(lab)
            ]
        )
        out.append(proba_pool_svm(ctx, list(idx[take]), list(lab[take]), c=c))
    return np.mean(out, axis=0)


def _word_vector_matrix(ctx: dict[str, Any], norm: float) -> Any:
    """The pool vectors with the shipped static word vectors as extra columns (fifth round).

    ``classify.pipeline.linear.VectorColumns`` over the pool vectors' word block: the word TF-IDF of
    ``classify.evaluation.groups.similarity_vectors`` is its first block and is deterministic, so refitting
    the
    same word vectorizer on the pool gives that block's vocabulary (column j of the block is column j
    of the pool vectors). The columns are standardised on the whole pool and scaled to a row norm of
    about ``norm`` (the pipeline's ``word_vectors`` uses 0.35).
    """
    key = ("wv", norm)
    if key not in ctx:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from classify.pipeline.embeddings import word_projection
        from classify.pipeline.linear import VectorColumns

        X = ctx["vecs"]
        words = TfidfVectorizer(lowercase=True, strip_accents="unicode", sublinear_tf=True).fit(ctx["pool"])
        P = word_projection(words.vocabulary_, X.shape[1])
        ctx[key] = VectorColumns.fit_append(X, P, norm)[1].tocsr()
    return ctx[key]


def _unit_rows(X: Any) -> Any:
    import scipy.sparse as sp

    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return (sp.diags(1 / norms) @ X).tocsr()


def proba_pool_svm_wv(ctx, idx, labels, c=1.0, norm=0.35):  # type: ignore[no-untyped-def]
    """The selection SVM on [pool TF-IDF, static word-vector columns at row norm ``norm``]."""
    return proba_pool_svm({**ctx, "vecs": _word_vector_matrix(ctx, norm)}, idx, labels, c=c)


def proba_pool_svm_pair(ctx, idx, labels, c=1.0, norm=0.35):  # type: ignore[no-untyped-def]
    """A committee of the selection SVM without and with the word-vector columns (mean softmax)."""
    return 0.5 * (proba_pool_svm(ctx, idx, labels, c=c) + proba_pool_svm_wv(ctx, idx, labels, c=c, norm=norm))


MODELS: dict[str, Callable[..., np.ndarray]] = {
    "bag": proba_bagged,
    "pfeat": proba_pool_features,
    "selftrain": proba_selftrain,
    "qbc": proba_qbc,
    "pipe": proba_pipeline,
    "lr": proba_pool_lr,
    "svm": proba_pool_svm,
    "svmwv": proba_pool_svm_wv,
    "svmpair": proba_pool_svm_pair,
}


# Batch pickers: (ctx, proba, remaining indices, counts, batch, rng) -> picks -----------------------
def pick_current(ctx, proba, rem, counts, batch, rng, **kw):  # type: ignore[no-untyped-def]
    return sampling.labelling_order(proba, ctx["vecs"], rem, batch)[:batch]


def pick_margin(ctx, proba, rem, counts, batch, rng, **kw):  # type: ignore[no-untyped-def]
    return sampling.uncertainty_order(proba, ctx["vecs"], rem, limit=batch, window=min(batch, 10))[:batch]


def _density(ctx: dict[str, Any]) -> np.ndarray:
    """Mean cosine similarity of each pool headline to the pool (information density)."""
    if "density" not in ctx:
        X = ctx["vecs"]
        mean = np.asarray(X.mean(axis=0)).ravel()
        ctx["density"] = np.asarray(X @ mean).ravel()
    return ctx["density"]


def pick_density(ctx, proba, rem, counts, batch, rng, beta=1.0, **kw):  # type: ignore[no-untyped-def]
    unc = 1.0 - sampling.margins(proba[rem])
    score = unc * _density(ctx)[rem] ** beta
    return _spread_ranked(ctx, rem[np.argsort(-score, kind="stable")], rem, batch)


def _balanced_score(ctx, p, counts, alpha):  # type: ignore[no-untyped-def]
    """Margin uncertainty times 1/sqrt(1 + labels of the predicted top two topics), to the power alpha."""
    n = np.array([counts.get(t, 0) for t in ctx["topics"]], dtype=float)
    top2 = np.argsort(-p, axis=1)[:, :2]
    rarity = 1.0 / np.sqrt(1.0 + n[top2].mean(axis=1))
    return (1.0 - sampling.margins(p)) * rarity**alpha


def pick_balanced(ctx, proba, rem, counts, batch, rng, alpha=1.0, pool_mult=0, **kw):  # type: ignore[no-untyped-def]
    """Margin uncertainty weighted by how few labels the predicted top-2 topics have so far."""
    score = _balanced_score(ctx, proba[rem], counts, alpha)
    ranked = rem[np.argsort(-score, kind="stable")]
    if pool_mult:
        top = ranked[: pool_mult * batch]
        sc = np.sort(score)[::-1][: len(top)]
        from classify.labelling.sampling import _cluster_picks

        return _cluster_picks(top, sc, ctx["vecs"], batch, 0)
    return _spread_ranked(ctx, ranked, rem, batch)


def _spread_ranked(ctx, ranked, rem, batch):  # type: ignore[no-untyped-def]
    """The page's near-duplicate spread over a ranking, handed to it as margins (ranks)."""
    fake = np.zeros((len(ctx["pool"]), 2))
    fake[ranked, 0] = np.linspace(0.5, 1.0, len(ranked))
    fake[:, 1] = 1 - fake[:, 0]
    return sampling.uncertainty_order(fake, ctx["vecs"], rem, limit=batch, window=min(batch, 10))[:batch]


def pick_balanced_density(ctx, proba, rem, counts, batch, rng, alpha=1.0, beta=1.0, **kw):  # type: ignore[no-untyped-def]
    score = _balanced_score(ctx, proba[rem], counts, alpha) * _density(ctx)[rem] ** beta
    ranked = rem[np.argsort(-score, kind="stable")]
    return _spread_ranked(ctx, ranked, rem, batch)


def pick_mix(ctx, proba, rem, counts, batch, rng, share=0.25, inner="current", **kw):  # type: ignore[no-untyped-def]
    """A share of each batch at random (exploration), the rest by ``inner``."""
    k = round(share * batch)
    first = PICKERS[inner](ctx, proba, rem, counts, batch - k, rng, **kw)
    left = np.setdiff1d(rem, first)
    return list(first) + [int(i) for i in rng.choice(left, size=k, replace=False)]


def pick_rare_topic(ctx, proba, rem, counts, batch, rng, share=0.25, inner="current", **kw):  # type: ignore[no-untyped-def]
    """A share of each batch: the most confident headlines of the least-labelled predicted topics."""
    k = round(share * batch)
    first = PICKERS[inner](ctx, proba, rem, counts, batch - k, rng, **kw)
    left = np.setdiff1d(rem, first)
    topics = ctx["topics"]
    pred = proba[left].argmax(axis=1)
    conf = proba[left].max(axis=1)
    n = {j: counts.get(t, 0) for j, t in enumerate(topics)}
    picks: list[int] = []
    for _ in range(k):
        j = min(n, key=lambda j: (n[j], j))
        members = np.flatnonzero(pred == j)
        members = [m for m in members if int(left[m]) not in picks]
        if members:
            picks.append(int(left[max(members, key=lambda m: conf[m])]))
        n[j] += 1  # assume it is what it looks like
    return list(first) + picks


def pick_clu(
    ctx, proba, rem, counts, batch, rng, alpha=0.0, beta=0.0, pool_mult=30, upow=1.0, gamma=0.0, **kw
):  # type: ignore[no-untyped-def]
    """Weighted k-means over the top ``pool_mult * batch``, score unc**upow * rarity**alpha * dens**beta."""
    from classify.labelling.sampling import _cluster_picks

    topics = ctx["topics"]
    n = np.array([counts.get(t, 0) for t in topics], dtype=float)
    p = proba[rem]
    unc = 1.0 - sampling.margins(p)
    top2 = np.argsort(-p, axis=1)[:, :2]
    rarity = 1.0 / np.sqrt(1.0 + n[top2].mean(axis=1))
    if kw.get("raw"):  # the raw score gap (log-probability gap of the softmax), not the probability gap
        lp = np.sort(np.log(np.clip(p, 1e-300, None)), axis=1)
        unc = np.exp(-(lp[:, -1] - lp[:, -2]))
    score = unc**upow * rarity**alpha * _density(ctx)[rem] ** beta
    if gamma:
        done = np.setdiff1d(np.arange(len(ctx["pool"])), rem)
        X = ctx["vecs"]
        near = np.asarray((X[rem] @ X[done].T).max(axis=1).todense()).ravel()
        score = score * np.clip(1.0 - near, 0.0, None) ** gamma
    order = np.argsort(-score, kind="stable")
    top = rem[order[: pool_mult * batch]]
    return _cluster_picks(top, score[order[: len(top)]], ctx["vecs"], batch, 0)


def _tempered(p: np.ndarray, temp: float) -> np.ndarray:
    """Probabilities with their log scaled by 1/temp and renormalised (as they are at temp 1)."""
    if temp == 1.0:
        return p
    lp = np.log(np.clip(p, 1e-300, None)) / temp
    lp -= lp.max(axis=1, keepdims=True)
    out = np.exp(lp)
    return out / out.sum(axis=1, keepdims=True)


def pick_badge(ctx, proba, rem, counts, batch, rng, temp=1.0, **kw):  # type: ignore[no-untyped-def]
    """BADGE (Ash et al. 2020) for a linear model: k-means++ seeding on gradient embeddings
    g_i = (p_i - onehot(argmax p_i)) (x) x_i, distances through the kernel <p-e, p'-e'> <x, x'>."""
    X = ctx["vecs"][rem]
    p = _tempered(proba[rem], temp)
    e = p.copy()
    e[np.arange(len(p)), p.argmax(axis=1)] -= 1.0
    xn = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    sq = (e * e).sum(axis=1) * xn  # |g_i|^2
    first = int(np.argmax(sq))
    picks = [first]

    def d2_to(c: int) -> np.ndarray:
        kx = np.asarray(X @ X[c].T.toarray()).ravel()
        return np.clip(sq + sq[c] - 2.0 * (e @ e[c]) * kx, 0.0, None)

    best = d2_to(first)
    best[first] = 0.0
    while len(picks) < min(batch, len(rem)):
        total = best.sum()
        c = int(rng.choice(len(rem), p=best / total)) if total > 0 else int(np.argmax(best))
        picks.append(c)
        best = np.minimum(best, d2_to(c))
        best[picks] = 0.0
    return [int(rem[c]) for c in picks]


def _stoch_keys(u: np.ndarray, rng: Any, mode: str, beta: float, temp: float) -> np.ndarray:
    """Gumbel-top-k keys: sorting by them samples without replacement with p ~ weight (Kirsch 2023)."""
    if mode == "power":  # p ~ u**beta
        logw = beta * np.log(np.clip(u, 1e-12, None))
    elif mode == "softmax":  # p ~ exp(u / T), T relative to the spread of u
        logw = (u - u.max()) / (temp * (u.std() + 1e-12))
    elif mode == "inv":  # p ~ margin**-beta (u = 1 - margin)
        logw = -beta * np.log(np.clip(1.0 - u, 1e-6, None))
    elif mode == "softrank":  # p ~ rank**-beta
        rank = np.empty(len(u))
        rank[np.argsort(-u, kind="stable")] = np.arange(1, len(u) + 1)
        logw = -beta * np.log(rank)
    else:
        raise ValueError(mode)
    return logw + rng.gumbel(size=len(u))


def pick_stoch(  # type: ignore[no-untyped-def]
    ctx, proba, rem, counts, batch, rng, mode="power", beta=4.0, temp=0.1, quota=0, ptemp=1.0, **kw
):
    """Stochastic batch acquisition: the batch sampled with p ~ f(1 - margin), then the spread.

    ``quota``: the batch split across predicted topics in proportion to 1/(1 + labels of the topic),
    each topic's share drawn by the same sampling. ``ptemp``: temperature on the scores before the margin.
    """
    p = _tempered(proba[rem], ptemp)
    u = 1.0 - sampling.margins(p)
    keys = _stoch_keys(u, rng, mode, beta, temp)
    if kw.get("clu"):  # the clustering of `current` over a stochastic draw of clu * batch candidates
        from classify.labelling.sampling import _cluster_picks

        order = np.argsort(-keys, kind="stable")[: kw["clu"] * batch]
        return _cluster_picks(rem[order], u[order], ctx["vecs"], batch, 0)
    if not quota:
        return _spread_ranked(ctx, rem[np.argsort(-keys, kind="stable")], rem, batch)
    topics = ctx["topics"]
    pred = p.argmax(axis=1)
    need = np.array([1.0 / (1.0 + counts.get(t, 0)) for t in topics])
    present = np.bincount(pred, minlength=len(topics)) > 0
    need = need * present
    slots = _quota_slots(need, batch)
    picks: list[int] = []
    for j in np.flatnonzero(slots):
        members = np.flatnonzero(pred == j)
        best = members[np.argsort(-keys[members], kind="stable")]
        picks += [int(rem[m]) for m in best[: slots[j]]]
    return _picks_first(ctx, picks, keys, rem, batch)


def _quota_slots(need: np.ndarray, n: int) -> np.ndarray:
    """``n`` places shared in proportion to ``need`` (largest remainders get the leftover places)."""
    share = need / need.sum() * n
    slots = np.floor(share).astype(int)
    for j in np.argsort(-(share - slots))[: n - slots.sum()]:
        slots[j] += 1
    return slots


def _picks_first(ctx, picks, keys, rem, batch):  # type: ignore[no-untyped-def]
    """The picks by key, then the rest by key, with near-duplicates kept apart."""
    chosen = set(picks)
    pos = {int(i): k for k, i in enumerate(rem)}
    head = sorted(picks, key=lambda i: -keys[pos[i]])
    rest = [int(rem[m]) for m in np.argsort(-keys, kind="stable") if int(rem[m]) not in chosen]
    return _spread_ranked(ctx, np.array(head + rest), rem, batch)


def pick_cquota(ctx, proba, rem, counts, batch, rng, alpha=1.0, inner="clu", mode="inv", beta=1.0, **kw):  # type: ignore[no-untyped-def]
    """Predicted-topic quotas (slots ~ (1/(1 + labels of the topic))**alpha), each topic's slots
    filled by the current clustering over its 30*slots smallest margins (``inner="clu"``) or by
    stochastic sampling (``inner="stoch"``); then the near-duplicate spread."""
    from classify.labelling.sampling import _cluster_picks

    p = proba[rem]
    u = _score(ctx, proba, rem, counts, **kw)
    # ``where``: which half the score ranks ("both"; "plain": the quota half by margin alone;
    # "quota": the plain half by margin alone).
    where = kw.get("where", "both")
    margin_u = 1.0 - sampling.margins(p)
    u_plain = margin_u if where == "quota" else u
    u = margin_u if where == "plain" else u
    topics = ctx["topics"]
    if kw.get("quota_norm"):
        # The quota half ranked by the selection SVM with word-vector columns at that norm (refitted
        # here on the labels of trainable topics, as simulate does), the plain half as given.
        done = _labelled(ctx, rem)
        lab = [ctx["pool_labels"][i] for i in done]
        keep = [i for i, y in zip(done, lab, strict=True) if counts.get(y, 0) >= 2]
        pq = proba_pool_svm_wv(ctx, keep, [ctx["pool_labels"][i] for i in keep], norm=kw["quota_norm"])[rem]
        u = 1.0 - sampling.margins(pq)
        p = pq
    pred = p.argmax(axis=1)
    need = np.array([(1.0 / (1.0 + counts.get(t, 0))) ** alpha for t in topics])
    need = need * (np.bincount(pred, minlength=len(topics)) > 0)
    share = kw.get("share", 1.0)
    if "sched" in kw:  # the quota share falls linearly from sched[0] at 0 labels to sched[1] at sched[2]
        s0, s1, n1 = kw["sched"]
        share = s0 + (s1 - s0) * min(1.0, sum(counts.values()) / n1)
    plain = batch - round(share * batch)  # the rest: the plain clustering of the top
    slots = _quota_slots(need, batch - plain)
    keys = _stoch_keys(u, rng, mode, beta, 0.1) if inner == "stoch" else u
    picks: list[int] = []
    if plain:
        skip = kw.get("skip", 0) * plain  # leave out the very top (the most ambiguous headlines)
        order = np.argsort(-u_plain, kind="stable")[skip : skip + 30 * plain]
        if kw.get("member"):
            nov = _novelty(ctx, rem, kw.get("lw", "log"))
            # Each cluster's pick maximises closeness * (eps + novelty).
            scale = kw.get("meps", 0.1) + nov[order]
            picks += _cluster_picks(
                rem[order], u_plain[order], ctx.get("cvecs", ctx["vecs"]), plain, 0, scale=scale
            )
        else:
            picks += _cluster_picks(rem[order], u_plain[order], ctx.get("cvecs", ctx["vecs"]), plain, 0)
    for j in np.flatnonzero(slots):
        members = np.flatnonzero(pred == j)
        members = np.array([m for m in members if int(rem[m]) not in picks], dtype=int)
        best = members[np.argsort(-keys[members], kind="stable")]
        if inner == "clu" and len(best) > slots[j]:
            top = best[: 30 * slots[j]]
            if kw.get("member"):
                nov = _novelty(ctx, rem, kw.get("lw", "log"))
                scale = kw.get("meps", 0.1) + nov[top]
                picks += _cluster_picks(
                    rem[top], u[top], ctx.get("cvecs", ctx["vecs"]), int(slots[j]), 0, scale=scale
                )
            else:
                picks += _cluster_picks(rem[top], u[top], ctx.get("cvecs", ctx["vecs"]), int(slots[j]), 0)
        else:
            picks += [int(rem[m]) for m in best[: slots[j]]]
    return _picks_first(ctx, picks, keys, rem, batch)


def _novelty(ctx, rem, lw_kind="log"):  # type: ignore[no-untyped-def]
    """Per candidate: summed weight of its words that no labelled headline has, scaled to [0, 1]."""
    if "wbin" not in ctx:
        from sklearn.feature_extraction.text import CountVectorizer

        W = CountVectorizer(binary=True, strip_accents="unicode").fit_transform(ctx["pool"]).tocsr()
        ctx["wbin"] = (W, np.asarray(W.sum(axis=0)).ravel().astype(float))
    W, df = ctx["wbin"]
    lw = {"log": np.log1p(df), "min3": np.log1p(df) * (df >= 3)}[lw_kind]
    seen = np.asarray(W[_labelled(ctx, rem)].sum(axis=0)).ravel() > 0
    new = np.asarray(W[rem] @ (lw * ~seen)).ravel()
    return new / (new.max() + 1e-12)


def _labelled(ctx: dict[str, Any], rem: np.ndarray) -> np.ndarray:
    return np.setdiff1d(np.arange(len(ctx["pool"])), rem)


def _cal(ctx, proba, rem, k=10, temp=1.0):  # type: ignore[no-untyped-def]
    """CAL (Margatina et al. 2021): mean KL(p(labelled neighbour) || p(candidate)) over the
    candidate's ``k`` nearest labelled headlines (cosine on the pool vectors)."""
    X = ctx["vecs"]
    done = _labelled(ctx, rem)
    p = _tempered(proba, temp)
    sims = (X[rem] @ X[done].T).toarray()
    kk = min(k, len(done))
    nb = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
    lp = np.log(np.clip(p, 1e-12, None))
    pn = p[done][nb]  # (n_rem, kk, topics)
    kl = (pn * (np.log(np.clip(pn, 1e-12, None)) - lp[rem][:, None, :])).sum(axis=2)
    return kl.mean(axis=1)


def _pool_clusters(ctx: dict[str, Any], n: int, svd: int) -> np.ndarray:
    key = ("clusters", n, svd)
    if key not in ctx:
        import warnings

        from sklearn.cluster import KMeans, MiniBatchKMeans

        X = ctx["vecs"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if svd:
                from sklearn.decomposition import TruncatedSVD
                from sklearn.preprocessing import normalize

                Z = normalize(TruncatedSVD(svd, random_state=0).fit_transform(X))
                ctx[key] = KMeans(n, n_init=1, random_state=0).fit(Z).labels_
            else:
                ctx[key] = MiniBatchKMeans(n, n_init=3, random_state=0, batch_size=1024).fit(X).labels_
    return ctx[key]


def _score(ctx, proba, rem, counts, **kw):  # type: ignore[no-untyped-def]
    """The acquisition score the cquota picker ranks and weights by (default 1 - margin)."""
    u = 1.0 - sampling.margins(proba[rem])
    kind = kw.get("score", "margin")
    if kind == "margin":
        pass
    elif kind == "cal":
        u = _cal(ctx, proba, rem, kw.get("k", 10), kw.get("temp", 1.0))
        u = u / (u.max() + 1e-12) + 1e-6
    elif kind == "calxu":  # margin uncertainty times CAL's divergence
        c = _cal(ctx, proba, rem, kw.get("k", 10), kw.get("temp", 1.0))
        u = u * (c / (c.max() + 1e-12)) ** kw.get("cpow", 1.0) + 1e-6
    elif kind == "cov":  # coverage: fewer labels in the headline's pool cluster, higher score
        lab = _pool_clusters(ctx, kw.get("nclu", 100), kw.get("svd", 0))
        held = np.bincount(lab[_labelled(ctx, rem)], minlength=lab.max() + 1)
        u = u * (1.0 / (1.0 + held[lab[rem]])) ** kw.get("g", 1.0)
    elif kind == "vocab":  # times the pool frequency of the words no labelled headline has yet
        if "wbin" not in ctx:
            from sklearn.feature_extraction.text import CountVectorizer

            W = CountVectorizer(binary=True, strip_accents="unicode").fit_transform(ctx["pool"]).tocsr()
            ctx["wbin"] = (W, np.asarray(W.sum(axis=0)).ravel().astype(float))
        W, df = ctx["wbin"]
        lw = {
            "log": np.log1p(df),  # log of the pool frequency
            "lin": df,  # the pool frequency itself
            "min3": np.log1p(df) * (df >= 3),  # words in fewer than 3 pool headlines ignored
            "sqrt": np.sqrt(df),
        }[kw.get("lw", "log")]
        seen = np.asarray(W[_labelled(ctx, rem)].sum(axis=0)).ravel() > 0
        new = np.asarray(W[rem] @ (lw * ~seen)).ravel()
        if kw.get("frac"):  # the share of the headline's word weight that is new, not the sum
            new = new / (np.asarray(W[rem] @ lw).ravel() + 1e-12)
        u = u * (kw.get("eps", 0.1) + new / (new.max() + 1e-12)) ** kw.get("g", 1.0)
    elif kind == "vocabc":  # words no labelled headline of the candidate's predicted topic has yet
        if "wbin" not in ctx:
            _novelty(ctx, rem)
        W, df = ctx["wbin"]
        lw = np.log1p(df)
        done = _labelled(ctx, rem)
        lab = np.asarray(ctx["pool_labels"])[done]
        pred = proba[rem].argmax(axis=1)
        new = np.zeros(len(rem))
        for j, t in enumerate(ctx["topics"]):
            members = np.flatnonzero(pred == j)
            if members.size:
                seen = np.asarray(W[done[lab == t]].sum(axis=0)).ravel() > 0
                new[members] = np.asarray(W[rem[members]] @ (lw * ~seen)).ravel()
        u = u * (kw.get("eps", 0.1) + new / (new.max() + 1e-12)) ** kw.get("g", 1.0)
    elif kind == "vocabv":  # the same over the pool vectors' features (words and character n-grams)
        if "vbin" not in ctx:
            V = ctx["vecs"].copy().tocsr()
            V.data[:] = 1.0
            ctx["vbin"] = (V, np.log1p(np.asarray(V.sum(axis=0)).ravel()))
        V, lw = ctx["vbin"]
        seen = np.asarray(V[_labelled(ctx, rem)].sum(axis=0)).ravel() > 0
        new = np.asarray(V[rem] @ (lw * ~seen)).ravel()
        u = u * (kw.get("eps", 0.1) + new / (new.max() + 1e-12)) ** kw.get("g", 1.0)
    elif kind in ("tod", "flips"):
        # Temporal output discrepancy (Huang et al. 2021): how much the candidate's distribution moved
        # since the previous refit (``tod``), or how often its predicted topic changed over all refits
        # (``flips``). A headline the model keeps changing its mind about is one more labels can still
        # settle (epistemic doubt); one that stays undecided refit after refit is ambiguous in itself.
        prev, flips = ctx.get("tod_prev"), ctx.get("tod_flips")
        if flips is None:
            flips = np.zeros(len(ctx["pool"]))
        if prev is not None:
            flips = flips + (prev.argmax(axis=1) != proba.argmax(axis=1))
            d = np.abs(proba - prev).sum(axis=1)
        else:
            d = np.ones(len(ctx["pool"]))
        ctx["tod_prev"], ctx["tod_flips"] = proba.copy(), flips
        if kind == "tod":
            d = d[rem]
            u = u * (kw.get("eps", 0.1) + d / (d.max() + 1e-12)) ** kw.get("g", 1.0)
        else:
            u = u * (1.0 + flips[rem]) ** kw.get("g", 1.0)
    elif kind == "contest":
        # Down-weight candidates whose nearest labelled headlines disagree among themselves: doubt
        # there is the labels' own ambiguity, which another label will not settle.
        X = ctx["vecs"]
        done = _labelled(ctx, rem)
        lab = np.asarray(ctx["pool_labels"])[done]
        col = {t: j for j, t in enumerate(ctx["topics"])}
        onehot = np.zeros((len(done), len(col)))
        onehot[np.arange(len(done)), [col[t] for t in lab]] = 1.0
        sims = (X[rem] @ X[done].T).toarray()
        kk = min(kw.get("k", 5), len(done))
        nb = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        w = np.take_along_axis(sims, nb, axis=1) * (
            np.take_along_axis(sims, nb, axis=1) >= kw.get("tau", 0.2)
        )
        dist = (onehot[nb] * w[:, :, None]).sum(axis=1)
        tot = dist.sum(axis=1, keepdims=True)
        q = np.where(tot > 0, dist / np.where(tot > 0, tot, 1.0), 0.0)
        ent = -(q * np.log(np.clip(q, 1e-12, None))).sum(axis=1) / np.log(max(2, min(kk, len(col))))
        strength = np.clip(tot.ravel() / kk, 0.0, 1.0) ** kw.get("sp", 0.0)  # optional: trust near ones
        u = u * (1.0 - kw.get("lam", 0.5) * ent * strength) + 1e-6
    else:
        raise ValueError(kind)
    return u


def pick_cal(ctx, proba, rem, counts, batch, rng, k=10, temp=1.0, **kw):  # type: ignore[no-untyped-def]
    """CAL as published: the ``batch`` highest divergences, with the near-duplicate spread."""
    score = _cal(ctx, proba, rem, k, temp)
    return _spread_ranked(ctx, rem[np.argsort(-score, kind="stable")], rem, batch)


PICKERS: dict[str, Callable[..., list[int]]] = {
    "cal": pick_cal,
    "cquota": pick_cquota,
    "stoch": pick_stoch,
    "badge": pick_badge,
    "clu": pick_clu,
    "current": pick_current,
    "margin": pick_margin,
    "density": pick_density,
    "balanced": pick_balanced,
    "baldens": pick_balanced_density,
    "mix": pick_mix,
    "rare": pick_rare_topic,
}


def simulate(
    ctx: dict[str, Any], seed: int, spec: dict[str, Any], selftrain: float | None = None
) -> list[float]:
    """One order's scores at the marks; with ``selftrain``, the model at each mark is trained as
    ``classify train --unlabelled POOL --threshold SELFTRAIN`` (the rest of the pool unlabelled)."""
    pool, pool_labels, topics = ctx["pool"], ctx["pool_labels"], ctx["topics"]
    batch = spec.get("batch", 20)
    model = MODELS[spec.get("model", "pipe")]
    picker = PICKERS[spec.get("pick", "current")]
    kw = spec.get("kw", {})
    pick_ctx = ctx  # what the picker sees: the batch's clustering ("cluvecs") or all of its
    if "cluvecs" in spec:  # similarities ("allvecs") on the unit-length [TF-IDF, word vectors]
        pick_ctx = {**ctx, "cvecs": _unit_rows(_word_vector_matrix(ctx, spec["cluvecs"]))}
    if "allvecs" in spec:
        pick_ctx = {**ctx, "vecs": _unit_rows(_word_vector_matrix(ctx, spec["allvecs"]))}
    for key in ("tod_prev", "tod_flips"):  # the tod/flips scores' history is per run
        pick_ctx.pop(key, None)
    rng = np.random.default_rng(seed)
    answered: list[int] = []
    remaining = np.ones(len(pool), dtype=bool)
    counts: Counter[str] = Counter()
    cold_kind = spec.get("cold", "diverse")
    if cold_kind == "diverse":
        cold_vecs = (
            _unit_rows(_word_vector_matrix(ctx, spec["coldvecs"])) if "coldvecs" in spec else ctx["vecs"]
        )
        cold = sampling.diverse_order(cold_vecs, np.arange(len(pool)), limit=300, seed=seed)
    else:
        cold = [int(i) for i in rng.permutation(len(pool))]
    cold_n = spec.get("cold_n")  # None: until cold_start_over
    scores = []
    marks = EXPLORE_MARKS if spec.get("explore") else CHECKPOINTS
    while len(answered) < marks[-1]:
        in_cold = (
            len(answered) < cold_n
            if cold_n is not None
            else not sampling.cold_start_over(dict(counts), topics, len(answered))
        )
        labelled = [pool_labels[i] for i in answered]
        if in_cold or len(set(labelled)) < 2:
            nxt = [i for i in cold if remaining[i]][: 1 if cold_n is None else cold_n - len(answered)]
        else:
            keep = [j for j, y in enumerate(labelled) if counts[y] >= 2]
            proba = model(
                ctx, [answered[j] for j in keep], [labelled[j] for j in keep], **spec.get("model_kw", {})
            )
            step = batch if len(answered) >= spec.get("small_until", 0) else spec.get("small_batch", batch)
            nxt = picker(pick_ctx, proba, np.flatnonzero(remaining), dict(counts), step, rng, **kw)
        for i in nxt:
            answered.append(int(i))
            remaining[i] = False
            counts[pool_labels[i]] += 1
            if len(answered) in marks:
                picked = ([pool[j] for j in answered], [pool_labels[j] for j in answered])
                if selftrain is None:
                    scores.append(macro_f1(*picked, ctx["test"], ctx["test_labels"], topics))
                else:
                    scores.append(
                        self_trained_f1(*picked, pool, ctx["test"], ctx["test_labels"], topics, selftrain)
                    )
            if len(answered) >= marks[-1]:
                break
    return scores


def _log() -> list[dict[str, Any]]:
    if not LOG.is_file():
        return []
    return [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]


def main() -> int:
    from sklearn.model_selection import train_test_split

    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="ag_news")
    parser.add_argument("--seeds", default="3")
    parser.add_argument("--variant", action="append", default=[], help="JSON spec or name")
    parser.add_argument("--summary", action="store_true", help="write active_variants.md and stop")
    parser.add_argument(
        "--selftrain",
        type=float,
        metavar="THRESHOLD",
        help="score every order (random too) with self-training on the pool at this threshold",
    )
    args = parser.parse_args()
    if args.summary:
        write_text_atomic(LOG.with_suffix(".md"), summary(_log()))
        return 0
    for name_set in args.sets.split(","):
        texts, labels = {"ag_news": ag_news, "huffpost": huffpost}[name_set]()
        topics = sorted(set(labels))
        for seed in [int(x) for x in args.seeds.split(",")]:
            pool, test, pool_labels, test_labels = train_test_split(
                texts, labels, test_size=0.2, stratify=labels, random_state=seed
            )
            ctx = {
                "pool": pool,
                "pool_labels": pool_labels,
                "test": test,
                "test_labels": test_labels,
                "topics": topics,
                "vecs": sampling.vectors(pool),
            }
            tag = pipeline_tag() + (f"+st{args.selftrain:g}" if args.selftrain is not None else "")
            cached = [
                r
                for r in _log()
                if r["set"] == name_set
                and r["seed"] == seed
                and r["variant"] == "random"
                and r.get("pipeline", "tfidf") == tag
            ]
            if cached:
                rand = cached[-1]["scores"]
            else:
                pairs = run_random(pool, pool_labels, test, test_labels, topics, seed, args.selftrain)
                rand = [f if args.selftrain is None else trained for f, trained in pairs]
                _append(
                    {
                        "set": name_set,
                        "seed": seed,
                        "variant": "random",
                        "spec": {},
                        "scores": rand,
                        "pipeline": tag,
                    }
                )
            print(f"{name_set} {seed} random      ", " ".join(f"{s:.3f}" for s in rand), flush=True)
            for v in args.variant:
                spec = json.loads(v) if v.startswith("{") else {"name": v}
                name = spec.pop("name", v)
                t0 = time.perf_counter()
                scores = simulate(ctx, seed, spec, args.selftrain)
                secs = time.perf_counter() - t0
                marks = EXPLORE_MARKS if spec.get("explore") else CHECKPOINTS
                reach = next((n for n, s in zip(marks, scores, strict=True) if s >= rand[-1]), None)
                _append(
                    {
                        "set": name_set,
                        "seed": seed,
                        "variant": name,
                        "spec": spec,
                        "scores": scores,
                        "reach": reach,
                        "seconds": round(secs, 1),
                        "pipeline": tag,
                    }
                )
                print(
                    f"{name_set} {seed} {name:12s}",
                    " ".join(f"{s:.3f}" for s in scores),
                    f"reach={reach} ({secs:.0f}s)",
                    flush=True,
                )
    return 0


#: Text of the third round of variants  in the summary.
THIRD_ROUND = """\
Third round (the directions not tried before; seeds 3-8; every cquota variant below keeps
s0.5's quota half unless it says otherwise). `-rerun`: s0.5 measured again in the same session (AG
0.652, HuffPost 0.330 at 600 on seeds 3-8; 0.652 and 0.332 on 3-14: the reference for this round).
`svm-cal`: contrastive active learning (CAL, Margatina et al. 2021): the batch with the highest mean
KL divergence between the selection model's distribution for the 10 nearest labelled headlines and
the candidate's, with the near-duplicate rule; `cquota-cal`: CAL's score in place of 1 - margin in
s0.5; `calxu`: their product. `cov100`: coverage, 1 - margin times 1/(1 + labels in the candidate's
cluster of a 100-cluster k-means of the pool, computed once). `selftrain`: the selection SVM
refitted on the labels plus the 20% most confident pseudo-labels of each predicted topic (weight
0.3). `sched1-0` / `sched0.75-0.25`: the quota share falling linearly with the labels, from 1 to 0
(or 0.75 to 0.25) at 600. `pfeat`: the selection SVM on the evaluated pipeline's own features (word
1-2 + char_wb 2-5 TF-IDF) fitted on the pool, C=0.5 (`pfeat1`: C=1). `bag5`/`bag10`: query by
bagging (Abe & Mamitsuka 1998), the mean softmax of 5 (10) SVMs on stratified bootstrap resamples
(`sub0.7`: 70% subsamples). `vocab`: vocabulary coverage, 1 - margin times (eps + the summed log(1 +
pool frequency) of the candidate's words no labelled headline has, scaled to [0, 1])**g (eps 0.1
unless `eps`; g 1 unless `vocab0.5`/`vocab2`; `lin`/`sqrt`: the pool frequency itself / its square
root as word weight; `min3`: words in fewer than 3 pool headlines ignored; `frac`: the new share of
the headline's word weight instead of the sum; `-plain`: only in the plain half; `vocabv`: over the
pool vectors' word and character features; `vocabc`: the words no labelled headline of the
candidate's predicted topic has). `memnov`: the clustering as s0.5 but each cluster's pick maximises
closeness to the centre times (0.1 + that novelty). `-full`: the whole curve (to 1,000 labels) on
the benchmark's seeds 0-2.

Third-round verdict: nothing beat s0.5 on both sets, so the product order stayed. CAL, coverage
clusters, the self-trained and the pipeline-feature selection models and the schedules were level or
worse on AG News (0.625-0.663 against 0.652-0.662). Query by bagging (bag5) looked better on both
sets on seeds 3-8 (AG 0.666, HuffPost 0.339) but worse on seeds 9-14 (AG 0.645 against 0.652,
HuffPost 0.314 against 0.333), and bag10 did not repeat it: noise. Vocabulary coverage is the one
real effect, and only on AG News: +0.01 to +0.02 at 600 labels and +0.03 at 200 on seeds 3-8 (0.672
against 0.652 in the same session), +0.009 on seeds 0-2 (0.667 against 0.658), yet it reaches
random's 1,000-label score (0.683) only at 800 labels there, as s0.5 does, and it costs HuffPost
0.01-0.04 at 600 labels in every form but one (it draws labels to the big sections: POLITICS got 171
of 600 labels instead of 138 on seed 3, the rare sections fewer). Confined to the quota half
(`-quota-s0.5`), where the places per topic are fixed, it was level on HuffPost on seeds 3-8 (0.331)
but 0.011 lower on seeds 9-14 (0.321 against 0.333), with AG +0.006 there. Counting a word as new
per predicted topic (`vocabc`, meant to favour the sparsely labelled sections) did not help HuffPost
either (0.315, or 0.325 in the quota half).
"""


#: Text of the fifth round (static word vectors in the order) in the summary.
FIFTH_ROUND = """\
Fifth round (static word vectors; the evaluated pipeline now trains with them, `word_vectors`
0.35, so these rows are tagged `[wv0.35]` and compared with random order re-measured with that
pipeline: random's 1,000-label score is 0.720 on AG News and 0.360 on HuffPost on seeds 0-2, against
0.683 and 0.337 before). `svmwvN`: the selection SVM on [pool TF-IDF, the shipped word vectors as
columns] (`classify.pipeline.linear.VectorColumns` over the pool vectors' word block, standardised on the
pool,
a row's vector part scaled to norm N); `-cluwv`: also the batch's k-means on those vectors (unit rows);
`-allwv`: also the near-duplicate rule; `svmpair`: the mean of the SVMs without and with the vectors;
`-quotawvN`: only the quota half ranked by the SVM with vectors; `-coldwvN`: the cold start's
`diverse_order` on the unit-length [TF-IDF, vectors at norm N] (the same matrix, to 2e-8, as a
`sampling` function would build from a fresh word vectorizer).

Fifth-round verdict: nothing better on both sets, so the product order stayed. Word vectors in the
selection model lower AG News at every norm (600 labels, seeds 3-8: 0.699 without, 0.694 / 0.680 /
0.664 / 0.659 at norms 0.15 / 0.35 / 0.7 / 1.0; 0.683 against 0.696 on seeds 0-2 at 0.15) and raise
HuffPost a little (0.347 -> 0.358 / 0.354 / 0.338 / 0.345; 0.357 against 0.344 on seeds 0-2), the
pattern vocabulary coverage showed the other way round; clustering (and the near-duplicate rule)
on the augmented vectors does not change that (AG 0.646-0.679, HuffPost 0.350-0.365), nor does the
committee (AG 0.694, HuffPost 0.338) or the vectors in the quota half only (AG 0.693 / 0.682,
HuffPost 0.342 / 0.352). The cold start on the vector space (`coldwv1.0`) looked better on HuffPost
on seeds 3-8 (0.362 against 0.347, and 0.231 against 0.187 at 200 labels) with AG level (0.702 /
0.699), but not at norms 0.7 or 2.0 (HuffPost 0.342, 0.353), and on seeds 9-14 HuffPost was 0.344
against 0.349 and on seeds 0-2 AG 0.687 against 0.696 (HuffPost 0.353 against 0.344): noise around
zero. With the word-vector pipeline the
product order (`svm-cquota-clu-s0.5-full [wv0.35]`, seeds 0-2) reaches random's 1,000-label score at
900 labels on AG News (0.720 at 800, against random's 0.7201) and 700 on HuffPost.
"""


#: Text of the sixth round (telling the model's own doubt from the headlines' ambiguity).
SIXTH_ROUND = """\
Sixth round (`[wv0.35]`, seeds 3-8 at 600 labels; base `svm-cquota-clu-s0.5`: AG 0.699,
HuffPost 0.347). Aim: stop asking about headlines that are ambiguous in themselves (many AG News
headlines fit two topics), on the guess that uncertainty keeps choosing them (the diagnostic below
found that on AG News it hardly does). `-tod`:
temporal output discrepancy (Huang et al. 2021), 1 - margin times (eps + the L1 change of the
candidate's distribution since the previous refit, scaled to [0, 1]) (eps 0.1, or 0.5); `-flips`:
1 - margin times (1 + how often the candidate's predicted topic changed over all refits)**g (g 1 or
0.5); `-contestL`: 1 - margin times (1 - L * the normalised entropy of the topics of the candidate's 5
nearest labelled headlines with similarity at least 0.2, weighted by similarity) (L 0.5 or 1).
Also the selection SVM's C at 3 and 0.1 (`svm3`, `svm0.1`; 0.3 was tried in the first round).
Verdict: none better. TOD was worse on both sets (AG 0.638 / 0.651, HuffPost 0.311 / 0.316): a
headline's distribution moves most while the model knows little near it, which is not where labels
pay off. Flips: AG 0.689 / 0.685, HuffPost 0.338 / 0.339. Contested neighbourhoods: AG 0.692 / 0.697,
HuffPost 0.345 / 0.343. C 3: AG 0.699, HuffPost 0.348 (level); C 0.1: 0.693 and 0.334. Why
avoiding ambiguous headlines cannot gain much on AG News (`python -m bench.active_ambiguity`,
active_ambiguity.md, seeds 0-2): a model trained by 5-fold cross-validation on the whole pool with
every label gives the right topic less than 0.5 probability for 22% of AG News headlines, and 22-27%
of the order's first 600 questions are such headlines against 21-26% of random order's. On HuffPost
the order does ask about more of them (44-46% against 34-39%; 37% of the pool) and still does better
there than on AG News.

Judged with self-training (`--selftrain 0.7`, rows tagged `[wv0.35+st0.7]`): each model at a mark is
trained as `classify train labels.csv --unlabelled POOL --threshold 0.7` would train it, random order's
too. On AG News (seeds 3-8) random order scores 0.757 at 600 labels and 0.774 at 1,000; the product
order 0.758 at 600, with the cold start on the vector space 0.764, with a quarter of each batch random
(`svm-mix25`) 0.759, with the vectors in the selection SVM at norm 0.15 0.765: the pool's pseudo-labels
lift random order as much as any order, so the gap to 1,000 labels stays. On HuffPost random order
scores 0.318 at 600 and 0.387 at 1,000; the product order 0.378, the cold start on the vector space
0.405, the vectors in the selection SVM 0.381, a quarter random 0.351. The vector-space cold start,
noise around zero when judged without the pool over 18 seeds (fifth round), is ahead on both sets
here (+0.006 on AG News, +0.027 on HuffPost), but it does not bring AG News near its target either,
so the product order stays.
"""


def summary(rows: list[dict[str, Any]]) -> str:
    """Markdown table: each variant's mean macro-F1 at 200/400/600 labels over the seeds it ran on,
    beside random order's on the same seeds (its 600- and 1000-label scores)."""
    runs: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for r in rows:
        # Rows scored with another pipeline than the first (tfidf) are their own variants, named
        # with their pipeline, and compared with random order scored by the same pipeline.
        tag = r.get("pipeline", "tfidf")
        variant = r["variant"] if tag == "tfidf" else f"{r['variant']} [{tag}]"
        runs.setdefault((r["set"], variant), {})[r["seed"]] = r  # a rerun replaces
    at = [CHECKPOINTS.index(n) for n in EXPLORE_MARKS]
    md = [
        "# Active learning: every variant of the order measured for the labelling order",
        "",
        "`python -m bench.active_variants` (log: `active_variants.jsonl`, one line per run, with its spec).",
        "Mean macro-F1 on the held-out 20% over the seeds listed; random is the same seeds' random order.",
        "Exploration ran on seeds 3 and 4 (first runs on seed 0) so that the benchmark's seeds 0-2 judge",
        "the winner; runs marked `explore` stop at 600 labels. Scores of one seed vary by about 0.02.",
        "",
        "Names are model-picker. Models (what the selection reads): `pipe`, the project pipeline's",
        "calibrated probabilities (the order before 0.2); `svm`, a LinearSVC (balanced, C=1 unless",
        "`svmC`) on the pool's own TF-IDF vectors, softmax of its raw scores (the winner, now",
        "`sampling.selection_proba`); `lr`, logistic regression on the same vectors (C=10 unless",
        "`lrC`; too slow on HuffPost's 19 topics, stopped); `qbc`, a word-SVM and a character-SVM averaged.",
        "Pickers: `current`, `sampling.labelling_order` (the 30*batch smallest margins clustered by",
        "weighted k-means, the most typical of each cluster); `margin`, smallest margin first with the",
        "near-duplicate rule only; `clu`, the same clustering over a score (`p`: pool multiple, `raw`: the",
        "raw score gap, `u2`: uncertainty squared, `dens`: times information density, `nov`: times",
        "distance to the nearest labelled headline, `bal`: times 1/sqrt(1 + labels of the predicted top",
        "two topics)); `balanced`, that class-balance score with the clustering; `rare25`, a quarter of",
        "each batch from the least-labelled predicted topics; `badge`, BADGE's k-means++ on gradient",
        "embeddings; `mix25`, a quarter of each batch at random. `b10`: refit every 10 answers instead",
        "of 20; `coldrand`: random cold start; `cold50div`/`cold50rand`: the first 50 diverse/random",
        "(`cold100rand`..`cold200rand`: a longer random warm-up).",
        "",
        "Second round (exploration seeds 3-8, since a run now takes seconds):",
        "`stoch`, stochastic batch acquisition (Kirsch et al. 2023): the batch drawn without replacement",
        "(Gumbel-top-k) with p ~ u**beta (`pow`, u = 1 - margin), p ~ exp(u / (T * std u)) (`softmax`),",
        "p ~ rank**-beta (`softrank`) or p ~ margin**-beta (`inv`), then the near-duplicate rule; `-clu30`:",
        "the clustering over a stochastic draw of 30*batch; `-quota`: the batch split across predicted",
        "topics by 1/(1 + their labels); `-pt0.5`: temperature 0.5 on the scores before the margin.",
        "`cquota`, predicted-topic quotas (places ~ (1/(1 + labels))**alpha, `a2`: alpha 2) filled per",
        "topic by the clustering of its 30*places smallest margins (`clu`) or by `inv` sampling; `sX`:",
        "only a share X of the batch by quota, the rest by `current`'s clustering (s0.5: the winner, now",
        "`sampling.labelling_order` with `counts`; `-b10`: refit every 10; `-stochinv1`: the",
        "quota places by `inv` sampling; `-skip5`: the plain half clustered from below the top 5*places;",
        "`svm0.3-cquota...`: with C=0.3). The bench's selection SVM has no fixed",
        "random_state, so a rerun of one seed moves by up to ~0.015.",
        "",
        *THIRD_ROUND.splitlines(),
        "",
        *FIFTH_ROUND.splitlines(),
        "",
        *SIXTH_ROUND.splitlines(),
        "",
        "| set | variant | seeds | 200 | 400 | 600 | random 600 | random 1000 | 600 - random 1000 | spec |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name_set, variant), by_seed in sorted(runs.items()):
        if variant == "random":
            continue
        if variant.startswith("random"):
            continue
        tag = next(iter(by_seed.values())).get("pipeline", "tfidf")
        rand = runs.get((name_set, "random" if tag == "tfidf" else f"random [{tag}]"), {})
        seeds = sorted(s for s in by_seed if s in rand)
        if not seeds:
            continue

        def three(scores: list[float]) -> list[float]:
            return scores if len(scores) == len(EXPLORE_MARKS) else [scores[i] for i in at]

        mean = np.mean([three(by_seed[s]["scores"]) for s in seeds], axis=0)
        r600 = float(np.mean([rand[s]["scores"][CHECKPOINTS.index(600)] for s in seeds]))
        r1000 = float(np.mean([rand[s]["scores"][-1] for s in seeds]))
        cells = " | ".join(f"{x:.3f}" for x in mean)
        spec = json.dumps(next(iter(by_seed.values()))["spec"])
        md.append(
            f"| {name_set} | {variant} | {','.join(map(str, seeds))} | {cells} | {r600:.3f} | {r1000:.3f} "
            f"| {mean[-1] - r1000:+.3f} | `{spec}` |"
        )
    return "\n".join(md) + "\n"


def _append(row: dict[str, Any]) -> None:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
        fh.flush()


if __name__ == "__main__":
    sys.exit(main())
