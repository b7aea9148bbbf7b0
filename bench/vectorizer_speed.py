"""Prediction speed and accuracy of the pipeline: scikit-learn's FeatureUnion vs HeadlineVectorizer.

Trains the default pipeline twice on a labelled file, once with the features as scikit-learn's
``FeatureUnion`` of two ``TfidfVectorizer`` (the old pipeline,
:func:`classify.pipeline.features.reference_union`)
and once with :class:`classify.pipeline.features.HeadlineVectorizer` (the current one), then reports as
markdown
on stdout:

- fit time on the whole file;
- transform + ``predict_proba`` throughput on headlines resampled from the file (100k and 1M by
  default), on one core: "cold" is the first call on a freshly unpickled model (what ``classify
  predict`` does after loading a model file; the token cache starts empty), "warm" the second call;
- agreement of the two pipelines' predictions;
- k-fold cross-validated macro-F1 of both (same folds).

Usage::

    python bench/vectorizer_speed.py [DATA.csv] [--sizes 100000 1000000] [--folds 5]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ag_news_test.csv"
#: Batch size of the streamed measurement: classify.prediction.predictor's default.
BATCH = 4096


def one_core() -> None:
    """Pin the process to one CPU and BLAS/OpenMP to one thread, before numpy is imported."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def pipelines() -> dict[str, Any]:
    """The default pipeline with the old and the new feature step (same classifier settings)."""
    from classify.pipeline.features import reference_union
    from classify.pipeline.model import build_pipeline
    from classify.pipeline.settings import DEFAULT_SETTINGS

    old = build_pipeline()
    old.set_params(features=reference_union(**DEFAULT_SETTINGS.vectorizer_params()))
    return {"FeatureUnion (old)": old, "HeadlineVectorizer (new)": build_pipeline()}


class Clock:
    """Wall-clock and CPU seconds of a block.

    CPU time (user + system, this process) is the robust "one core" figure on a shared machine,
    where other jobs stretch wall-clock time; both are reported.
    """

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def fit(pipeline: Any, texts: list[str], labels: list[str]) -> Clock:
    """Fit in place and return how long it took."""
    from sklearn.exceptions import ConvergenceWarning

    with Clock() as clock, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(texts, labels)
    return clock


def rate(n: int, clocks: list[Clock]) -> str:
    """Median headlines per CPU second, and per wall-clock second in brackets."""
    import statistics

    cpu = statistics.median(n / c.cpu for c in clocks)
    wall = statistics.median(n / c.wall for c in clocks)
    return f"{cpu:,.0f} ({wall:,.0f})"


def throughput(
    pipeline: Any, docs: list[str], repeats: int
) -> tuple[list[Clock], list[Clock], list[Clock], Any]:
    """Time ``predict_proba`` on ``repeats`` fresh unpickled copies.

    Cold is the first call on a copy with all ``docs``, warm the second call on it, and streamed a
    third fresh copy fed ``BATCH`` headlines at a time, as ``classify.prediction.predictor`` feeds it.
    """
    cold: list[Clock] = []
    warm: list[Clock] = []
    streamed: list[Clock] = []
    for _ in range(repeats):
        fresh = pickle.loads(pickle.dumps(pipeline))
        for clocks in (cold, warm):
            with Clock() as clock:
                proba = fresh.predict_proba(docs)
            clocks.append(clock)
        fresh = pickle.loads(pickle.dumps(pipeline))
        with Clock() as clock:
            for i in range(0, len(docs), BATCH):
                fresh.predict_proba(docs[i : i + BATCH])
        streamed.append(clock)
        del fresh
    return cold, warm, streamed, proba


def cross_validate(texts: list[str], labels: list[str], folds: int) -> dict[str, list[float]]:
    """Macro-F1 of both pipelines on the same stratified folds."""
    import numpy as np
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    x, y = np.asarray(texts, dtype=object), np.asarray(labels, dtype=object)
    scores: dict[str, list[float]] = {}
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        for name, pipeline in pipelines().items():
            fit(pipeline, list(x[train]), list(y[train]))
            predicted = pipeline.predict(list(x[test]))
            scores.setdefault(name, []).append(float(f1_score(y[test], predicted, average="macro")))
    return scores


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the markdown report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA, help="labelled CSV")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    one_core()

    import numpy as np
    import scipy
    import sklearn

    from classify.io.labelled import load_labelled

    data = load_labelled(args.data)
    texts, labels = data.texts, data.labels
    out = [
        "# Prediction speed: FeatureUnion vs HeadlineVectorizer",
        "",
        f"Data: `{args.data}` ({len(texts)} labelled headlines). One core (affinity + 1 BLAS/OpenMP "
        f"thread). Python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}. Default pipeline settings; only the feature step differs.",
        "",
        "## Fit on the whole file",
        "",
        "Median of 3 fits; CPU seconds, wall-clock seconds in brackets.",
        "",
        "| features | fit | features |",
        "|---|---|---|",
    ]
    import statistics

    fitted = pipelines()
    for name, pipeline in fitted.items():
        clocks = [fit(pipeline, texts, labels) for _ in range(3)]
        cpu = statistics.median(c.cpu for c in clocks)
        wall = statistics.median(c.wall for c in clocks)
        n_features = len(pipeline.named_steps["features"].get_feature_names_out())
        out.append(f"| {name} | {cpu:.2f} ({wall:.2f}) | {n_features} |")

    out += [
        "",
        "## transform + predict_proba, headlines/s",
        "",
        "Headlines resampled (with replacement) from the file. Cold: first call on a freshly unpickled "
        "model; warm: second call on it; streamed: a fresh model fed 4096 headlines per call, as "
        "`classify predict` feeds it. Median of 3 fresh copies up to 200k headlines, one run above. "
        "Headlines per CPU second, per wall-clock second in brackets.",
        "",
        "| headlines | features | cold | warm | streamed | speed-up (cold / streamed) | same topic "
        "| max abs Δ proba |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rng = np.random.default_rng(0)
    for size in args.sizes:
        docs = [texts[i] for i in rng.integers(0, len(texts), size)]
        repeats = 3 if size <= 200_000 else 1
        results = {name: throughput(pipeline, docs, repeats) for name, pipeline in fitted.items()}
        (old_cold, _, old_streamed, old_proba), (*_, new_proba) = results.values()
        same = float(np.mean(old_proba.argmax(axis=1) == new_proba.argmax(axis=1)))
        delta = float(np.abs(old_proba - new_proba).max())
        for name, (cold, warm, streamed, _) in results.items():
            speedup = [
                statistics.median(o.cpu for o in old) / statistics.median(c.cpu for c in new)
                for old, new in ((old_cold, cold), (old_streamed, streamed))
            ]
            out.append(
                f"| {size:,} | {name} | {rate(size, cold)} | {rate(size, warm)} | {rate(size, streamed)} "
                f"| {speedup[0]:.1f}x / {speedup[1]:.1f}x | {same:.4%} | {delta:.1e} |"
            )
        del docs, results, old_proba, new_proba

    scores = cross_validate(texts, labels, args.folds)
    out += [
        "",
        f"## {args.folds}-fold cross-validated macro-F1 (same stratified folds, random_state=0)",
        "",
        "| features | mean | std | per fold |",
        "|---|---|---|---|",
    ]
    for name, values in scores.items():
        folds = ", ".join(f"{v:.4f}" for v in values)
        out.append(f"| {name} | {np.mean(values):.4f} | {np.std(values):.4f} | {folds} |")
    diffs = np.subtract(*scores.values())
    out += ["", f"Largest per-fold difference old - new: {np.abs(diffs).max():.2e}.", ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
