"""Writing prediction results: one writer class per output format, chosen in one place.

:func:`get_writer` maps a format name to its writer (as Whisper's ``get_writer`` does), and every
command that writes results goes through it: JSON Lines and CSV for programs, a rich table for people.
A new output format is a new :class:`Writer` subclass registered in :data:`WRITERS`. Nothing here
reads argv or exits; the caller decides where the text goes. Machine formats never contain terminal
colour codes, and CSV is quoted by the csv module.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from typing import IO, Any


class Writer:
    """Writes result rows, one at a time, to a text stream; :meth:`close` finishes the output."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        """Write one result row (``headline``: the text classified, for formats that show it)."""
        raise NotImplementedError

    def close(self) -> None:
        """Finish the output (a table is printed only once all its rows are known)."""

    def write_all(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write every row, then close."""
        for row in rows:
            self.write(row)
        self.close()


class JsonlWriter(Writer):
    """One JSON object per line, UTF-8 kept as is."""

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        self.out.write(json.dumps(row, ensure_ascii=False) + "\n")


class CsvWriter(Writer):
    """CSV with a header taken from the first row; list fields are flattened.

    ``topics`` becomes ``topic_2, confidence_2, ...`` columns and ``why`` one ``;``-joined column.
    """

    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self._writer: csv.DictWriter[str] | None = None

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        flat = _flatten(row)
        if self._writer is None:
            self._writer = csv.DictWriter(
                self.out, fieldnames=list(flat), lineterminator="\n", extrasaction="ignore"
            )
            self._writer.writeheader()
        self._writer.writerow(flat)


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k not in ("topics", "why")}
    for i, (topic, prob) in enumerate(row.get("topics", [])[1:], start=2):
        flat[f"topic_{i}"] = topic
        flat[f"confidence_{i}"] = prob
    if "why" in row:
        flat["why"] = "; ".join(row["why"])
    return flat


class TableWriter(Writer):
    """A rich table for people: #, headline, topic, confidence, and the optional columns."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__(out)
        self._rows: list[tuple[str, dict[str, Any]]] = []

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        self._rows.append((headline if headline is not None else str(row.get("headline", "")), row))

    def close(self) -> None:
        if not self._rows:
            return
        from rich.console import Console

        Console(file=self.out).print(prediction_table(self._rows))


def prediction_table(rows: Iterable[tuple[str, dict[str, Any]]]) -> Any:
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


#: Output formats and their writers.
WRITERS: dict[str, type[Writer]] = {"jsonl": JsonlWriter, "csv": CsvWriter, "table": TableWriter}


def get_writer(fmt: str, out: IO[str]) -> Writer:
    """The writer of format ``fmt`` (a key of :data:`WRITERS`) on ``out``."""
    try:
        return WRITERS[fmt](out)
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r} (choose from {', '.join(WRITERS)})") from None


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
