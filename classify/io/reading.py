"""Reading input bytes: numbered lines, then table rows; one reader for training and prediction.

Training (:mod:`classify.io.labelled`) and prediction (:mod:`classify.io.records`) read files through these
functions, so that one file can never be read two ways (a row cut short by an unquoted comma in one
and refused in the other, a line break inside a quoted cell kept by one and glued by the other). The
rules are documented in the README's "Bad input" section:

- Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (Python's universal newlines), and every line
  keeps its ending, as the csv module needs to keep line breaks inside quoted cells. Line numbers in
  messages count ``\\n`` bytes, as ``wc -l``, ``sed -n Np`` and editors do; they are counted on the
  bytes, before decoding, so a bad byte never shifts them.
- Text is UTF-8 (a byte order mark is allowed). An undecodable line is an error naming it
  (``errors="strict"``: training, where a silently altered label would be learnt), or it is decoded
  with U+FFFD in place of the bad bytes and counted in an :class:`InputReport`
  (``errors="replace"``: prediction, where one bad byte must not abort a long stream).
- CSV and TSV follow RFC 4180: a quoted cell may hold the delimiter, quotes and line breaks, which
  stay in the cell as written (pass-through columns come out byte for byte; the headline collapses
  them to a space). A row with more non-empty cells than the header is an error naming its line; a
  row with fewer cells has empty ones; a column name given twice is an error.
- JSON Lines: one object per line, blank lines skipped. A text or label value that is not a string
  is read as its JSON text (``3`` -> ``"3"``, ``true`` -> ``"true"``), and ``null`` as empty.
- A headline longer than :data:`MAX_TEXT_CHARS` characters is cut to that length, and counted.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Literal, NamedTuple

from classify.errors import DataError
from classify.text import collapse

#: The longest headline classify reads, in characters (after collapsing white space). Headlines run
#: to ~70-200 characters; a longer cell is most likely a whole article or a broken file, and one 50 MB
#: cell would otherwise cost gigabytes of n-gram counting and grow the model's vocabulary (measured by
#: bench/hostile.py: 1.8 GB for a cell of words, over 12 GB for one of random letters).
MAX_TEXT_CHARS = 1000

#: The largest CSV cell read at all (the csv module's own default is 128 KiB, which would refuse a
#: long cell outright instead of reading it and cutting its headline to :data:`MAX_TEXT_CHARS`).
MAX_CELL_CHARS = 2**31 - 1

Errors = Literal["strict", "replace"]

_BOM = b"\xef\xbb\xbf"
#: Bytes read at a time (a line longer than this is put together from several reads).
_BLOCK = 1 << 16
_WORD = re.compile(r"\S+")


@dataclass
class SourceIssues:
    """What was changed in one source while reading it (line numbers count ``\\n``, from 1)."""

    replaced_lines: int = 0
    first_replaced: int | None = None
    truncated: int = 0
    first_truncated: int | None = None


@dataclass
class InputReport:
    """A tally of what the readers changed in the input, to tell the user once reading has ended.

    Mutable on purpose: the readers are generators, so the counts are only final once they are
    exhausted; the caller passes an empty report in and reads :meth:`warnings` at the end.
    """

    sources: dict[str, SourceIssues] = field(default_factory=dict)

    def _of(self, name: str) -> SourceIssues:
        return self.sources.setdefault(name, SourceIssues())

    def replaced(self, name: str, line: int) -> None:
        """Count a line whose undecodable bytes became U+FFFD."""
        issues = self._of(name)
        issues.replaced_lines += 1
        if issues.first_replaced is None:
            issues.first_replaced = line

    def truncated(self, name: str, line: int) -> None:
        """Count a headline cut to :data:`MAX_TEXT_CHARS`."""
        issues = self._of(name)
        issues.truncated += 1
        if issues.first_truncated is None:
            issues.first_truncated = line

    @property
    def replaced_lines(self) -> int:
        """Lines with undecodable bytes, over every source."""
        return sum(s.replaced_lines for s in self.sources.values())

    @property
    def truncated_rows(self) -> int:
        """Headlines cut to :data:`MAX_TEXT_CHARS`, over every source."""
        return sum(s.truncated for s in self.sources.values())

    def warnings(self) -> list[str]:
        """One line per source and kind of change, for the front end to show."""
        notes = []
        for name, s in self.sources.items():
            if s.replaced_lines:
                notes.append(
                    f"{name}: {s.replaced_lines} line(s) not valid UTF-8 (first: line {s.first_replaced}); "
                    "the bad bytes were replaced with U+FFFD"
                )
            if s.truncated:
                notes.append(truncation_note(name, s.truncated, s.first_truncated, "classified on"))
        return notes


def truncation_note(name: str, count: int, first: int | None, verb: str = "kept") -> str:
    """The warning about headlines cut to :data:`MAX_TEXT_CHARS` (training and prediction alike)."""
    return (
        f"{name}: {count} headline(s) longer than {MAX_TEXT_CHARS} characters (first: line {first}); "
        f"{verb} their first {MAX_TEXT_CHARS}"
    )


def numbered_lines(
    stream: IO[bytes],
    name: str,
    *,
    errors: Errors = "strict",
    report: InputReport | None = None,
    block_size: int = _BLOCK,
) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line with its ending)`` of a byte stream, decoded as UTF-8.

    Parameters
    ----------
    stream
        A binary stream (a file opened ``"rb"``, or ``sys.stdin.buffer``); read lazily, a block at a
        time, and a line is yielded as soon as its end has arrived (pipes stream).
    name
        The source's name, for messages.
    errors
        ``"strict"``: an undecodable line raises :class:`DataError` naming it. ``"replace"``: its bad
        bytes become U+FFFD and the line is counted in ``report``.
    block_size
        Bytes asked of the stream at a time.

    Notes
    -----
    The bytes are cut into blocks of whole lines before decoding: ``\n`` and ``\r`` never occur
    inside a UTF-8 multi-byte sequence, so a cut never splits a character, and the line number of a
    bad byte is exact. A block that decodes (nearly always) is split into lines in C; only a block
    with a bad byte is decoded line by line.
    """
    for number, text in text_blocks(stream, name, errors=errors, report=report, block_size=block_size):
        yield from numbered(text, number)


