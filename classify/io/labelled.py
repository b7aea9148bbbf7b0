"""Labelled headlines: reading them from a file, and checking that they can train a model.

Labelled files (for training and evaluation) are CSV, TSV or JSON Lines (:mod:`classify.io.formats` tells
which); the text and label columns are found by their usual names unless given. Unlabelled input for
prediction is streamed instead, by :mod:`classify.io.records`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from classify.errors import DataError
from classify.io.formats import LABEL_COLUMNS, TEXT_COLUMNS, find_column, open_binary, table_format
from classify.io.reading import (
    Row,
    cell_text,
    headline_text,
    numbered_lines,
    peek,
    table_rows,
    truncation_note,
)
from classify.progress import report

if TYPE_CHECKING:
    import pandas as pd

#: Between the topics of a label cell that holds several (``economy|diplomacy``).
LABEL_SEP = "|"


@dataclass(frozen=True)
class LabelledData:
    """Headlines with their topics, as read from one file.

    Attributes
    ----------
    texts, labels
        The usable rows, in file order.
    source
        Where they came from (a path, or a name for data built in code).
    text_col, label_col
        The columns used, so that messages and reports can name them.
    skipped
        Rows dropped because the headline or the label was empty.
    truncated
        Headlines cut to :data:`classify.io.reading.MAX_TEXT_CHARS` characters (kept, shortened).
    warnings
        Notes for the user about what reading changed (the front end shows them).
    frame
        All columns of the kept rows (pandas DataFrame), for features such as a date split.
    label_sets
        Multi-label data: every topic of each row, the first being its ``labels`` entry (the primary
        topic, which single-label scores use); ``None`` when each row has one topic.
    """

    texts: list[str]
    labels: list[str]
    source: str = "<memory>"
    text_col: str = "headline"
    label_col: str = "topic"
    skipped: int = 0
    truncated: int = 0
    warnings: tuple[str, ...] = ()
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    label_sets: tuple[tuple[str, ...], ...] | None = None

    @property
    def multilabel(self) -> bool:
        """Whether some row has more than one topic."""
        return self.label_sets is not None

    def topic_sets(self) -> list[tuple[str, ...]]:
        """Every topic of each row (one each for single-label data)."""
        return list(self.label_sets) if self.label_sets is not None else [(t,) for t in self.labels]

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self) -> dict[str, int]:
        """Rows per topic, largest first (ties by name)."""
        out: dict[str, int] = {}
        for row in self.topic_sets():
            for label in row:
                out[label] = out.get(label, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def without_small_topics(self, min_count: int) -> tuple[LabelledData, dict[str, int]]:
        """These rows less the topics with fewer than ``min_count`` rows, and the topics dropped."""
        counts = self.counts()
        dropped = {t: n for t, n in counts.items() if n < min_count}
        if not dropped:
            return self, {}
        # A row keeps its other topics; it goes when none is left.
        sets = [tuple(t for t in row if t not in dropped) for row in self.topic_sets()]
        keep = [i for i, row in enumerate(sets) if row]
        frame = None if self.frame is None else self.frame.iloc[keep].reset_index(drop=True)
        kept_sets = tuple(sets[i] for i in keep)
        kept = dataclasses.replace(
            self,
            texts=[self.texts[i] for i in keep],
            labels=[row[0] for row in kept_sets],
            frame=frame,
            label_sets=kept_sets if any(len(row) > 1 for row in kept_sets) else None,
        )
        return kept, dropped

    def fingerprint(self) -> str:
        """SHA-256 of the (text, label) pairs: identifies the training data inside a saved model."""
        digest = hashlib.sha256()
        labels = self.labels if self.label_sets is None else ["|".join(s) for s in self.label_sets]
        for text, label in zip(self.texts, labels, strict=True):
            digest.update(text.encode("utf-8"))
            digest.update(b"\t")
            digest.update(label.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (cheap staleness check for the default model)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_table(path: Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or JSON Lines file into a DataFrame of strings (missing values as '').

    Read by :func:`classify.io.reading.table_rows`, the reader prediction uses, so that a file means the
    same to ``train`` and ``predict``; cells are text as written (JSON values as their JSON text).
    """
    import pandas as pd

    columns, rows = _read_rows(Path(path), fmt)
    return pd.DataFrame([[cell_text(r.cells.get(c)) for c in columns] for r in rows], columns=columns)


