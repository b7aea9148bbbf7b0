"""Streaming unlabelled input for prediction: plain lines, ticker blobs, scraped pages and tables.

Everything is read lazily, record by record, so that a file of millions of headlines runs in constant
memory and the first results appear at once. A :class:`Record` keeps the input's other columns (id,
url, date) so they pass through to the output untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from classify.errors import DataError
from classify.io.formats import TEXT_COLUMNS, find_column, format_of, is_parquet, open_binary, table_format
from classify.io.reading import (
    MAX_TEXT_CHARS,
    InputReport,
    cell_text,
    headline_text,
    numbered,
    numbered_lines,
    peek,
    table_rows,
    text_blocks,
)
from classify.paths import install_hint
from classify.text import collapse


class Record(NamedTuple):
    """One headline to classify, with the fields it came with (``{"headline": text}`` for lines).

    A named tuple rather than a frozen dataclass: a run makes one per input line, and a tuple is
    built in C, where a frozen dataclass costs a Python ``__init__`` with two ``object.__setattr__``.
    A plain line stores no dict at all (``cells`` is None) and :attr:`fields` makes one on demand:
    a dict per line was a sixth of the time ``classify predict`` spent outside the model, and the
    writers put plain lines out without asking for it.
    """

    headline: str
    #: The input row's cells (a table), or None for a plain line, whose only field is the headline.
    cells: dict[str, object] | None = None

    @property
    def fields(self) -> dict[str, object]:
        """The input's fields, passed through to the output: a table row's cells, else the headline."""
        return {"headline": self.headline} if self.cells is None else self.cells

    @property
    def plain(self) -> bool:
        """Whether the record is a line of text (its one field is its headline)."""
        return self.cells is None


def iter_records(
    sources: Iterable[Path | str],
    *,
    text_col: str | None = None,
    split: bool = True,
    pattern: str | None = None,
    from_page: bool = False,
    report: InputReport | None = None,
) -> Iterator[Record]:
    """Yield the headlines of every source in order (``-`` is standard input).

    Parameters
    ----------
    sources
        Paths, or ``-`` for standard input.
    text_col
        Read the input as a table (CSV, TSV or JSON Lines) and take the headline from this column.
        Files whose extension names a table format (:data:`classify.io.formats.EXTENSIONS`) are read as
        tables even without it (the column is then found by its usual name).
    split
        Split lines holding several headlines (news tickers) into one record each.
    pattern
        Separator regular expression for ``split`` (default: :data:`classify.io.ticker.DEFAULT_SEPARATOR`).
    from_page
        The input is text scraped from a news page: keep only its headlines (reads each source whole).
    report
        Filled in while reading: lines whose undecodable bytes were replaced with U+FFFD, headlines cut
        to :data:`classify.io.reading.MAX_TEXT_CHARS` (a table's columns still pass through whole). A
        prediction run never stops on a bad byte; the caller tells the user from this report once the
        records are exhausted.

    Raises
    ------
    DataError
        A table row that cannot be read (see :func:`classify.io.reading.table_rows`), naming its line.
    """
    from classify.io import ticker

    if split or from_page:
        ticker.split_ticker("", pattern)  # fail on a bad --split before reading anything
    report = report if report is not None else InputReport()
    for source in sources:
        name = "<stdin>" if str(source) == "-" else str(source)
        if is_parquet(source):
            yield from parquet_records(Path(source), text_col)
            continue
        with open_binary(source) as stream:
            if not from_page and format_of(source) is None and text_col is None:  # lines of text
                blocks = text_blocks(stream, name, errors="replace", report=report)
                yield from _text_records(blocks, split, pattern, name, report)
                continue
            first, lines = peek(numbered_lines(stream, name, errors="replace", report=report))
            if from_page:
                page = "".join(text for _, text in lines)
                for headline in ticker.extract_from_page(page, pattern=pattern):
                    yield Record(headline)
            else:
                yield from _table_records(lines, _table_format(source, first), text_col, name, report)


def parquet_records(source: Path, text_col: str | None) -> Iterator[Record]:
    """The rows of a Parquet file as records (needs pyarrow, from the dask extra)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        from classify.errors import MissingExtraError

        raise MissingExtraError(f"{source}: reading Parquet needs pyarrow: {install_hint('dask')}") from None
    table = pq.read_table(source)
    column = find_column(table.column_names, text_col, TEXT_COLUMNS, "text", "text_col", str(source))
    for row in table.to_pylist():
        text = collapse(str(row.get(column) or ""))
        if text:
            yield Record(text, dict(row))


def _table_format(source: Path | str, first_line: str) -> str:
    """csv/tsv/jsonl: a table's format (its extension says which, or, with ``--text-col`` on stdin
    or a .txt, its first line does)."""
    fmt = table_format(source, first_line)
    if fmt is None:  # never: with is_table (the default) a format is always sniffed
        raise DataError(f"{source}: cannot tell the table's format")
    return fmt


#: Every white-space character (``str.isspace``) but the space and the line feed: a block of text
#: holding none of them, and no doubled, leading or trailing space, has lines already collapsed.
#: Written out (a test checks it against all of Unicode): finding them at import took 60 ms.
ODD_SPACE = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _text_records(
    blocks: Iterator[tuple[int, str]], split: bool, pattern: str | None, name: str, report: InputReport
) -> Iterator[Record]:
    """Records of plain lines of text, a block of lines at a time.

    Most blocks need nothing but cutting at line feeds: no line has white space to collapse, none is
    longer than :data:`MAX_TEXT_CHARS`, and none holds a ticker separator. That is checked on the
    whole block with a few substring searches (C-level scans), and such a block becomes records
    with one ``split``. Any other block goes line by line through the general path. Per-line work
    (a ``str.split`` and ``join`` to collapse, a numbered tuple) was a fifth of ``classify predict``'s
    time outside the model on 200k headlines.
    """
    from classify.io.ticker import SEPARATOR_MARKS

    marks = SEPARATOR_MARKS if split else ()
    for number, text in blocks:
        lines = _plain_lines(text, marks, pattern)
        if lines is not None:
            yield from map(Record, filter(None, lines))
        else:
            yield from _line_records(numbered(text, number), split, pattern, name, report)


def _plain_lines(text: str, marks: tuple[str, ...], pattern: str | None) -> list[str] | None:
    """The lines of a block if every one is a headline as it stands (blank ones included), else None.

    ``marks``: what a line needs to hold for the default ticker separator to split it (nothing when
    tickers are not split); with a pattern of the user's, every block goes line by line.
    """
    if "  " in text or " \n" in text or "\n " in text or text[:1] == " " or text[-1:] == " ":
        return None
    if any(c in text for c in ODD_SPACE) or any(m in text for m in marks):
        return None
    if marks and pattern is not None:
        return None
    lines = text.split("\n")
    if max(map(len, lines)) > MAX_TEXT_CHARS:
        return None
    return lines


def _line_records(
    lines: Iterator[tuple[int, str]], split: bool, pattern: str | None, name: str, report: InputReport
) -> Iterator[Record]:
    from classify.io import ticker

    if not split:
        yield from _plain_records(lines, name, report)
        return
    for number, line in lines:
        for part in ticker.split_ticker(line, pattern):
            if len(part) <= MAX_TEXT_CHARS:  # the common case, without a call per line
                text = collapse(part)
            else:
                text, cut = headline_text(part)
                if cut:
                    report.truncated(name, number)
            if text:
                yield Record(text)


#: Lines taken at a time by :func:`_plain_records`: the size of the first batch of
#: :func:`classify.prediction.predictor.predict_record_batches`, so piped input does not wait for more
#: lines than
#: that batch needs (unless some of them are blank).
_BLOCK_LINES = 1024


def _plain_records(lines: Iterator[tuple[int, str]], name: str, report: InputReport) -> Iterator[Record]:
    """One record per non-blank line, made a block of lines at a time.

    The same records as the loop in :func:`_line_records` with ``split`` off, but each step runs
    over a whole block in C-level loops (``zip``, ``map``, comprehensions), which halves the cost
    of reading on inputs of millions of short lines.
    """
    while block := list(islice(lines, _BLOCK_LINES)):
        texts = [text for _, text in block]
        if max(map(len, texts)) <= MAX_TEXT_CHARS:  # the common case: nothing to cut
            clean = [" ".join(t.split()) for t in texts]  # classify.text.collapse, inlined
        else:
            clean = []
            for number, text in block:
                value, cut = headline_text(text)
                if cut:
                    report.truncated(name, number)
                clean.append(value)
        yield from map(Record, filter(None, clean))


def _table_records(
    lines: Iterator[tuple[int, str]], fmt: str, text_col: str | None, name: str, report: InputReport
) -> Iterator[Record]:
    columns, rows = table_rows(lines, fmt, name)
    if not columns:
        return
    column = find_column(columns, text_col, TEXT_COLUMNS, "text", "text_col", name)
    for line, cells in rows:
        value = cells.get(column)
        if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS:  # the common case, made quick
            text = " ".join(value.split())  # classify.text.collapse, inlined
        else:
            text, cut = headline_text(cell_text(value))
            if cut:
                report.truncated(name, line)
        if text:
            yield Record(text, cells)