def text_blocks(
    stream: IO[bytes],
    name: str,
    *,
    errors: Errors = "strict",
    report: InputReport | None = None,
    block_size: int = _BLOCK,
) -> Iterator[tuple[int, str]]:
    """Yield ``(number of its first line, text)`` for each block of whole lines of a byte stream.

    The same reading as :func:`numbered_lines` (same decoding, errors and line numbers: the number of
    a block's first line is 1 plus the ``\n`` bytes before it), a block at a time, for a reader that
    can handle a whole block of plain lines in a few C-level calls (:mod:`classify.io.records`) and only
    numbers the lines (:func:`numbered`) of a block that needs it.
    """
    read = getattr(stream, "read1", stream.read)
    number = 1
    held: list[bytes] = []  # the start of a line whose end has not arrived yet
    first = True
    while True:
        chunk = read(block_size)
        if chunk:
            cut = chunk.rfind(b"\n") + 1
            if not cut:
                held.append(chunk)
                continue
            block = b"".join([*held, chunk[:cut]]) if held else chunk[:cut]
            held = [chunk[cut:]] if cut < len(chunk) else []
        else:
            block = b"".join(held)
            if not block:
                return
        if first:
            first = False
            block = block.removeprefix(_BOM)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            text = "".join(line for _, line in _lines_one_by_one(block, number, name, errors, report))
        yield number, text
        number += block.count(b"\n")
        if not chunk:
            return


def numbered(text: str, number: int) -> Iterator[tuple[int, str]]:
    """The lines of a block of whole lines (endings kept), numbered from ``number`` by ``\n``."""
    lines = io.StringIO(text, newline="")  # universal newlines, endings kept
    crs = text.count("\r")
    if not crs or crs == text.count("\r\n"):  # every line ends in \n: number them in C
        yield from enumerate(lines, number)
        return
    for line in lines:  # lone CRs end lines that do not count
        yield number, line
        if line.endswith("\n"):
            number += 1


def _lines_one_by_one(
    block: bytes, number: int, name: str, errors: Errors, report: InputReport | None
) -> Generator[tuple[int, str], None, int]:
    for raw in block.splitlines(keepends=True):  # bytes split at \n, \r\n and \r only
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if errors == "strict":
                raise DataError(
                    f"{name}: line {number} is not valid UTF-8 (byte 0x{raw[exc.start]:02x}); "
                    "re-save the file as UTF-8"
                ) from None
            text = raw.decode("utf-8", errors="replace")
            if report is not None:
                report.replaced(name, number)
        yield number, text
        if raw.endswith(b"\n"):
            number += 1
    return number


def peek(lines: Iterator[tuple[int, str]]) -> tuple[str, Iterator[tuple[int, str]]]:
    """The first non-blank line's text (``""`` when there is none), and all the lines, put back.

    For sniffing a file's format before reading it, on pipes as well as files.
    """
    seen: list[tuple[int, str]] = []
    for line in lines:
        seen.append(line)
        if line[1].strip():
            return line[1], _chain(seen, lines)
    return "", iter(seen)


