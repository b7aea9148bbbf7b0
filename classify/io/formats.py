"""Input formats: which files are tables, how their format is told, how they are opened.

One module for training and prediction alike, so that ``classify train feed.jsonl`` and ``classify
predict feed.jsonl`` can never read the same file two ways. A new input format goes here: its
extensions in :data:`EXTENSIONS`, its sniffing rule in :func:`sniff`, its reader in
:mod:`classify.io.labelled` (whole labelled tables) and :mod:`classify.io.records` (streamed records).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from classify.errors import DataError

#: Column names recognised as the headline and as the label, in order of preference
#: (case-insensitive), unless the caller names the column.
TEXT_COLUMNS = ("headline", "title", "text", "sentence", "content")
LABEL_COLUMNS = ("label", "topic", "category", "class", "section")

#: Table formats by file extension. ``.json`` is read as JSON Lines, one object per line: the form
#: feeds and exports take; a file holding one JSON array is refused with a message saying so.
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
#: Every input format by extension, Parquet included (read by streaming training and partitioned
#: prediction only: it needs the dask extra's pyarrow). The one table the readers consult.
ALL_EXTENSIONS = {**EXTENSIONS, ".parquet": "parquet", ".pq": "parquet"}


def format_of(path: Path | str) -> str | None:
    """The table format of a file by its extension, or ``None`` (plain text, stdin, unknown)."""
    return EXTENSIONS.get(Path(str(path)).suffix.lower())


def stream_format(path: Path) -> str:
    """csv, tsv, jsonl or parquet from the extension (``.gz`` looked through); else csv."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return ALL_EXTENSIONS.get(suffixes[-1], "csv") if suffixes else "csv"


def is_parquet(path: Path | str) -> bool:
    """Whether a file is Parquet, by its extension."""
    return ALL_EXTENSIONS.get(Path(str(path)).suffix.lower()) == "parquet"


def sniff(first_line: str) -> str:
    """Tell a table's format from its first line: ``{`` is JSON Lines, a tab TSV, else CSV."""
    first = first_line.lstrip("\ufeff \r\n\t")
    if first.startswith("{"):
        return "jsonl"
    if first.startswith("["):
        return "json-array"
    return "tsv" if "\t" in first.split("\n", 1)[0] else "csv"


def table_format(path: Path | str, first_line: str, *, is_table: bool = True) -> str | None:
    """The format to read a source with: by extension, else sniffed when it is known to be a table.

    Parameters
    ----------
    path
        The file name (``-`` for standard input).
    first_line
        The start of the file, for sniffing.
    is_table
        Whether a file with no telling extension is a table (labelled data always is; prediction
        input is one only when a text column is named). ``False`` returns ``None`` for such files.

    Raises
    ------
    DataError
        The file is one JSON array rather than JSON Lines.
    """
    fmt = format_of(path)
    if fmt is None and not is_table:
        return None
    sniffed = sniff(first_line)
    if sniffed == "json-array" and fmt in (None, "jsonl"):
        raise DataError(
            f"{_name(path)}: holds one JSON array; classify reads JSON Lines (one object per line)"
        )
    return fmt or sniffed


def _name(source: Path | str) -> str:
    return "<stdin>" if str(source) == "-" else str(source)


def check_file(path: Path) -> None:
    """Raise :class:`DataError` unless ``path`` is an existing file."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")


def open_binary(source: Path | str) -> contextlib.AbstractContextManager[IO[bytes]]:
    """Open a file (or ``-``, standard input, left open afterwards) for reading bytes.

    The readers decode line by line themselves (:mod:`classify.io.reading`), so that a bad byte is
    reported on its own line and never after a partial decode of a whole buffer.
    """
    if str(source) == "-":
        return contextlib.nullcontext(sys.stdin.buffer)
    path = Path(source)
    check_file(path)
    try:
        return path.open("rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def find_column(
    columns: Sequence[str],
    wanted: str | None,
    candidates: Sequence[str],
    what: str,
    argument: str,
    source: str,
) -> str:
    """Return the column to use: ``wanted`` if given, else the first known name (case-insensitive).

    Parameters
    ----------
    argument
        The library argument that names this column (``text_col``), named in the error so that each
        front end can say how to pass it (see :class:`classify.errors.ClassifyError`).
    """
    lowered = {c.lower(): c for c in columns}
    if wanted is not None:
        if wanted in columns:
            return wanted
        if wanted.lower() in lowered:
            return lowered[wanted.lower()]
        raise DataError(f"{source}: no column '{wanted}' (found: {', '.join(columns)})")
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise DataError(
        f"{source}: no {what} column (found: {', '.join(columns) or 'none'}); pass {{{argument}}}",
        arguments=(argument,),
    )
