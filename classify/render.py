"""Turning results into text for people (tables, reports) and for programs (CSV, JSON Lines).

Nothing here reads argv or exits; the CLI decides where the text goes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO

from classify.evaluate import Evaluation
from classify.predict import Prediction

OUTPUT_FORMATS = ("table", "csv", "jsonl")


def prediction_record(p: Prediction, *, top_k: int) -> dict[str, object]:
    """The JSON object of one prediction (the ``jsonl`` contract)."""
    record: dict[str, object] = {
        "headline": p.headline,
        "topic": p.topic,
        "confidence": round(p.confidence, 4),
    }
    if top_k > 1:
        record["topics"] = [[t, round(prob, 4)] for t, prob in p.topics]
    return record


def write_jsonl(predictions: Iterable[Prediction], out: IO[str], *, top_k: int) -> int:
    """Write one JSON object per line; returns the number written."""
    n = 0
    for p in predictions:
        out.write(json.dumps(prediction_record(p, top_k=top_k), ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(predictions: Iterable[Prediction], out: IO[str], *, top_k: int) -> int:
    """Write a CSV with a header; ``--top-k`` adds ``topic_2, confidence_2, ...`` columns."""
    writer = csv.writer(out, lineterminator="\n")
    header = ["headline", "topic", "confidence"]
    for i in range(2, top_k + 1):
        header += [f"topic_{i}", f"confidence_{i}"]
    writer.writerow(header)
    n = 0
    for p in predictions:
        n += 1
        row: list[object] = [p.headline, p.topic, f"{p.confidence:.4f}"]
        for topic, prob in p.topics[1:top_k]:
            row += [topic, f"{prob:.4f}"]
        writer.writerow(row)
    return n


def prediction_table(predictions: Iterable[Prediction], *, top_k: int) -> tuple[object, int]:
    """A rich Table of predictions for a terminal; returns the table and the row count."""
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("headline", overflow="fold")
    table.add_column("topic", style="bold")
    table.add_column("conf.", justify="right")
    if top_k > 1:
        table.add_column("next best")
    n = 0
    for n, p in enumerate(predictions, start=1):
        cells = [str(n), p.headline, p.topic, f"{p.confidence:.2f}"]
        if top_k > 1:
            cells.append(", ".join(f"{t} {prob:.2f}" for t, prob in p.topics[1:top_k]))
        table.add_row(*cells)
    return table, n


def evaluation_text(result: Evaluation, *, source: str) -> str:
    """A readable report: headline figures, per-topic table, and the most common confusions."""
    lines = [f"{source}: {result.mode}" + (f", {result.folds} folds" if result.folds else "")]
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


def _top_confusions(result: Evaluation, most: int) -> Iterator[tuple[str, str, int]]:
    pairs = [
        (result.labels[i], result.labels[j], count)
        for i, row in enumerate(result.confusion)
        for j, count in enumerate(row)
        if i != j and count
    ]
    yield from sorted(pairs, key=lambda x: -x[2])[:most]