def _read_rows(
    path: Path, fmt: str | None, check_header: Callable[[list[str]], None] | None = None
) -> tuple[list[str], list[Row]]:
    """The columns and rows of a labelled file; strict UTF-8 (a bad byte is an error naming its line).

    Training refuses undecodable text rather than replacing it: a label with U+FFFD in it would be
    learnt as a topic of its own, silently.
    """
    with open_binary(path) as stream:
        first, lines = peek(numbered_lines(stream, str(path), errors="strict"))
        if not first.strip():
            raise DataError(f"{path}: file is empty")
        fmt = fmt or table_format(path, first) or "csv"
        columns, rows = table_rows(lines, fmt, str(path), strict=True)
        if not columns:
            raise DataError(f"{path}: file is empty")
        if check_header is not None and fmt != "jsonl":  # before the rows: their errors would hide it
            check_header(columns)
        listed = list(rows)
    if fmt == "jsonl":  # later objects may add columns
        seen = dict.fromkeys(columns)
        for row in listed:
            seen.update(dict.fromkeys(row.cells))
        columns = list(seen)
    return columns, listed


def load_labelled(
    path: Path | str,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    label_sep: str | None = LABEL_SEP,
) -> LabelledData:
    """Read a labelled headline file.

    Parameters
    ----------
    path
        CSV, TSV or JSON Lines file (format from the extension, else sniffed).
    text_col, label_col
        Column names; by default the first of ``headline/title/text`` and ``label/topic/category/class``.
    label_sep
        Between the topics of a label cell that holds several (``economy|diplomacy``; ``None``: a cell
        is one topic whatever it holds). In JSON Lines a label may also be a list of topics. Data with
        such cells is multi-label (:attr:`LabelledData.label_sets`).

    Returns
    -------
    LabelledData
        Rows with an empty headline or label are dropped and counted in ``skipped``; headlines longer
        than :data:`classify.io.reading.MAX_TEXT_CHARS` are cut to it and counted in ``truncated``, with
        a note in ``warnings``. Labels are text as written (``3`` stays ``"3"``; ``null`` is empty).

    Raises
    ------
    DataError
        The file is missing, empty, not UTF-8, or a row cannot be read (each names its line; see the
        README's "Bad input" section).
    """
    report(f"reading {path}")
    import pandas as pd

    path = Path(path)

    def check_header(columns: list[str]) -> None:
        """A header without the columns training needs (most often a plain list of headlines, whose
        first headline was taken for the header) is said as such, before any row is read."""
        lowered = {c.lower() for c in columns}
        known = (text_col is not None or lowered & set(TEXT_COLUMNS)) and (
            label_col is not None or lowered & set(LABEL_COLUMNS)
        )
        if not known and (len(columns) == 1 or not lowered & {*TEXT_COLUMNS, *LABEL_COLUMNS}):
            found = ", ".join(repr(c[:60]) for c in columns[:5])
            raise DataError(
                f"{path}: no label column: training needs a headline and a label column, named in a "
                f"header row such as 'headline,topic' (found {len(columns)} column(s) in the first "
                f"line: {found}); a plain list of headlines is for predict, or for {{pool}}",
                arguments=("pool",),
            )

    columns, rows = _read_rows(path, None, check_header)
    tcol = find_column(columns, text_col, TEXT_COLUMNS, "text", "text_col", str(path))
    lcol = find_column(columns, label_col, LABEL_COLUMNS, "label", "label_col", str(path))
    if tcol == lcol:
        raise DataError(
            f"{path}: text and label column are both '{tcol}'; pass {{text_col}} and {{label_col}}",
            arguments=("text_col", "label_col"),
        )
    if label_sep == "":
        raise ValueError("label_sep is empty; give a separator such as '|', or None")
    texts: list[str] = []
    labels: list[str] = []
    sets: list[tuple[str, ...]] = []
    kept: list[list[str]] = []
    truncated: list[int] = []
    for row in rows:
        text, cut = headline_text(cell_text(row.cells.get(tcol)))
        topics = split_label(row.cells.get(lcol), label_sep)
        if cut:
            truncated.append(row.line)
        if text and topics:
            texts.append(text)
            labels.append(topics[0])
            sets.append(topics)
            kept.append([cell_text(row.cells.get(c)) for c in columns])
    notes: tuple[str, ...] = ()
    if truncated:
        notes = (truncation_note(str(path), len(truncated), truncated[0]),)
    return LabelledData(
        texts=texts,
        labels=labels,
        source=str(path),
        text_col=tcol,
        label_col=lcol,
        skipped=len(rows) - len(texts),
        truncated=len(truncated),
        warnings=notes,
        frame=pd.DataFrame(kept, columns=columns),
        label_sets=tuple(sets) if any(len(t) > 1 for t in sets) else None,
    )


