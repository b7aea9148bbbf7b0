"""How ambiguous are the headlines `classify label` asks about, against random order's?

    python -m bench.active_ambiguity [--sets ag_news,huffpost] [--seeds 0]
                                              # writes bench/results/active_ambiguity.{md,json}

Why: the labelling goal (random order's 1,000-label macro-F1 with 600 labels) is not met,
and the usual suspect is that uncertainty sampling keeps asking about headlines that are ambiguous in
themselves, whose labels teach little. This measures it. Same split as ``bench/active.py``; a model
trained by 5-fold cross-validation on the whole pool (``classify.pipeline.model.fit_pipeline``, every label
known) gives each pool headline the probability of its own topic, out of fold; a headline below 0.5 is
one that even a model with all the labels gets wrong or nearly so. Reported: that share among the
first 200, 600 and 1,000 questions of the order (``bench.active.uncertainty_order``) and of random
order, and in the whole pool.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.active import uncertainty_order
from bench.datasets import ROOT, ag_news, huffpost
from classify.atomic import write_text_atomic
from classify.pipeline.model import fit_pipeline

MARKS = [200, 600, 1000]


def own_topic_probability(pool: list[str], labels: list[str], seed: int) -> list[float]:
    """Out-of-fold probability of each headline's own topic (5 folds, stratified)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    out = np.zeros(len(pool))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(pool, y):
        model = fit_pipeline([pool[i] for i in train], y[train])
        proba = model.predict_proba([pool[i] for i in test])
        column = {str(t): j for j, t in enumerate(model.classes_)}
        out[test] = proba[np.arange(len(test)), [column[t] for t in y[test]]]
    return out.tolist()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="ag_news,huffpost")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    import numpy as np
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    loaders = {"ag_news": ag_news, "huffpost": huffpost}
    rows = []
    for name in args.sets.split(","):
        texts, labels = loaders[name]()
        topics = sorted(set(labels))
        for seed in (int(s) for s in args.seeds.split(",")):
            pool, _, pool_labels, _ = train_test_split(
                texts, labels, test_size=0.2, stratify=labels, random_state=seed
            )
            p_own = np.asarray(own_topic_probability(pool, pool_labels, seed))
            orders = {
                "uncertainty": uncertainty_order(pool, pool_labels, topics, seed, args.batch),
                "random": np.random.default_rng(seed).permutation(len(pool))[: MARKS[-1]].tolist(),
            }
            row = {
                "set": name,
                "seed": seed,
                "pool": {"below_0.5": float((p_own < 0.5).mean()), "below_0.2": float((p_own < 0.2).mean())},
            }
            for order, picked in orders.items():
                row[order] = {
                    str(n): {
                        "below_0.5": float((p_own[picked[:n]] < 0.5).mean()),
                        "below_0.2": float((p_own[picked[:n]] < 0.2).mean()),
                        "mean": float(p_own[picked[:n]].mean()),
                    }
                    for n in MARKS
                }
            rows.append(row)
            print(json.dumps(row), flush=True)
    seconds = round(time.perf_counter() - started, 1)
    out = ROOT / "bench" / "results"
    write_text_atomic(
        out / "active_ambiguity.json", json.dumps({"rows": rows, "seconds": seconds}, indent=2) + "\n"
    )
    md = [
        "# Ambiguous headlines among the questions: `classify label`'s order against random order",
        "",
        f"`python -m bench.active_ambiguity --sets {args.sets} --seeds {args.seeds} --batch {args.batch}`. "
        "Share of headlines whose own topic gets less than 0.5 (and 0.2) probability from a model "
        "trained by 5-fold cross-validation on the whole pool with every label, out of fold. "
        f"Took {seconds:.0f}s.",
        "",
        "| set | seed | questions | order: < 0.5 | random: < 0.5 | order: < 0.2 | random: < 0.2 "
        "| whole pool: < 0.5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for n in MARKS:
            u, r = row["uncertainty"][str(n)], row["random"][str(n)]
            md.append(
                f"| {row['set']} | {row['seed']} | first {n} | {u['below_0.5']:.2f} | {r['below_0.5']:.2f} | "
                f"{u['below_0.2']:.2f} | {r['below_0.2']:.2f} | {row['pool']['below_0.5']:.2f} |"
            )
    write_text_atomic(out / "active_ambiguity.md", "\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
