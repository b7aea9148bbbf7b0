"""Prediction sets and multi-label labels: coverage, set size, F1 and cost, with MAPIE and crepes beside.

    nice python -m bench.sets                      # everything (~15-25 minutes on a shared core)
    nice python -m bench.sets --only coverage      # or: multilabel, speed

Writes ``bench/results/sets.md`` and ``bench/results/sets.json``.

1. Coverage (AG News test, BBC titles, HuffPost sections with 100+ rows; 5-fold stratified, seed 0).
   Each fold trains a classify model with ``classify.training.memory.train`` (the generic settings),
   which stores the calibration scores of its sets (the held-out probabilities its temperature was
   fitted on); the test rows' sets are cut from them at 0.8, 0.9 and 0.95. On the very same scores
   (calibration: the fold model's held-out probabilities; test: its probabilities for the test rows)
   MAPIE's ``SplitConformalClassifier`` (LAC, prefit) and crepes' ``ConformalClassifier`` (LAC
   nonconformity ``1 - p``, no smoothing) give their sets, so that the comparison is of the set
   rule alone.
2. Multi-label (``data/multilabel.csv``, read at run time from the corpus worktree or ``data/``):
   5-fold cross-validation of the classify pipeline on it (one row per topic, thresholds per topic)
   against one-vs-rest logistic regression on the same features with one 0.5 threshold, and against
   the best topic alone; and the default model (trained on the corpus with its second topics, when
   that corpus has them) scored on it as held-out data.
3. Cost: ``predict_files`` of 200,000 distinct headlines to JSON Lines, with and without sets and labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets import ROOT, ag_news, bbc_titles, huffpost

RESULTS = ROOT / "bench" / "results"
LEVELS = (0.8, 0.9, 0.95)
FOLDS = 5
SEED = 0
#: Where the corpus helper writes the multi-label set and the corpus with second topics.
CORPUS_WORKTREE = ROOT.parent / "wt-corpus" / "data"


def _lookup_estimator(proba: np.ndarray, classes: np.ndarray) -> Any:
    """A prefit scikit-learn classifier whose ``predict_proba`` of row indices is stored probabilities,
    so that MAPIE sees exactly the scores classify's sets are cut from."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    class Lookup(ClassifierMixin, BaseEstimator):
        def fit(self, X: Any, y: Any) -> Any:
            return self

        def predict_proba(self, X: Any) -> np.ndarray:
            return proba[np.asarray(X, dtype=int).ravel()]

        def predict(self, X: Any) -> np.ndarray:
            return self.classes_[self.predict_proba(X).argmax(axis=1)]

    est = Lookup()
    est.classes_ = classes
    est.fitted_ = True
    return est


