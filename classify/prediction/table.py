"""Results for people: the rich table of ``--format table`` and the ``--summary`` lines.

Every cell is plain text (never rich markup) with control characters made visible, so that data can
neither break the table nor act on the reader's terminal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from classify.text import VISIBLE, printable

#: Lone surrogates (from JSON escapes) cannot be encoded: shown and written as U+FFFD.
_SURROGATES = {c: "\ufffd" for c in range(0xD800, 0xE000)}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


#: Shown instead of control characters, bidirectional overrides and zero-width spaces in tables.
_VISIBLE = VISIBLE


def plain_text(value: object) -> Any:
    """A rich ``Text`` of ``value`` for a table cell: no markup, no emoji codes, no control characters.

    Data (headlines, labels, explanations) must never reach rich as a markup string: ``[/]`` would
    crash the table and ``[link=...]`` or an escape sequence would act on the reader's terminal.
    """
    from rich.text import Text

    return Text(str(value).translate(_VISIBLE))


def prediction_table(rows: Iterable[tuple[str, dict[str, Any]]], *, start: int = 1) -> Any:
    """A rich Table of (headline, row) pairs: headline, topic, confidence, and the optional columns.

    ``start`` is the number shown on the first row.

    Every cell is a :func:`plain_text` ``Text``: data is never read as markup.
    """
    from rich.table import Table

    grid = Table(show_header=True, header_style="bold")
    grid.add_column("#", justify="right", style="dim")
    grid.add_column("headline", overflow="fold", ratio=3)
    grid.add_column("topic", style="bold")
    grid.add_column("conf.", justify="right")
    optional = {
        "best_guess": "best guess",
        "topics": "next best",
        "labels": "labels",
        "set": "set",
        "why": "why",
    }
    shown: list[str] = []
    for n, (headline, row) in enumerate(rows, start=start):
        if n == start:
            shown = [key for key in optional if key in row]
            for key in shown:
                grid.add_column(optional[key], overflow="fold", ratio=1 if key != "why" else 2)
        cells = [str(n), headline, row["topic"], f"{row['confidence']:.2f}"]
        for key in shown:
            value = row[key]
            if key == "topics":
                value = ", ".join(f"{t} {p:.2f}" for t, p in value[1:])
            elif key in ("labels", "set"):
                value = " | ".join(value)
            elif key == "why":
                value = ", ".join(value)
            cells.append(str(value))
        grid.add_row(*(plain_text(c) for c in cells))
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
        lines.append(f"{printable(topic):<{name_width}}  {n:>6}  {n / total:6.1%}  {bar}")
    lines.append(f"{'total':<{name_width}}  {total:>6}")
    return lines
