"""Labelled headlines: reading them from a file, and checking that they can train a model.

Labelled files (for training and evaluation) are CSV, TSV or JSON Lines (:mod:`classify.formats` tells
which); the text and label columns are found by their usual names unless given. Unlabelled input for
prediction is streamed instead, by :mod:`classify.sources`.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from classify.errors import DataError
from classify.formats import LABEL_COLUMNS, TEXT_COLUMNS, find_column, read_text, table_format
from classify.text import collapse

if TYPE_CHECKING:
    import pandas as pd


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
    frame
        All columns of the kept rows (pandas DataFrame), for features such as a date split.
    """

    texts: list[str]
    labels: list[str]
    source: str = "<memory>"
    text_col: str = "headline"
    label_col: str = "topic"
    skipped: int = 0
    frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self) -> dict[str, int]:
        """Rows per topic, largest first (ties by name)."""
        out: dict[str, int] = {}
        for label in self.labels:
            out[label] = out.get(label, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def fingerprint(self) -> str:
        """SHA-256 of the (text, label) pairs: identifies the training data inside a saved model."""
        digest = hashlib.sha256()
        for text, label in zip(self.texts, self.labels, strict=True):
            digest.update(text.encode("utf-8"))
            digest.update(b"\t")
            digest.update(label.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (cheap staleness check for the default model)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_table(path: Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or JSON Lines file into a DataFrame of strings (missing values as '')."""
    import pandas as pd

    text = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    fmt = fmt or table_format(path, text[:4096]) or "csv"
    try:
        if fmt == "jsonl":
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        else:
            frame = pd.read_csv(
                io.StringIO(text),
                sep="\t" if fmt == "tsv" else ",",
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
            )
    except ValueError as exc:  # pandas' ParserError and JSON errors are ValueErrors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse as {fmt.upper()} ({first})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.fillna("").astype(str)


def load_labelled(
    path: Path | str,
    *,
    text_col: str | None = None,
    label_col: str | None = None,
) -> LabelledData:
    """Read a labelled headline file.

    Parameters
    ----------
    path
        CSV, TSV or JSON Lines file (format from the extension, else sniffed).
    text_col, label_col
        Column names; by default the first of ``headline/title/text`` and ``label/topic/category/class``.

    Returns
    -------
    LabelledData
        Rows with an empty headline or label are dropped and counted in ``skipped``.
    """
    path = Path(path)
    frame = read_table(path)
    columns = list(frame.columns)
    tcol = find_column(columns, text_col, TEXT_COLUMNS, "text", "text_col", str(path))
    lcol = find_column(columns, label_col, LABEL_COLUMNS, "label", "label_col", str(path))
    if tcol == lcol:
        raise DataError(
            f"{path}: text and label column are both '{tcol}'; pass {{text_col}} and {{label_col}}",
            arguments=("text_col", "label_col"),
        )
    texts = frame[tcol].map(collapse)
    labels = frame[lcol].map(str.strip)
    keep = (texts != "") & (labels != "")
    kept = frame.loc[keep].reset_index(drop=True)
    return LabelledData(
        texts=texts[keep].tolist(),
        labels=labels[keep].tolist(),
        source=str(path),
        text_col=tcol,
        label_col=lcol,
        skipped=int((~keep).sum()),
        frame=kept,
    )


def check_trainable(data: LabelledData, *, min_rows: int = 2) -> None:
    """Raise :class:`DataError` unless ``data`` has 2+ topics with ``min_rows``+ rows each."""
    counts = data.counts()
    if not counts:
        raise DataError(f"{data.source}: no rows with both a headline and a label")
    if len(counts) < 2:
        only = next(iter(counts))
        raise DataError(f"{data.source}: only one topic ('{only}'); a classifier needs at least 2")
    small = [t for t, n in counts.items() if n < min_rows]
    if small:
        raise DataError(
            f"{data.source}: {describe_topics(small, counts)} fewer than {min_rows} rows; "
            "add rows or remove the topic"
        )


def describe_topics(topics: list[str], counts: dict[str, int], most: int = 3) -> str:
    """``topic 'a' (1 row) has`` / ``topics 'a' (1), 'b' (2) and 3 more have``, for error messages."""
    shown = ", ".join(f"'{t}' ({counts[t]})" for t in topics[:most])
    more = f" and {len(topics) - most} more" if len(topics) > most else ""
    return f"topic {shown} has" if len(topics) == 1 else f"topics {shown}{more} have"
