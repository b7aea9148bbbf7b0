"""Reading a labelled file in chunks of rows, never holding the whole file.

Streaming training (:mod:`classify.training.stream`) reads archives too large for memory several times over.
This module yields them as :class:`Chunk` objects of at most ``chunk_rows`` rows, from CSV, TSV,
JSON Lines (each optionally gzip-compressed, by the ``.gz`` extension) or Parquet (needs pyarrow).

Malformed rows
--------------
A row that cannot be read as one (headline, label) pair is **skipped, counted and reported by its line
number**, never guessed at: a CSV row with more or fewer fields than the header (an unquoted comma
would otherwise shift the label into another column), a JSON Lines line that is not a JSON object, a
line that is not UTF-8. Rows with an empty headline or label are skipped as
:func:`classify.io.labelled.load_labelled` skips them, and counted apart. A fault that makes the rest of the
file unreadable (a field longer than :data:`MAX_FIELD_CHARS`, e.g. from an unterminated quote) stops the
run with a :class:`~classify.errors.DataError` naming the line.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from classify.errors import DataError
from classify.io.formats import (
    ALL_EXTENSIONS,
    LABEL_COLUMNS,
    TEXT_COLUMNS,
    find_column,
    refuse_binary,
    stream_format,
)
from classify.io.reading import headline_text, load_json
from classify.paths import install_hint

#: Formats read in chunks, by extension (``.gz`` is looked through): every input format.
STREAM_FORMATS = ALL_EXTENSIONS
#: A CSV field longer than this means the quoting went wrong: a cell of up to 64 Mi characters (a
#: pasted article, a 50 MB cell) is read and its headline cut as the in-memory reader cuts it, with
#: a warning; past that, an unclosed quote would hold the rest of the file in memory (the csv module
#: takes four bytes a character), so the run stops there, naming the line.
MAX_FIELD_CHARS = 64 * 2**20
#: How many line numbers of malformed rows are kept for the report.
KEEP_BAD_LINES = 20


@dataclass(frozen=True)
class Chunk:
    """Consecutive usable rows of a file.

    Attributes
    ----------
    texts, labels
        Headlines (whitespace collapsed) and their labels.
    lines
        The line number of each row in the file (1-based, the header is line 1; for Parquet, the row
        number + 1), so that any row can be traced back.
    """

    texts: list[str]
    labels: list[str]
    lines: list[int]

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class ReadStats:
    """What a pass over a file met besides usable rows (filled in while reading)."""

    rows: int = 0
    empty: int = 0
    malformed: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    bytes_read: int = 0
    truncated: int = 0
    first_truncated: int | None = None

    def bad(self, line: int, why: str) -> None:
        self.malformed += 1
        if len(self.bad_lines) < KEEP_BAD_LINES:
            self.bad_lines.append((line, why))


def file_size(path: Path) -> int:
    """Bytes on disk (compressed size for ``.gz``), for progress and the automatic --stream choice."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def iter_chunks(
    path: Path,
    *,
    chunk_rows: int = 100_000,
    text_col: str | None = None,
    label_col: str | None = None,
    stats: ReadStats | None = None,
) -> Iterator[Chunk]:
    """Yield the usable rows of ``path`` in chunks of at most ``chunk_rows``.

    Parameters
    ----------
    path
        CSV, TSV, JSON Lines (optionally ``.gz``) or Parquet file.
    chunk_rows
        Rows per chunk; memory is proportional to it, not to the file.
    text_col, label_col
        Columns, found by their usual names when not given (as :func:`classify.io.labelled.load_labelled`).
    stats
        Filled in with counts of rows, empty rows and malformed rows (with their line numbers).

    Raises
    ------
    DataError
        Missing file, no usable columns, or a fault that makes the rest unreadable.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a file")
    stats = stats if stats is not None else ReadStats()
    fmt = stream_format(path)
    rows = _parquet_rows(path, text_col, label_col) if fmt == "parquet" else None
    if rows is None:
        rows = _text_rows(path, fmt, text_col, label_col, stats)
    texts: list[str] = []
    labels: list[str] = []
    lines: list[int] = []
    for line, raw_text, raw_label in rows:
        text, cut = headline_text(raw_text)
        if cut:  # a huge cell is cut as the in-memory reader cuts it, and counted for a warning
            stats.truncated += 1
            if stats.first_truncated is None:
                stats.first_truncated = line
        label = raw_label.strip()
        if not text or not label:
            stats.empty += 1
            continue
        stats.rows += 1
        texts.append(text)
        labels.append(label)
        lines.append(line)
        if len(texts) >= chunk_rows:
            yield Chunk(texts, labels, lines)
            texts, labels, lines = [], [], []
    if texts:
        yield Chunk(texts, labels, lines)


def _open_text(path: Path) -> IO[str]:
    try:
        # Closed with the text wrapper that owns it (the caller's ``finally``).
        binary: Any = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else path.open("rb")  # noqa: SIM115
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        head = binary.read(1024)
        binary.seek(0)
        gzipped = path.suffix.lower() == ".gz"
        refuse_binary(
            str(path), head, path=None if gzipped else path, inside="a gzip file of " if gzipped else ""
        )
    except (OSError, EOFError) as exc:
        binary.close()
        raise DataError(
            f"{path}: cannot read ({exc}); the file is truncated or not what its name says"
        ) from None
    except DataError:
        binary.close()
        raise
    # Undecodable bytes become U+FFFD so that one bad line is reported, not the whole file lost.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")


def _columns(path: Path, columns: list[str], text_col: str | None, label_col: str | None) -> tuple[str, str]:
    tcol = find_column(columns, text_col, TEXT_COLUMNS, "text", "text_col", str(path))
    lcol = find_column(columns, label_col, LABEL_COLUMNS, "label", "label_col", str(path))
    if tcol == lcol:
        raise DataError(f"{path}: text and label column are both '{tcol}'; pass --text-col and --label-col")
    return tcol, lcol


def _text_rows(
    path: Path, fmt: str, text_col: str | None, label_col: str | None, stats: ReadStats
) -> Iterator[tuple[int, str, str]]:
    stream = _open_text(path)
    try:
        if fmt == "jsonl":
            yield from _jsonl_rows(path, stream, text_col, label_col, stats)
        else:
            yield from _csv_rows(path, stream, "\t" if fmt == "tsv" else ",", text_col, label_col, stats)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: cannot read ({exc}); the file is truncated or not what its name says"
        ) from None
    finally:
        stream.close()


def _csv_rows(
    path: Path, stream: IO[str], sep: str, text_col: str | None, label_col: str | None, stats: ReadStats
) -> Iterator[tuple[int, str, str]]:
    csv.field_size_limit(MAX_FIELD_CHARS)  # a huge cell is read, then cut (iter_chunks)
    reader = csv.reader(stream, delimiter=sep, skipinitialspace=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: file is empty") from None
    except csv.Error as exc:
        raise DataError(f"{path}: cannot parse the header as {sep!r}-separated ({exc})") from None
    header = [h.strip() for h in header]
    tcol, lcol = _columns(path, header, text_col, label_col)
    ti, li, width = header.index(tcol), header.index(lcol), len(header)
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(
                f"{path}: line {start}: {exc}; the quoting is broken from here on (an unclosed quote?), "
                "fix the file"
            ) from None
        line = reader.line_num
        if not row:  # a blank line
            continue
        if len(row) != width:
            stats.bad(start, f"{len(row)} fields, the header has {width}")
            continue
        text, label = row[ti], row[li]
        if "\ufffd" in text or "\ufffd" in label:
            stats.bad(start, "not valid UTF-8")
            continue
        yield start, text, label


def _jsonl_rows(
    path: Path, stream: IO[str], text_col: str | None, label_col: str | None, stats: ReadStats
) -> Iterator[tuple[int, str, str]]:
    cols: tuple[str, str] | None = None
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        if "\ufffd" in raw:
            stats.bad(number, "not valid UTF-8")
            continue
        try:
            obj = load_json(raw)
        except UnicodeError:
            stats.bad(number, "an escaped lone surrogate")
            continue
        except ValueError:
            stats.bad(number, "not valid JSON")
            continue
        if not isinstance(obj, dict):
            stats.bad(number, "not a JSON object")
            continue
        if cols is None:
            cols = _columns(path, [str(k) for k in obj], text_col, label_col)
        text, label = obj.get(cols[0]), obj.get(cols[1])
        if text is None or label is None:
            stats.bad(number, f"no '{cols[0] if text is None else cols[1]}' field")
            continue
        if not isinstance(text, str) or isinstance(label, dict | list):
            stats.bad(
                number, "headline is not a string" if not isinstance(text, str) else "label is not text"
            )
            continue
        yield number, text, str(label)
    if cols is None:
        raise DataError(f"{path}: no JSON object with the text and label fields")


def _parquet_rows(path: Path, text_col: str | None, label_col: str | None) -> Iterator[tuple[int, str, str]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow: {install_hint('dask')} (or pip install pyarrow)"
        ) from None
    try:
        reader = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own ArrowInvalid / OSError kinds
        raise DataError(f"{path}: cannot read as Parquet ({exc})") from None
    tcol, lcol = _columns(path, list(reader.schema_arrow.names), text_col, label_col)

    def rows() -> Iterator[tuple[int, str, str]]:
        number = 1
        for batch in reader.iter_batches(batch_size=65_536, columns=[tcol, lcol]):
            texts = batch.column(0).to_pylist()
            labels = batch.column(1).to_pylist()
            for text, label in zip(texts, labels, strict=True):
                number += 1
                yield number, "" if text is None else str(text), "" if label is None else str(label)

    return rows()
