"""Does `classify label`'s order teach the model faster than labelling at random?

    python -m bench.active [--sets ag_news,huffpost] [--seeds 0,1,2] [--batch 20] [--previous]
                           [--unlabelled THRESHOLD]   # writes bench/results/active.{md,json,png}

Simulated labelling: an "editor" answers with the data set's own label (revealed only when the
headline is picked). For each set and seed, a stratified 80/20 split: the 80% is the pool, the 20%
the held-out test. Two orders:

- *uncertainty*: what ``classify label --topics ... --refit-every BATCH`` does
  (``classify.labelling.sampling.labelling_order``): diverse headlines until the cold start is over, then
  after
  every ``--batch`` answers the selection model (``classify.labelling.sampling.selection_proba``: a linear SVM
  on the pool's own TF-IDF vectors) refitted on the answers so far picks the next batch: half of it
  the ``30 * places`` smallest-margin headlines clustered into that many groups, the most typical of
  each; the other half shared among the predicted topics by how few labels each has (``counts``),
  each topic's places clustered the same way from its own most uncertain headlines;
- *random*: the pool in random order;
- with ``--previous``, *uncertainty, no quotas*: the order before the topic quotas (no ``counts``).

After 50, 100, 200, ..., 1000 labels the project pipeline (``classify.pipeline.model.fit_pipeline``) is
trained on the labels and scored by macro-F1 on the test split; curves are the mean over the seeds.

With ``--unlabelled THRESHOLD``, each order is also scored the way the README says to train on the
answers: ``classify train labels.csv --unlabelled POOL --threshold THRESHOLD``
(``classify.training.selftrain.self_train``, 3 rounds), the pool being the rest of the 80% (labels unused).
Those curves (*+ self-training*) have their own verdict: the same order of questions, judged against
random order trained the same way.
The AG News and HuffPost files are read from ../shared/datasets at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from bench.datasets import ROOT, ag_news, huffpost
from classify.atomic import atomic_path, write_text_atomic
from classify.labelling import sampling
from classify.pipeline.model import fit_pipeline

CHECKPOINTS = [50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


def macro_f1(texts, labels, test_texts, test_labels, topics) -> float:  # type: ignore[no-untyped-def]
    from sklearn.metrics import f1_score

    if len(set(labels)) < 2:
        return 0.0
    model = fit_pipeline(texts, labels)
    predicted = model.predict(test_texts)
    return float(f1_score(test_labels, predicted, labels=topics, average="macro", zero_division=0))


def self_trained_f1(texts, labels, pool, test_texts, test_labels, topics, threshold) -> float:  # type: ignore[no-untyped-def]
    """Macro-F1 of ``classify train`` on the labels with ``--unlabelled`` the whole pool."""
    from sklearn.metrics import f1_score

    from classify.io.labelled import LabelledData
    from classify.training.selftrain import self_train

    # `classify train` refuses a topic with a single row (the editor is told to add or drop it); the
    # simulated editor drops it, so that topic scores 0 here (fit_pipeline, above, keeps it).
    counts = Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= 2]
    if len({labels[i] for i in keep}) < 2:
        return 0.0
    data = LabelledData(texts=[texts[i] for i in keep], labels=[labels[i] for i in keep])
    model = self_train(data, pool, threshold=threshold).model
    predicted = model.pipeline.predict(test_texts)
    return float(f1_score(test_labels, predicted, labels=topics, average="macro", zero_division=0))


def score(picked, pool, pool_labels, test, test_labels, topics, threshold):  # type: ignore[no-untyped-def]
    """``(plain, self-trained)`` macro-F1 of a model trained on the ``picked`` pool rows; the second
    is None without a ``threshold``."""
    texts = [pool[i] for i in picked]
    labels = [pool_labels[i] for i in picked]
    plain = macro_f1(texts, labels, test, test_labels, topics)
    if threshold is None:
        return plain, None
    return plain, self_trained_f1(texts, labels, pool, test, test_labels, topics, threshold)


def run_random(pool, pool_labels, test, test_labels, topics, seed, threshold=None):  # type: ignore[no-untyped-def]
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(pool))
    return [score(order[:n], pool, pool_labels, test, test_labels, topics, threshold) for n in CHECKPOINTS]


def uncertainty_order(pool, pool_labels, topics, seed, batch, quotas=True, n=CHECKPOINTS[-1]):  # type: ignore[no-untyped-def]
    """The first ``n`` pool indices in the order ``classify label`` asks them (labels revealed as
    answered); the order never depends on the scores, so they are taken after it."""
    import numpy as np

    vecs = sampling.vectors(pool)
    answered: list[int] = []
    remaining = np.ones(len(pool), dtype=bool)
    counts: Counter[str] = Counter()
    cold = sampling.diverse_order(vecs, np.arange(len(pool)), limit=300, seed=seed)
    while len(answered) < n:
        if not sampling.cold_start_over(dict(counts), topics, len(answered)):
            nxt = [i for i in cold if remaining[i]][:1]
        else:
            labelled = [pool_labels[i] for i in answered]
            keep = [j for j, y in enumerate(labelled) if counts[y] >= 2]  # as the page: trainable topics
            # As the page: the selection model on the pool's vectors ranks (the pipeline suggests).
            proba = sampling.selection_proba(
                vecs, [answered[j] for j in keep], [labelled[j] for j in keep], topics
            )
            per_topic = [counts[t] for t in topics] if quotas else None
            nxt = sampling.labelling_order(proba, vecs, np.flatnonzero(remaining), batch, counts=per_topic)[
                :batch
            ]
        for i in nxt[: n - len(answered)]:
            answered.append(int(i))
            remaining[i] = False
            counts[pool_labels[i]] += 1
    return answered


def run_uncertainty(pool, pool_labels, test, test_labels, topics, seed, batch, quotas=True, threshold=None):  # type: ignore[no-untyped-def]
    order = uncertainty_order(pool, pool_labels, topics, seed, batch, quotas)
    return [score(order[:n], pool, pool_labels, test, test_labels, topics, threshold) for n in CHECKPOINTS]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="ag_news,huffpost")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--batch", type=int, default=20, help="answers between refits (uncertainty)")
    parser.add_argument(
        "--previous", action="store_true", help="also the order before topic quotas (no label counts)"
    )
    parser.add_argument(
        "--unlabelled",
        type=float,
        metavar="THRESHOLD",
        help="also score both orders trained with self-training on the pool at this threshold",
    )
    args = parser.parse_args()
    import numpy as np
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    seeds = [int(s) for s in args.seeds.split(",")]
    loaders = {"ag_news": ag_news, "huffpost": huffpost}
    threshold = args.unlabelled
    results: dict[str, dict[str, object]] = {}
    for name in args.sets.split(","):
        texts, labels = loaders[name]()
        topics = sorted(set(labels))
        curves: dict[str, list[list[float]]] = {"uncertainty": [], "random": []}
        if args.previous:
            curves["uncertainty, no quotas"] = []
        if threshold is not None:
            curves[ST + "uncertainty"] = []
            curves[ST + "random"] = []
        for seed in seeds:
            pool, test, pool_labels, test_labels = train_test_split(
                texts, labels, test_size=0.2, stratify=labels, random_state=seed
            )
            runs = {
                "random": run_random(pool, pool_labels, test, test_labels, topics, seed, threshold),
                "uncertainty": run_uncertainty(
                    pool, pool_labels, test, test_labels, topics, seed, args.batch, threshold=threshold
                ),
            }
            if args.previous:
                runs["uncertainty, no quotas"] = run_uncertainty(
                    pool, pool_labels, test, test_labels, topics, seed, args.batch, False
                )
            for order, pairs in runs.items():
                curves[order].append([plain for plain, _ in pairs])
                if threshold is not None and order in ("random", "uncertainty"):
                    curves[ST + order].append([trained for _, trained in pairs])
            for order, curve in curves.items():
                cells = " ".join(f"{n}:{s:.3f}" for n, s in zip(CHECKPOINTS, curve[-1], strict=True))
                print(f"{name} seed {seed} {order}: {cells}", flush=True)
            print(f"({time.perf_counter() - started:.0f}s)", flush=True)
        mean = {k: np.mean(v, axis=0).tolist() for k, v in curves.items()}
        verdicts = {"": _crossing(mean, "")}
        if threshold is not None:
            verdicts[ST] = _crossing(mean, ST)
        results[name] = {
            "rows": len(texts),
            "topics": len(topics),
            "mean": mean,
            "per_seed": curves,
            "random_at_1000": verdicts[""][0],
            "uncertainty_reaches_it_at": verdicts[""][1],
            "verdicts": {
                (k or "plain"): {"random_at_1000": t, "reached_at": n} for k, (t, n) in verdicts.items()
            },
        }
        for k, (target, reached) in verdicts.items():
            print(f"{name}: {k}uncertainty reaches {k}random's 1000-label macro-F1 {target:.3f} at {reached}")
    seconds = round(time.perf_counter() - started, 1)
    out = ROOT / "bench" / "results"
    write_text_atomic(
        out / "active.json",
        json.dumps(
            {
                "checkpoints": CHECKPOINTS,
                "seeds": seeds,
                "batch": args.batch,
                "self_training_threshold": threshold,
                "results": results,
                "seconds": seconds,
            },
            indent=2,
        )
        + "\n",
    )
    command = f"python -m bench.active --sets {args.sets} --seeds {args.seeds} --batch {args.batch}"
    command += " --previous" if args.previous else ""
    command += f" --unlabelled {threshold:g}" if threshold is not None else ""
    md = [
        "# Active learning: uncertainty sampling vs random order",
        "",
        f"`{command}`: simulated labelling, macro-F1 on a held-out 20% after N labels, mean of "
        f"{len(seeds)} seeds; uncertainty re-ranks after every {args.batch} answers. Took {seconds:.0f}s.",
    ]
    if threshold is not None:
        md += [
            "",
            f"Rows starting *{ST.strip()}*: the same questions, the model trained as `classify train "
            f"labels.csv --unlabelled POOL --threshold {threshold:g}` (3 rounds; the pool is the rest of "
            "the 80%, labels unused).",
        ]
    md += [
        "",
        "| set | order | " + " | ".join(str(n) for n in CHECKPOINTS) + " |",
        "|---|---|" + "---|" * len(CHECKPOINTS),
    ]
    for name, r in results.items():
        for order in r["mean"]:  # type: ignore[attr-defined]
            cells = " | ".join(f"{s:.3f}" for s in r["mean"][order])  # type: ignore[index]
            md.append(f"| {name} | {order} | {cells} |")
    md.append("")
    for name, r in results.items():
        for k, v in r["verdicts"].items():  # type: ignore[attr-defined]
            at = v["reached_at"]
            verdict = "goal met" if at is not None and at <= 600 else "goal NOT met"
            trained = "" if k == "plain" else f" (both trained with self-training, threshold {threshold:g})"
            md.append(
                f"- {name}{trained}: random reaches {v['random_at_1000']:.3f} with 1000 labels; "
                f"uncertainty reaches it with {at if at is not None else 'more than 1000'} labels "
                f"({verdict}: at most 600)."
            )
    md += ["", "![learning curves](active.png)"]
    write_text_atomic(out / "active.md", "\n".join(md) + "\n")
    _plot(results, out / "active.png")
    return 0


#: Prefix of the curves scored with self-training on the pool (``--unlabelled``).
ST = "+ self-training: "


def _crossing(mean: dict[str, list[float]], prefix: str) -> tuple[float, int | None]:
    """Random order's 1,000-label score, and the first checkpoint where uncertainty reaches it."""
    target = mean[prefix + "random"][-1]
    reached = next(
        (n for n, s in zip(CHECKPOINTS, mean[prefix + "uncertainty"], strict=True) if s >= target), None
    )
    return target, reached


def _plot(results, path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, (name, r) in zip(axes[0], results.items(), strict=True):
        styles = {
            "uncertainty": "-o",
            "random": "--s",
            "uncertainty, no quotas": ":^",
            ST + "uncertainty": "-D",
            ST + "random": "--v",
        }
        for order, style in styles.items():
            if order not in r["mean"]:
                continue
            ax.plot(CHECKPOINTS, r["mean"][order], style, label=order, markersize=4)
        for v in r["verdicts"].values():
            ax.axhline(v["random_at_1000"], color="grey", linewidth=0.8)
        ax.set_title(f"{name} ({r['topics']} topics)")
        ax.set_xlabel("labels")
        ax.set_ylabel("macro-F1 (held-out)")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