def _chain(first: list[tuple[int, str]], rest: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    yield from first
    yield from rest


def headline_text(text: str) -> tuple[str, bool]:
    """A cell as a headline: white space collapsed, cut to :data:`MAX_TEXT_CHARS`; and whether it was cut.

    A long cell is collapsed word by word up to the limit, so that a 50 MB cell never becomes a list of
    millions of words in memory.
    """
    if len(text) <= MAX_TEXT_CHARS:
        return collapse(text), False
    words: list[str] = []
    size = -1
    for match in _WORD.finditer(text):
        words.append(match.group())
        size += len(words[-1]) + 1
        if size > MAX_TEXT_CHARS:
            return " ".join(words)[:MAX_TEXT_CHARS], True
    return " ".join(words), False


def cell_text(value: object) -> str:
    """A JSON value as the text of a cell: strings as they are, ``null`` empty, others as JSON text.

    So that labels keep their written form: ``3`` is ``"3"`` (pandas made a column of integers with
    one null into floats, and the topics into ``"3.0"``).
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)


class Row(NamedTuple):
    """One table row: the line it starts on, and its cells by column name (in the file's order).

    A named tuple rather than a dataclass: one is made per row of files of millions of rows.
    """

    line: int
    cells: dict[str, object]


def table_rows(
    lines: Iterator[tuple[int, str]], fmt: str, name: str, *, strict: bool = False
) -> tuple[list[str], Iterator[Row]]:
    """The columns of a CSV, TSV or JSON Lines table, and its rows, read lazily.

    For JSON Lines the columns are those of the first object (later objects may have others; their
    cells are kept). Cells of CSV and TSV are strings exactly as written; JSON values keep their type.

    ``strict`` (training data): a JSON string holding an escaped lone surrogate is an error naming
    its line, as a byte that is not UTF-8 is; else (prediction) it is kept, and the writers show it
    as U+FFFD and count it.

    Raises
    ------
    DataError
        A row that cannot be parsed, has more non-empty cells than the header, or a header naming a
        column twice; each names its line.
    """
    if fmt == "jsonl":
        rows = _json_rows(lines, name, strict)
        first = next(rows, None)
        if first is None:
            return [], iter(())
        return list(first.cells), _chain_rows(first, rows)
    return _csv_table(lines, fmt, name)


def _chain_rows(first: Row, rest: Iterator[Row]) -> Iterator[Row]:
    yield first
    yield from rest


def _json_rows(lines: Iterable[tuple[int, str]], name: str, strict: bool = False) -> Iterator[Row]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            row = load_json(line, strict=strict)
        except json.JSONDecodeError as exc:
            raise DataError(f"{name}: line {number} is not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise DataError(f"{name}: line {number} is nested too deeply to read as JSON") from None
        except UnicodeError:
            raise DataError(
                f"{name}: line {number} holds an escaped lone surrogate (such as \\ud800), which is "
                "not text; remove it or escape a whole surrogate pair"
            ) from None
        if not isinstance(row, dict):
            raise DataError(f"{name}: line {number} is not a JSON object")
        yield Row(number, row)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _number(text: str) -> float | str:
    """A JSON number as a float, or as the text written when no float holds it (``1e400``): no
    infinity ever reaches an output, where JSON has no way to write one."""
    value = float(text)
    return value if value - value == 0 else text


def load_json(line: str, *, strict: bool = True) -> object:
    """One JSON value, with numbers too large for a float (and ``NaN``/``Infinity``, which JSON does
    not have) kept as the text written.

    Raises
    ------
    json.JSONDecodeError
        Not JSON.
    UnicodeError
        ``strict``, and a string holds an escaped lone surrogate (``"\\ud800"``): text no file can
        be written in.
    """
    value = json.loads(line, parse_float=_number, parse_constant=str)
    if strict and _SURROGATE_ESCAPE.search(line):  # only an escape can make a surrogate
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    return value


class _LineCounter:
    """Feeds lines to the csv module while noting the line the current record starts on."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self._lines = lines
        self.start = 0  # 0: the next line read starts a record

    def __iter__(self) -> Iterator[str]:
        for number, text in self._lines:
            if not self.start:
                self.start = number
            yield text


def _csv_table(lines: Iterator[tuple[int, str]], fmt: str, name: str) -> tuple[list[str], Iterator[Row]]:
    # The csv module refuses cells over 128 KiB; raise the process-wide limit (only ever upwards) so
    # that a long cell is read and its headline cut, the same in training and prediction.
    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)
    counter = _LineCounter(lines)
    records = _records(csv.reader(iter(counter), delimiter="\t" if fmt == "tsv" else ","), counter, fmt, name)
    head = next(records, None)
    if head is None:
        return [], iter(())
    header = [cell.strip() for cell in head[1]]
    seen: set[str] = set()
    for column in header:
        if column in seen:
            raise DataError(f"{name}: line {head[0]}: the header names column '{column}' twice")
        seen.add(column)
    return header, _rows(records, header, "a tab" if fmt == "tsv" else "a comma", name)


def _records(
    reader: Iterator[list[str]], counter: _LineCounter, fmt: str, name: str
) -> Iterator[tuple[int, list[str]]]:
    """The csv module's records that hold anything, each with the line it starts on."""
    try:
        for cells in reader:
            start, counter.start = counter.start, 0
            if cells:  # csv gives [] for a blank line
                yield start, cells
    except csv.Error as exc:
        raise DataError(f"{name}: line {counter.start}: cannot parse as {fmt.upper()} ({exc})") from None


def _rows(records: Iterator[tuple[int, list[str]]], header: list[str], what: str, name: str) -> Iterator[Row]:
    width = len(header)
    for line, cells in records:
        if len(cells) != width:
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            elif any(cell.strip() for cell in cells[width:]):
                raise DataError(
                    f"{name}: line {line} has {len(cells)} cells but the header has {width}; "
                    f'quote a cell that holds {what} ("...")'
                )
            else:
                cells = cells[:width]
        yield Row(line, dict(zip(header, cells)))  # noqa: B905 - the lengths are equal by now
