"""Turning results into text for people (tables, reports) and for programs (CSV, JSON Lines).

Nothing here reads argv or exits; the CLI decides where the text goes.
"""

from __future__ import annotations

from collections.abc import Iterator

from classify.evaluate import Evaluation

OUTPUT_FORMATS = ("table", "csv", "jsonl")


def evaluation_text(result: Evaluation, *, source: str) -> str:
    """A readable report: headline figures, per-topic table, and the most common confusions."""
    lines = [f"{source}: {result.mode}" + (f", {result.folds} folds" if result.folds else "")]
    lines.extend(split_lines(result))
    lines.append(
        f"rows {result.n}   accuracy {result.accuracy:.3f}   macro-F1 {result.macro_f1:.3f}   "
        f"weighted-F1 {result.weighted_f1:.3f}"
    )
    lines.append("")
    width = max([len("topic"), *(len(t) for t in result.per_topic)])
    lines.append(f"{'topic':<{width}}  precision  recall     f1  support")
    for topic, s in result.per_topic.items():
        lines.append(
            f"{topic:<{width}}  {s['precision']:9.3f}  {s['recall']:6.3f}  {s['f1']:5.3f}  {s['support']:7d}"
        )
    confusions = list(_top_confusions(result, 5))
    if confusions:
        lines.append("")
        lines.append("most confused (true -> predicted: rows)")
        lines.extend(f"  {t} -> {p}: {n}" for t, p, n in confusions)
    return "\n".join(lines) + "\n"


def split_lines(result: Evaluation) -> list[str]:
    """How the rows were split and how many near-duplicates there were, for text and Markdown reports."""
    lines = []
    s = result.settings
    if result.split == "date":
        lines.append(
            f"split by date ({s['date_col']}): trained on {s['train_rows']} rows up to "
            f"{s['train_until'][:10]}, tested on the newest {s['test_rows']} from {s['test_from'][:10]}"
        )
    elif result.split:
        lines.append(
            f"split: {result.split}"
            + (" (near-duplicates kept in one fold)" if result.split.startswith("grouped") else "")
        )
    dup = result.near_duplicates
    if dup is not None:
        if result.split == "date":
            kept = f"; {s['test_rows_with_near_duplicate_in_train']} test rows retell a training story"
        elif result.split and result.split.startswith("grouped"):
            kept = ", each group in one fold"
        else:
            kept = ", free to straddle folds (--no-group)"
        lines.append(
            f"near-duplicates (similarity >= {dup['threshold']:.2f}): {dup['rows_in_multi_row_groups']} "
            f"rows in {dup['multi_row_groups']} multi-row groups{kept}"
        )
    return lines


def _top_confusions(result: Evaluation, most: int) -> Iterator[tuple[str, str, int]]:
    pairs = [
        (result.labels[i], result.labels[j], count)
        for i, row in enumerate(result.confusion)
        for j, count in enumerate(row)
        if i != j and count
    ]
    yield from sorted(pairs, key=lambda x: -x[2])[:most]
