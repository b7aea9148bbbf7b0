"""Streaming unlabelled input for prediction: plain lines, ticker blobs, scraped pages and tables.

Everything is read lazily, record by record, so that a file of millions of headlines runs in constant
memory and the first results appear at once. A :class:`Record` keeps the input's other columns (id,
url, date) so they pass through to the output untouched.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from classify.errors import DataError
from classify.formats import TEXT_COLUMNS, find_column, format_of, open_text, table_format
from classify.text import collapse


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
        Files whose extension names a table format (:data:`classify.formats.EXTENSIONS`) are read as
        tables even without it (the column is then found by its usual name).
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
        with open_text(source) as stream:
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


def _table_format(source: Path | str, stream: IO[str], text_col: str | None) -> str | None:
    """csv/tsv/jsonl if this source is a table, else None (plain lines)."""
    if format_of(source) is None and text_col is None:
        return None
    # A table: its extension says which, or (--text-col on stdin or a .txt) its first line does.
    return table_format(source, _peek_line(stream))


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
        column = find_column(list(first), text_col, TEXT_COLUMNS, "text", "text_col", name)
        rows = _chain(first, rows)
    else:
        reader = csv.DictReader(_lines(stream, name), delimiter="\t" if fmt == "tsv" else ",")
        try:
            header = reader.fieldnames or []
        except csv.Error as exc:
            raise DataError(f"{name}: cannot parse as {fmt.upper()} ({exc})") from None
        if not header:
            return
        column = find_column(list(header), text_col, TEXT_COLUMNS, "text", "text_col", name)
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
