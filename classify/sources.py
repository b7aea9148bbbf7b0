"""Streaming unlabelled input for prediction: plain lines, ticker blobs, scraped pages and tables.

Everything is read lazily, record by record, so that a file of millions of headlines runs in constant
memory and the first results appear at once. A :class:`Record` keeps the input's other columns (id,
url, date) so they pass through to the output untouched.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from classify.config import TEXT_COLUMNS
from classify.data import find_column
from classify.errors import DataError
from classify.text import collapse

TABLE_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class Record:
    """One headline to classify, with the fields it came with (``{"headline": text}`` for lines)."""

    headline: str
    fields: dict[str, object]


def iter_records(
    sources: Iterable[Path | str],
    *,
    text_col: str | None = None,
    split: bool = True,
    pattern: str | None = None,
    from_page: bool = False,
) -> Iterator[Record]:
    """Yield the headlines of every source in order (``-`` is standard input).

    Parameters
    ----------
    sources
        Paths, or ``-`` for standard input.
    text_col
        Read the input as a table (CSV, TSV or JSON Lines) and take the headline from this column.
        Files named ``.csv``, ``.tsv`` or ``.jsonl`` are read as tables even without it (the column
        is then found by its usual name).
    split
        Split lines holding several headlines (news tickers) into one record each.
    pattern
        Separator regular expression for ``split`` (default: :data:`classify.ticker.DEFAULT_SEPARATOR`).
    from_page
        The input is text scraped from a news page: keep only its headlines (reads each source whole).
    """
    from classify import ticker

    if split or from_page:
        ticker.split_ticker("", pattern)  # fail on a bad --split before reading anything
    for source in sources:
        name = "<stdin>" if str(source) == "-" else str(source)
        with _open(source) as stream:
            fmt = None if from_page else _table_format(source, stream, text_col)
            if fmt:
                yield from _table_records(stream, fmt, text_col, name)
            elif from_page:
                for headline in ticker.extract_from_page(_read_all(stream, name), pattern=pattern):
                    yield Record(headline, {"headline": headline})
            else:
                lines = _lines(stream, name)
                if split:
                    lines = ticker.iter_split(lines, pattern)
                for line in lines:
                    text = collapse(line)
                    if text:
                        yield Record(text, {"headline": text})


def _open(source: Path | str) -> IO[str]:
    if str(source) == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def _table_format(source: Path | str, stream: IO[str], text_col: str | None) -> str | None:
    """csv/tsv/jsonl if this source is a table, else None (plain lines)."""
    fmt = TABLE_EXTENSIONS.get(Path(str(source)).suffix.lower())
    if fmt or text_col is None:
        return fmt
    # --text-col on input with no telling extension (stdin, .txt): sniff the first line.
    first = _peek_line(stream)
    if first.lstrip().startswith("{"):
        return "jsonl"
    return "tsv" if "\t" in first else "csv"


def _peek_line(stream: IO[str]) -> str:
    """Read the first line without consuming it (works on pipes: buffers what it read)."""
    buffered = (
        stream.buffer.peek(65536) if hasattr(stream, "buffer") and hasattr(stream.buffer, "peek") else b""
    )
    if buffered:
        return buffered.decode("utf-8-sig", errors="replace").split("\n", 1)[0]
    if stream.seekable():
        pos = stream.tell()
        line = stream.readline()
        stream.seek(pos)
        return line
    return ""


def _lines(stream: IO[str], name: str) -> Iterator[str]:
    number = 0
    try:
        for number, line in enumerate(stream, start=1):  # noqa: B007 - number is used in the error
            yield line.rstrip("\r\n")
    except UnicodeDecodeError:
        raise DataError(f"{name}: line {number + 1} is not valid UTF-8; re-save the file as UTF-8") from None


def _read_all(stream: IO[str], name: str) -> str:
    try:
        return stream.read()
    except UnicodeDecodeError:
        raise DataError(f"{name}: not valid UTF-8; re-save the file as UTF-8") from None


def _table_records(stream: IO[str], fmt: str, text_col: str | None, name: str) -> Iterator[Record]:
    if fmt == "jsonl":
        rows: Iterator[dict[str, object]] = _json_rows(_lines(stream, name), name)
        first = next(rows, None)
        if first is None:
            return
        column = find_column(list(first), text_col, TEXT_COLUMNS, "text", "--text-col", name)
        rows = _chain(first, rows)
    else:
        reader = csv.DictReader(_lines(stream, name), delimiter="\t" if fmt == "tsv" else ",")
        try:
            header = reader.fieldnames or []
        except csv.Error as exc:
            raise DataError(f"{name}: cannot parse as {fmt.upper()} ({exc})") from None
        if not header:
            return
        column = find_column(list(header), text_col, TEXT_COLUMNS, "text", "--text-col", name)
        rows = _csv_rows(reader, name, fmt)
    for row in rows:
        text = collapse(str(row.get(column) or ""))
        if text:
            yield Record(text, row)


def _chain(first: dict[str, object], rest: Iterator[dict[str, object]]) -> Iterator[dict[str, object]]:
    yield first
    yield from rest


def _csv_rows(reader: csv.DictReader[str], name: str, fmt: str) -> Iterator[dict[str, object]]:
    try:
        for row in reader:
            row.pop(None, None)  # type: ignore[call-overload]  # cells beyond the header
            yield {k: ("" if v is None else v) for k, v in row.items()}
    except csv.Error as exc:
        raise DataError(f"{name}: line {reader.line_num}: cannot parse as {fmt.upper()} ({exc})") from None


def _json_rows(lines: Iterable[str], name: str) -> Iterator[dict[str, object]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: line {number} is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{name}: line {number} is not a JSON object")
        yield row