def split_label(value: object, sep: str | None = LABEL_SEP) -> tuple[str, ...]:
    """The topics of a label cell: a JSON list's items, or the text split at ``sep``; stripped, empty
    ones dropped, repeats dropped (first kept), in the order written (the first is the primary)."""
    if isinstance(value, list):
        parts = [cell_text(v) for v in value]
    else:
        text = cell_text(value)
        parts = text.split(sep) if sep and sep in text else [text]
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


#: Past this many topics, more than a tenth of the rows being topics is refused: a few rows a topic
#: teach nothing, and the work grows with topics x features (6,000 labels on 12,000 rows ran for
#: minutes and gigabytes). :data:`MAX_TOPICS` is refused whatever the rows.
MANY_TOPICS = 200
MAX_TOPICS = 2000


def check_topic_count(source: str, counts: dict[str, int]) -> None:
    """Raise :class:`DataError` for more topics than a classifier can learn from the rows (most often
    the wrong column taken for the label), before any work is done."""
    rows, topics = sum(counts.values()), len(counts)
    if topics > MAX_TOPICS or (topics > MANY_TOPICS and topics * 10 > rows):
        raise DataError(
            f"{source}: {topics} topics for {rows} rows ({rows / topics:.1f} a topic): too many to "
            f"learn (at most {MAX_TOPICS}, and a tenth of the rows past {MANY_TOPICS}); is the label "
            "column the right one? pass {label_col}, or merge rare topics",
            arguments=("label_col",),
        )


def check_trainable(data: LabelledData, *, min_rows: int = 2) -> None:
    """Raise :class:`DataError` unless ``data`` has 2+ topics with ``min_rows``+ rows each, and not
    more topics than it can learn (:func:`check_topic_count`)."""
    counts = data.counts()
    if not counts:
        raise DataError(f"{data.source}: no rows with both a headline and a label")
    check_topic_count(data.source, counts)
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(f"{data.source}: only one topic ('{only}'); a classifier needs at least 2")
    small = [t for t, n in counts.items() if n < min_rows]
    if small:
        raise DataError(
            f"{data.source}: {describe_topics(small, counts)} fewer than {min_rows} rows; "
            "add rows or remove the topic"
        )


def read_labelled(
    paths: Sequence[Path | str],
    *,
    text_col: str | None = None,
    label_col: str | None = None,
    label_sep: str | None = LABEL_SEP,
    min_count: int | None = None,
    on_info: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> LabelledData:
    """One or more labelled files read as one, less the topics under ``min_count`` rows, with what
    reading changed (skipped rows, notes, dropped topics) told through the callbacks: the one way every
    command that trains or evaluates reads its data."""
    info = on_info or (lambda _: None)
    warn = on_warning or (lambda _: None)
    parts = []
    for path in paths:
        part = load_labelled(path, text_col=text_col, label_col=label_col, label_sep=label_sep)
        if part.skipped:
            warn(f"{path}: skipped {part.skipped} row(s) with an empty headline or label")
        for note in part.warnings:
            warn(note)
        parts.append(part)
    data = parts[0] if len(parts) == 1 else concat_labelled(parts)
    if min_count:
        data, dropped = data.without_small_topics(min_count)
        if dropped:
            info(dropped_note(paths[0], dropped, min_count))
    return data


def concat_labelled(parts: Sequence[LabelledData]) -> LabelledData:
    """Several labelled files as one (their rows in order; the first file's column names)."""
    first = parts[0]
    return LabelledData(
        texts=[t for p in parts for t in p.texts],
        labels=[label for p in parts for label in p.labels],
        source=" + ".join(p.source for p in parts),
        text_col=first.text_col,
        label_col=first.label_col,
        skipped=sum(p.skipped for p in parts),
        truncated=sum(p.truncated for p in parts),
        label_sets=tuple(row for p in parts for row in p.topic_sets())
        if any(p.multilabel for p in parts)
        else None,
    )


def dropped_note(source: object, dropped: dict[str, int], min_count: int) -> str:
    """The line that says which topics ``min_count`` dropped."""
    listed = ", ".join(f"{t} ({n})" for t, n in dropped.items())
    return f"{source}: dropped {len(dropped)} topic(s) with fewer than {min_count} rows: {listed}"


def describe_topics(topics: list[str], counts: dict[str, int], most: int = 3) -> str:
    """``topic 'a' (1 row) has`` / ``topics 'a' (1), 'b' (2) and 3 more have``, for error messages."""
    shown = ", ".join(f"'{t}' ({counts[t]})" for t in topics[:most])
    more = f" and {len(topics) - most} more" if len(topics) > most else ""
    return f"topic {shown} has" if len(topics) == 1 else f"topics {shown}{more} have"
