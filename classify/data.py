"""Reading labelled and unlabelled headline files.

Labelled files (for training and evaluation) are CSV, TSV or JSON Lines; the text and label columns are
found by their usual names unless given. Unlabelled input (for prediction) is streamed line by line so
that a file of millions of headlines never has to fit in memory.
"""

from __future__ import annotations

import hashlib
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from classify.config import LABEL_COLUMNS, TEXT_COLUMNS
from classify.errors import DataError
from classify.text import collapse

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


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


def detect_format(path: Path, sample: str) -> str:
    """Pick csv, tsv or jsonl from the file extension, else from the first line of ``sample``."""
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt:
        return fmt
    first = sample.lstrip("\ufeff \r\n\t").split("\n", 1)[0]
    if first.startswith("{"):
        return "jsonl"
    if "\t" in first:
        return "tsv"
    return "csv"


def read_text(path: Path) -> str:
    """Read a whole file as UTF-8 (a BOM is allowed), with errors that say what to do."""
    if str(path) == "-":
        raw = sys.stdin.buffer.read()
    else:
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.is_dir():
            raise DataError(f"{path}: is a folder, not a file")
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        ) from None


def read_table(path: Path, fmt: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or JSON Lines file into a DataFrame of strings (missing values as '')."""
    import pandas as pd

    text = read_text(path)
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    fmt = fmt or detect_format(path, text[:4096])
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


def find_column(
    columns: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str, option: str, source: str
) -> str:
    """Return the column to use: ``wanted`` if given, else the first known name (case-insensitive)."""
    if wanted is not None:
        if wanted in columns:
            return wanted
        lowered = {c.lower(): c for c in columns}
        if wanted.lower() in lowered:
            return lowered[wanted.lower()]
        raise DataError(f"{source}: no column '{wanted}' (found: {', '.join(columns)})")
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise DataError(f"{source}: no {what} column (found: {', '.join(columns) or 'none'}); pass {option}")


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
    tcol = find_column(columns, text_col, TEXT_COLUMNS, "text", "--text-col", str(path))
    lcol = find_column(columns, label_col, LABEL_COLUMNS, "label", "--label-col", str(path))
    if tcol == lcol:
        raise DataError(f"{path}: text and label column are both '{tcol}'; pass --text-col and --label-col")
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