def coverage_on(name: str, texts: list[str], labels: list[str]) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    from classify.io.labelled import LabelledData
    from classify.pipeline.sets import set_mask
    from classify.training.memory import train

    topics = sorted(set(labels))
    codes = np.asarray([topics.index(t) for t in labels])
    held = {m: {lv: np.zeros(len(texts), bool) for lv in LEVELS} for m in ("classify", "mapie", "crepes")}
    size = {m: {lv: np.zeros(len(texts)) for lv in LEVELS} for m in held}
    per_topic_held = np.zeros(len(texts), bool)
    per_topic_size = np.zeros(len(texts))
    accuracy = np.zeros(len(texts), bool)
    started = time.perf_counter()
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fold, (tr, te) in enumerate(splitter.split(codes, codes)):
        data = LabelledData([texts[i] for i in tr], [labels[i] for i in tr], source=name)
        model = train(data).model
        assert list(model.topics) == topics
        proba = model.predict_proba([texts[i] for i in te])
        truth = codes[te]
        accuracy[te] = proba.argmax(axis=1) == truth
        conformal = model.conformal()
        for lv in LEVELS:
            mask = set_mask(proba, conformal.cuts(topics, lv))
            held["classify"][lv][te] = mask[np.arange(len(te)), truth]
            size["classify"][lv][te] = mask.sum(axis=1)
        mask = set_mask(proba, conformal.cuts(topics, 0.9, per_topic=True))
        per_topic_held[te] = mask[np.arange(len(te)), truth]
        per_topic_size[te] = mask.sum(axis=1)
        # The same calibration scores for MAPIE and crepes: the fold model's held-out probabilities.
        clf = model.pipeline.named_steps["clf"]
        cal_proba = np.asarray(clf.oof_proba_)
        cal_codes = codes[tr] if clf.oof_rows_ is None else codes[tr][clf.oof_rows_]
        _others(proba, truth, cal_proba, cal_codes, topics, te, held, size)
        print(f"  {name} fold {fold + 1}/{FOLDS}: {time.perf_counter() - started:.0f}s", file=sys.stderr)
    out: dict[str, Any] = {"rows": len(texts), "topics": len(topics), "accuracy": float(accuracy.mean())}
    for method in held:
        out[method] = {
            str(lv): {
                "coverage": round(float(held[method][lv].mean()), 4),
                "mean_set_size": round(float(size[method][lv].mean()), 4),
                "singleton_share": round(float((size[method][lv] == 1).mean()), 4),
            }
            for lv in LEVELS
        }
    out["classify_per_topic_0.9"] = {
        "coverage": round(float(per_topic_held.mean()), 4),
        "worst_topic_coverage": round(
            float(min(per_topic_held[codes == j].mean() for j in range(len(topics)))), 4
        ),
        "mean_set_size": round(float(per_topic_size.mean()), 4),
    }
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def _others(
    proba: np.ndarray,
    truth: np.ndarray,
    cal_proba: np.ndarray,
    cal_codes: np.ndarray,
    topics: list[str],
    te: np.ndarray,
    held: dict[str, Any],
    size: dict[str, Any],
) -> None:
    from crepes import ConformalClassifier
    from mapie.classification import SplitConformalClassifier

    rows = np.arange(len(te))
    classes = np.asarray(topics)
    stacked = np.vstack([cal_proba, proba])
    est = _lookup_estimator(stacked, classes)
    mapie = SplitConformalClassifier(estimator=est, confidence_level=list(LEVELS), prefit=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapie.conformalize(np.arange(len(cal_proba))[:, None], classes[cal_codes])
        _, sets = mapie.predict_set(np.arange(len(cal_proba), len(stacked))[:, None])
    for k, lv in enumerate(LEVELS):
        mask = np.asarray(sets[:, :, k], dtype=bool)
        held["mapie"][lv][te] = mask[rows, truth]
        size["mapie"][lv][te] = mask.sum(axis=1)
    crepes = ConformalClassifier().fit(1.0 - cal_proba[np.arange(len(cal_codes)), cal_codes])
    for lv in LEVELS:
        mask = np.asarray(crepes.predict_set(1.0 - proba, confidence=lv, smoothing=False), dtype=bool)
        held["crepes"][lv][te] = mask[rows, truth]
        size["crepes"][lv][te] = mask.sum(axis=1)


# ---------------------------------------------------------------------------------------- multi-label


def multilabel_path() -> Path | None:
    for folder in (CORPUS_WORKTREE, ROOT / "data"):
        if (folder / "multilabel.csv").is_file():
            return folder / "multilabel.csv"
    return None


def multilabel(path: Path) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from sklearn.multiclass import OneVsRestClassifier

    from classify.evaluation.sets import multilabel_scores
    from classify.io.labelled import LabelledData, load_labelled
    from classify.pipeline.model import build_pipeline
    from classify.pipeline.sets import Thresholds, label_mask
    from classify.training.memory import train

    data = load_labelled(path, label_col="topics")
    sets = data.topic_sets()
    topics = sorted({t for s in sets for t in s})
    truth = np.zeros((len(data), len(topics)), bool)
    for i, s in enumerate(sets):
        truth[i, [topics.index(t) for t in s]] = True
    preds = {name: np.zeros_like(truth) for name in ("classify labels", "one-vs-rest, 0.5", "top-1 only")}
    last: Thresholds | None = None
    for tr, te in KFold(n_splits=FOLDS, shuffle=True, random_state=SEED).split(data.texts):
        fold = LabelledData(
            [data.texts[i] for i in tr],
            [data.labels[i] for i in tr],
            label_sets=tuple(sets[i] for i in tr),
        )
        model = train(fold).model
        own = [topics.index(t) for t in model.topics]
        proba = np.zeros((len(te), len(topics)))
        proba[:, own] = model.predict_proba([data.texts[i] for i in te])
        last = model.thresholds()
        assert last is not None
        preds["classify labels"][te] = label_mask(proba, last.array(topics))
        preds["top-1 only"][te] = label_mask(proba, np.full(len(topics), 2.0))
        features = build_pipeline().named_steps["features"]
        X = features.fit_transform([data.texts[i] for i in tr])
        ovr = OneVsRestClassifier(LogisticRegression(C=10.0, max_iter=2000)).fit(X, truth[tr])
        ovr_proba = ovr.predict_proba(features.transform([data.texts[i] for i in te]))
        preds["one-vs-rest, 0.5"][te] = label_mask(ovr_proba, np.full(len(topics), 0.5))
    out: dict[str, Any] = {
        "path": str(path.relative_to(ROOT.parent)),
        "rows": len(data),
        "with_two_or_more": int(sum(len(s) > 1 for s in sets)),
        "cv": {name: multilabel_scores(truth, p, topics, last).to_dict() for name, p in preds.items()},
    }
    out["default_model"] = default_model_on(data, truth, topics)
    return out


def default_model_on(data: Any, truth: np.ndarray, topics: list[str]) -> dict[str, Any]:
    """The default model trained on the corpus (with its second topics, where it has them), scored on
    the multi-label set as held-out data."""
    import classify.training.default_model as dm
    from classify.evaluation.sets import multilabel_scores
    from classify.pipeline.sets import label_mask

    if (CORPUS_WORKTREE / "headlines.csv").is_file():
        dm.corpus_path = lambda: CORPUS_WORKTREE / "headlines.csv"  # type: ignore[assignment]
        dm.lexicon_path = lambda: CORPUS_WORKTREE / "lexicon.csv"  # type: ignore[assignment]
    corpus = dm.default_training_data(lexicon=False)
    overlap = len(set(corpus.texts) & set(data.texts))
    started = time.perf_counter()
    model, _, _ = dm.build_default_model(Path("/tmp/bench-sets-default.model"))
    seconds = time.perf_counter() - started
    own = [topics.index(t) for t in model.topics]
    proba = np.zeros((len(data), len(topics)))
    proba[:, own] = model.predict_proba(data.texts)
    thresholds = model.thresholds()
    result: dict[str, Any] = {
        "corpus": str(dm.corpus_path().relative_to(ROOT.parent)),
        "corpus_rows_with_two": int(sum(len(s) > 1 for s in corpus.topic_sets())),
        "headlines_also_in_corpus": overlap,
        "build_seconds": round(seconds, 1),
        "top-1 only": multilabel_scores(
            truth, label_mask(proba, np.full(len(topics), 2.0)), topics
        ).to_dict(),
    }
    if thresholds is not None:
        labels = label_mask(proba, thresholds.array(topics))
        result["labels"] = multilabel_scores(truth, labels, topics, thresholds).to_dict()
    return result


def default_sets() -> dict[str, Any]:
    """The default model's sets on real headlines (mapped scoring: a set covers when it holds one of
    the topics the set's label maps to), at 0.8, 0.9 and 0.95: its calibration scores come from its
    own corpus, so off its home ground the coverage is what this measures."""
    from bench.datasets import DEFAULT_TOPIC_MAP
    from classify.pipeline.model import load_model
    from classify.pipeline.sets import set_mask

    model = load_model(Path("/tmp/bench-sets-default.model"))
    topics = list(model.topics)
    out: dict[str, Any] = {}
    for name, loader, key in (("bbc_titles", bbc_titles, "bbc"), ("ag_news", ag_news, "ag_news")):
        texts, labels = loader()
        proba = model.predict_proba(texts)
        ok = np.asarray([[t in DEFAULT_TOPIC_MAP[key][lab] for t in topics] for lab in labels])
        row: dict[str, Any] = {
            "rows": len(texts),
            "top1": round(float(ok[np.arange(len(texts)), proba.argmax(1)].mean()), 4),
        }
        for lv in LEVELS:
            mask = set_mask(proba, model.conformal().cuts(topics, lv))
            row[str(lv)] = {
                "coverage": round(float((mask & ok).any(axis=1).mean()), 4),
                "mean_set_size": round(float(mask.sum(axis=1).mean()), 4),
            }
        out[name] = row
    return out


# ---------------------------------------------------------------------------------------------- cost


def speed(n: int = 200_000, repeats: int = 3) -> dict[str, Any]:
    import io

    from bench.speed import make_headlines
    from classify.io.labelled import LabelledData
    from classify.pipeline.model import Model
    from classify.prediction.files import predict_files
    from classify.prediction.results import PredictOptions
    from classify.training.memory import train

    texts, labels = ag_news()
    model = train(LabelledData(texts, labels)).model
    # A multi-label model: AG's own rows plus a tenth of them given a second topic (made up, for
    # the cost only), and the same weights without the thresholds for the plain run.
    rng = np.random.default_rng(SEED)
    topics = sorted(set(labels))
    sets = tuple(
        (lab, topics[(topics.index(lab) + 1) % len(topics)]) if rng.random() < 0.1 else (lab,)
        for lab in labels
    )
    multi = train(LabelledData(texts, labels, label_sets=sets)).model
    plain_multi = Model(multi.pipeline, {k: v for k, v in multi.meta.items() if k != "multilabel"})
    default = Path("/tmp/bench-sets-default.model")  # built by the multi-label part, when it ran
    runs_default: dict[str, Any] = {}
    if default.is_file():
        from classify.pipeline.model import load_model

        ten = load_model(default)
        if ten.multilabel:
            stripped = Model(ten.pipeline, {k: v for k, v in ten.meta.items() if k != "multilabel"})
            runs_default = {
                "default model (10 topics) weights, plain (no labels)": (stripped, PredictOptions()),
                "default model (10 topics), labels": (ten, PredictOptions()),
                "default model (10 topics), labels + --coverage 0.9": (ten, PredictOptions(coverage=0.9)),
            }
    headlines = make_headlines(n)
    source = Path("/tmp/bench-sets-headlines.txt")
    source.write_text("\n".join(headlines) + "\n", encoding="utf-8")
    runs = {
        "single-label model, plain": (model, PredictOptions()),
        "single-label model, --coverage 0.9": (model, PredictOptions(coverage=0.9)),
        "multi-label weights, plain (no labels)": (plain_multi, PredictOptions()),
        "multi-label model, labels": (multi, PredictOptions()),
        "multi-label model, labels + --coverage 0.9": (multi, PredictOptions(coverage=0.9)),
    }
    runs.update(runs_default)
    out: dict[str, Any] = {"headlines": n, "repeats": repeats, "format": "jsonl"}
    for name, (m, options) in runs.items():
        times = []
        for _ in range(repeats):
            sink = io.StringIO()
            started = time.process_time()
            predict_files(m, [source], sink, fmt="jsonl", options=options, split=False)
            times.append(time.process_time() - started)
        out[name] = round(min(times), 3)
        print(f"  {name}: {min(times):.2f}s CPU", file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------- report


def render(report: dict[str, Any]) -> str:
    lines = [
        "# Prediction sets and multi-label labels",
        "",
        "Made by "
        + ", then ".join(f"`{c}`" for c in report.get("commands", [report["command"]]))
        + f" (the last on {report['created']}; classify {report['version']}; "
        f"MAPIE {report['versions']['mapie']}, crepes {report['versions']['crepes']}).",
        "",
    ]
    cov = report.get("coverage")
    if cov:
        lines += [
            "## Coverage and set size (5-fold stratified cross-validation, seed 0)",
            "",
            "Each fold's classify model stores the LAC scores of its held-out probabilities; MAPIE "
            "(`SplitConformalClassifier`, LAC, prefit) and crepes (`ConformalClassifier`, `1 - p`, no "
            "smoothing) are given the same calibration and test probabilities. Goals: coverage within "
            "0.015 of the target; mean size at 0.9 at most 1.35 (AG News) and 1.25 (BBC titles); for "
            "scale, plain LAC over a sigmoid-calibrated word + char LinearSVC: 1.48 / 1.35.",
            "",
            "| set | rows | accuracy | method | cov. 0.8 | cov. 0.9 | cov. 0.95 | size 0.8 | size 0.9 "
            "| size 0.95 | single 0.9 |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in cov.items():
            for method in ("classify", "mapie", "crepes"):
                m = r[method]
                lines.append(
                    f"| {name} | {r['rows']} | {r['accuracy']:.3f} | {method} | "
                    + " | ".join(f"{m[str(lv)]['coverage']:.3f}" for lv in LEVELS)
                    + " | "
                    + " | ".join(f"{m[str(lv)]['mean_set_size']:.3f}" for lv in LEVELS)
                    + f" | {m['0.9']['singleton_share']:.3f} |"
                )
        lines += ["", "Per-topic (class-conditional) sets at 0.9, classify:", ""]
        lines += ["| set | coverage | worst topic's coverage | mean size |", "|---|---:|---:|---:|"]
        for name, r in cov.items():
            p = r["classify_per_topic_0.9"]
            lines.append(
                f"| {name} | {p['coverage']:.3f} | {p['worst_topic_coverage']:.3f} "
                f"| {p['mean_set_size']:.3f} |"
            )
        lines.append("")
    ml = report.get("multilabel")
    if ml is not None:
        lines += ["## Multi-label", ""]
        if "missing" in ml:
            lines += [ml["missing"], ""]
        else:
            lines += [
                f"`{ml['path']}`: {ml['rows']} headlines, {ml['with_two_or_more']} with two or more topics. "
                "5-fold cross-validation (shuffled, seed 0) of the classify pipeline trained on it "
                "(one row per topic, per-topic thresholds by max F1), against one-vs-rest logistic "
                "regression (C 10) on the same features with one 0.5 threshold, and the best topic alone.",
                "",
                "| method | micro-F1 | macro-F1 | subset accuracy | Hamming loss |",
                "|---|---:|---:|---:|---:|",
            ]
            for name, s in ml["cv"].items():
                lines.append(
                    f"| {name} | {s['micro_f1']:.3f} | {s['macro_f1']:.3f} | {s['subset_accuracy']:.3f} | "
                    f"{s['hamming_loss']:.4f} |"
                )
            d = ml["default_model"]
            lines += [
                "",
                f"The default model (built from `{d['corpus']}`, {d['corpus_rows_with_two']} rows with a "
                f"second topic, in {d['build_seconds']}s; {d['headlines_also_in_corpus']} of the set's "
                "headlines are also corpus rows) scored on the set as held-out data:",
                "",
                "| default model | micro-F1 | macro-F1 | subset accuracy | Hamming loss |",
                "|---|---:|---:|---:|---:|",
            ]
            for name in ("labels", "top-1 only"):
                if name in d:
                    s = d[name]
                    lines.append(
                        f"| {name} | {s['micro_f1']:.3f} | {s['macro_f1']:.3f} "
                        f"| {s['subset_accuracy']:.3f} | "
                        f"{s['hamming_loss']:.4f} |"
                    )
            lines.append("")
    ds = report.get("default_sets")
    if ds:
        lines += [
            "## The default model's sets on real headlines",
            "",
            "The default model (the multi-label one above) on the BBC titles and AG News test, mapped "
            "scoring as in `bench/default_model.py`: a set covers a headline when it holds one of the "
            "topics its label maps to. Its calibration scores come from its own corpus.",
            "",
            "| set | rows | top-1 | cov. 0.8 | cov. 0.9 | cov. 0.95 | size 0.8 | size 0.9 | size 0.95 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in ds.items():
            lines.append(
                f"| {name} | {r['rows']} | {r['top1']:.3f} | "
                + " | ".join(f"{r[str(lv)]['coverage']:.3f}" for lv in LEVELS)
                + " | "
                + " | ".join(f"{r[str(lv)]['mean_set_size']:.3f}" for lv in LEVELS)
                + " |"
            )
        lines.append("")
    sp = report.get("speed")
    if sp:
        base = sp["single-label model, plain"]
        base_multi = sp["multi-label weights, plain (no labels)"]
        lines += [
            f"## Cost at {sp['headlines']:,} headlines",
            "",
            f"CPU seconds of `predict_files` to JSON Lines (in memory), best of {sp['repeats']}; "
            "AG News models (the multi-label one with a made-up second topic on a tenth of the rows). "
            "Goal: at most 10% slower than plain.",
            "",
            "| run | CPU s | vs plain |",
            "|---|---:|---:|",
        ]
        for name, value in sp.items():
            if isinstance(value, float):
                ref = base if name.startswith("single") else base_multi
                if name.startswith("default"):
                    ref = sp["default model (10 topics) weights, plain (no labels)"]
                lines.append(f"| {name} | {value:.2f} | {value / ref - 1:+.1%} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import datetime as dt
    from importlib.metadata import version

    from classify.version import __version__

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["coverage", "multilabel", "default", "speed"], action="append")
    parser.add_argument("--sets", nargs="+", default=["ag_news", "bbc_titles", "huffpost"])
    args = parser.parse_args(argv)
    only = set(args.only or ["coverage", "multilabel", "default", "speed"])
    json_path = RESULTS / "sets.json"
    report: dict[str, Any] = json.loads(json_path.read_text()) if json_path.is_file() else {}
    command = "python -m bench.sets" + "".join(f" --only {o}" for o in args.only or [])
    if "coverage" in only and args.sets != parser.get_default("sets"):
        command += " --sets " + " ".join(args.sets)
    report["commands"] = [*report.get("commands", []), command]
    report.update(
        {
            "command": command,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "version": __version__,
            "versions": {"mapie": version("mapie"), "crepes": version("crepes")},
        }
    )
    loaders = {"ag_news": ag_news, "bbc_titles": bbc_titles, "huffpost": huffpost}

    def save() -> None:  # after every part, so that a failing part loses nothing before it
        from classify.atomic import atomic_path

        RESULTS.mkdir(exist_ok=True)
        for path, text in (
            (json_path, json.dumps(report, indent=1) + "\n"),
            (RESULTS / "sets.md", render(report)),
        ):
            with atomic_path(path) as tmp:
                tmp.write_text(text, encoding="utf-8")

    if "coverage" in only:
        report.setdefault("coverage", {})
        for name in args.sets:
            texts, labels = loaders[name]()
            report["coverage"][name] = coverage_on(name, texts, labels)
            save()
    if "multilabel" in only:
        path = multilabel_path()
        report["multilabel"] = (
            multilabel(path)
            if path
            else {"missing": "data/multilabel.csv is missing (not in data/ nor in the corpus worktree)"}
        )
        save()
    if "default" in only and Path("/tmp/bench-sets-default.model").is_file():
        report["default_sets"] = default_sets()
        save()
    if "speed" in only:
        report["speed"] = speed()
        save()
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
