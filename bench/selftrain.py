"""Does self-training on a site's unlabelled headlines help the default model there?

    python -m bench.selftrain [--thresholds 0.8,0.9,0.95] [--rounds 3]
                                                   # writes bench/results/selftrain.{md,json}

For AG News test headlines and the BBC News titles (read at run time, never stored here): the
default pipeline trained on the shipped corpus, then ``classify.training.selftrain.self_train`` with the set's
headlines as the unlabelled pool (labels unused), scored by mapped accuracy (bench.datasets'
DEFAULT_TOPIC_MAP, as bench/default_model.py).

Two settings per set:
- *transductive*: the pool is the whole set and the score is on the same headlines, the way a site
  uses it (label its own archive). The labels are never seen by training.
- *held-out*: the pool is a random half and the score is on the other half, to show the gain carries
  over to headlines the loop never saw.
Also reported: how many pool headlines were pseudo-labelled and how many of those were right.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.datasets import DEFAULT_TOPIC_MAP, ROOT, ag_news, bbc_titles
from classify import train
from classify.atomic import write_text_atomic
from classify.training.selftrain import self_train


def mapped_accuracy(model, texts, labels, mapping) -> float:  # type: ignore[no-untyped-def]
    predicted = [str(t) for t in model.pipeline.predict(texts)]
    return sum(p in mapping[y] for p, y in zip(predicted, labels, strict=True)) / len(labels)


def pseudo_accuracy(model, texts, labels, mapping, threshold) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """How many of ``texts`` the *base* model pseudo-labels at ``threshold``, and the share right."""
    proba = model.predict_proba(texts)
    topics = model.topics
    picked = [
        (topics[row.argmax()], y) for row, y in zip(proba, labels, strict=True) if row.max() >= threshold
    ]
    right = sum(t in mapping[y] for t, y in picked)
    return len(picked), (right / len(picked) if picked else float("nan"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--thresholds", default="0.8,0.9,0.95")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sets", default="ag_news,bbc")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    started = time.perf_counter()
    import numpy as np

    from classify.training.default_model import default_training_data

    corpus = default_training_data(lexicon=False)  # the corpus, primary topics (a|b cells read as a)
    base = train(corpus).model
    loaders = {"ag_news": ag_news, "bbc": bbc_titles}
    results: dict[str, object] = {"rounds": args.rounds, "corpus_rows": len(corpus)}
    md = [
        "# Self-training: the default model with a site's unlabelled headlines as the pool",
        "",
        f"`python -m bench.selftrain --thresholds {args.thresholds} --rounds {args.rounds}`; mapped accuracy "
        "(bench/datasets.py DEFAULT_TOPIC_MAP). *transductive*: pool = the whole set, scored on it; "
        "*held-out*: pool = a random half, scored on the other half. pseudo = pool headlines the base "
        "model labels at the threshold (share of them right, by the mapping).",
        "",
        "| set | setting | threshold | before | after | change | pseudo-labelled (right) | rounds: added |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in args.sets.split(","):
        texts, labels = loaders[name]()
        mapping = DEFAULT_TOPIC_MAP[name]
        rng = np.random.default_rng(0)
        half = rng.permutation(len(texts))
        a, b = half[: len(texts) // 2], half[len(texts) // 2 :]
        settings = {
            "transductive": (texts, texts, labels),
            "held-out": ([texts[i] for i in a], [texts[i] for i in b], [labels[i] for i in b]),
        }
        results[name] = {}
        for setting, (pool, test_texts, test_labels) in settings.items():
            before = mapped_accuracy(base, test_texts, test_labels, mapping)
            for threshold in thresholds:
                result = self_train(corpus, pool, threshold=threshold, rounds=args.rounds, pool_name=name)
                after = mapped_accuracy(result.model, test_texts, test_labels, mapping)
                pool_labels = labels if setting == "transductive" else [labels[i] for i in a]
                n_pseudo, right = pseudo_accuracy(base, pool, pool_labels, mapping, threshold)
                added = ", ".join(str(r.added) for r in result.rounds)
                row = {
                    "before": before,
                    "after": after,
                    "pseudo_labelled_first_round": n_pseudo,
                    "pseudo_right": right,
                    "added_per_round": [r.added for r in result.rounds],
                    "seconds": round(result.seconds, 1),
                }
                results[name][f"{setting}@{threshold}"] = row  # type: ignore[index]
                line = (
                    f"| {name} ({len(texts)}) | {setting} | {threshold} | {before:.3f} | {after:.3f} | "
                    f"{after - before:+.3f} | {n_pseudo} ({right:.2f}) | {added} |"
                )
                md.append(line)
                print(line, flush=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    md += ["", f"took {results['seconds']}s"]
    out = ROOT / "bench" / "results"
    write_text_atomic(out / "selftrain.md", "\n".join(md) + "\n")
    write_text_atomic(out / "selftrain.json", json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
