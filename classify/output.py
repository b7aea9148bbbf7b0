"""Writing predictions: CSV and JSON Lines for programs, a rich table and a summary for people.

Nothing here reads argv or exits; the CLI decides where the text goes. Machine formats never contain
terminal colour codes, and CSV is quoted by the csv module.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from classify.predict import Prediction
from classify.sources import Record


@dataclass(frozen=True)
class OutputOptions:
    """What each output row carries besides the input's fields, topic and confidence."""

    top_k: int = 1
    #: Below this best probability the topic becomes ``uncertain_label`` (None: never).
    min_confidence: float | None = None
    uncertain_label: str = "uncertain"


def output_row(
    record: Record, p: Prediction, options: OutputOptions, why: Sequence[str] | None = None
) -> dict[str, Any]:
    """The fields of one output row: the input's own fields, then the prediction.

    With ``min_confidence``, an unsure headline gets the uncertain label as its topic and keeps its
    best guess in ``best_guess``, so that nothing the model said is lost.
    """
    row: dict[str, Any] = dict(record.fields)
    unsure = options.min_confidence is not None and p.confidence < options.min_confidence
    row["topic"] = options.uncertain_label if unsure else p.topic
    row["confidence"] = round(p.confidence, 4)
    if options.min_confidence is not None:
        row["best_guess"] = p.topic
    if options.top_k > 1:
        row["topics"] = [[t, round(prob, 4)] for t, prob in p.topics]
    if why is not None:
        row["why"] = list(why)
    return row


def write_jsonl(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    """One JSON object per line, UTF-8 kept as is."""
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_csv(rows: Iterable[dict[str, Any]], out: IO[str]) -> None:
    """CSV with a header taken from the first row; list fields are flattened.

    ``topics`` becomes ``topic_2, confidence_2, ...`` columns and ``why`` one ``;``-joined column.
    """
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        flat = _flatten(row)
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(flat), lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
        writer.writerow(flat)


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k not in ("topics", "why")}
    for i, (topic, prob) in enumerate(row.get("topics", [])[1:], start=2):
        flat[f"topic_{i}"] = topic
        flat[f"confidence_{i}"] = prob
    if "why" in row:
        flat["why"] = "; ".join(row["why"])
    return flat


def table(rows: Iterable[tuple[str, dict[str, Any]]]) -> Any:
    """A rich Table of (headline, row) pairs: headline, topic, confidence, and the optional columns."""
    from rich.table import Table

    grid = Table(show_header=True, header_style="bold")
    grid.add_column("#", justify="right", style="dim")
    grid.add_column("headline", overflow="fold", ratio=3)
    grid.add_column("topic", style="bold")
    grid.add_column("conf.", justify="right")
    optional = {"best_guess": "best guess", "topics": "next best", "why": "why"}
    shown: list[str] = []
    for n, (headline, row) in enumerate(rows, start=1):
        if n == 1:
            shown = [key for key in optional if key in row]
            for key in shown:
                grid.add_column(optional[key], overflow="fold", ratio=1 if key != "why" else 2)
        cells = [str(n), headline, row["topic"], f"{row['confidence']:.2f}"]
        for key in shown:
            value = row[key]
            if key == "topics":
                value = ", ".join(f"{t} {p:.2f}" for t, p in value[1:])
            elif key == "why":
                value = ", ".join(value)
            cells.append(str(value))
        grid.add_row(*cells)
    return grid


def summary_lines(counts: Counter[str], *, width: int = 30) -> list[str]:
    """Count and share per topic with a bar, most frequent first (an editor's view of a ticker)."""
    total = sum(counts.values())
    if not total:
        return []
    name_width = max(len(t) for t in counts)
    top = max(counts.values())
    lines = []
    for topic, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        bar = "█" * max(1, round(width * n / top))
        lines.append(f"{topic:<{name_width}}  {n:>6}  {n / total:6.1%}  {bar}")
    lines.append(f"{'total':<{name_width}}  {total:>6}")
    return lines
