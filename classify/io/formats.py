"""Input formats: which files are tables, how their format is told, how they are opened.

One module for training and prediction alike, so that ``classify train feed.jsonl`` and ``classify
predict feed.jsonl`` can never read the same file two ways. A new input format goes here: its
extensions in :data:`EXTENSIONS`, its sniffing rule in :func:`sniff`, its reader in
:mod:`classify.io.labelled` (whole labelled tables) and :mod:`classify.io.records` (streamed records).
"""

from __future__ import annotations

import contextlib
import gzip
import sys
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

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
    """The table format of a file by its extension (``.gz`` looked through), or ``None`` (plain text,
    stdin, unknown)."""
    suffixes = [s.lower() for s in Path(str(path)).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return EXTENSIONS.get(suffixes[-1]) if suffixes else None


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


@contextlib.contextmanager
def open_binary(source: Path | str) -> Iterator[IO[bytes]]:
    """Open a file (or ``-``, standard input, left open afterwards) for reading bytes.

    A gzip file is read through (as streaming training reads it); a file that is not text at all
    (a model file, a spreadsheet, a PDF, an image, an archive, UTF-16) is refused at once with a line
    saying what it is (:func:`refuse_binary`), never read as headlines. The readers decode line by
    line themselves (:mod:`classify.io.reading`), so that a bad byte is reported on its own line.

    Raises
    ------
    DataError
        Missing, unreadable or not text.
    """
    name = _name(source)
    if str(source) == "-":
        raw: Any = sys.stdin.buffer
    else:
        check_file(Path(source))
        try:
            raw = Path(source).open("rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise DataError(f"{source}: cannot read ({exc.strerror})") from None
    try:
        head = _head(raw, name)
        if head.startswith(GZIP_MAGIC):
            stream: Any = _Gunzip(name, fileobj=raw, mode="rb")
            refuse_binary(name, _head(stream, name), path=None, inside="a gzip file of ")
        else:
            stream = raw
            refuse_binary(name, head, path=None if str(source) == "-" else Path(source))
        yield stream
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


#: The first bytes of a gzip stream.
GZIP_MAGIC = b"\x1f\x8b"
_HEAD = 1024


def _head(stream: Any, name: str) -> bytes:
    """The first bytes of a stream, leaving them to be read (``peek``, or read and seek back)."""
    try:
        if hasattr(stream, "peek"):  # files, pipes and gzip streams: nothing to rewind
            return bytes(stream.peek(_HEAD)[:_HEAD])
        head: bytes = stream.read(_HEAD)
        stream.seek(0)
        return head
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"{name}: cannot read ({exc}); the file is damaged or not what its name says"
        ) from None


class _Gunzip(gzip.GzipFile):
    """A gzip stream whose damage is a :class:`DataError` naming the file, wherever it is found."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source = name

    def read(self, size: int | None = -1) -> bytes:
        try:
            return super().read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{self._source}: cannot read ({exc}); the gzip file is damaged or cut short"
            ) from None

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(
                f"{self._source}: cannot read ({exc}); the gzip file is damaged or cut short"
            ) from None


#: First bytes of files that are not text, what each is, and what to do instead.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "a PDF document", "copy its headlines into a text or CSV file"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "give a text or CSV file of headlines"),
    (b"\xff\xd8\xff", "a JPEG image", "give a text or CSV file of headlines"),
    (b"GIF87a", "a GIF image", "give a text or CSV file of headlines"),
    (b"GIF89a", "a GIF image", "give a text or CSV file of headlines"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (such as .xls)", "export it as CSV"),
    (b"PAR1", "a Parquet file", "name it .parquet"),
    (b"BZh", "a bzip2 file", "decompress it, or compress it with gzip"),
    (b"\xfd7zXZ\x00", "an xz file", "decompress it, or compress it with gzip"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it first"),
    (b"\x7fELF", "a program", "give a text or CSV file of headlines"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table as CSV"),
    (b"\x80\x04\x95", "a pickle (such as a classify 0.1 model file)", "did you mean {model} {name}?"),
    (b"\x80\x02", "a pickle (such as a classify 0.1 model file)", "did you mean {model} {name}?"),
    (b"\x80\x03", "a pickle (such as a classify 0.1 model file)", "did you mean {model} {name}?"),
    (b"\x80\x05", "a pickle (such as a classify 0.1 model file)", "did you mean {model} {name}?"),
)
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
_UTF16 = {b"\xff\xfe": "UTF-16LE", b"\xfe\xff": "UTF-16BE"}


def refuse_binary(name: str, head: bytes, *, path: Path | None, inside: str = "") -> None:
    """Refuse a file whose first bytes say it is not text, in one line saying what it is and what to
    do (a model file: "did you mean --model ...?"; a spreadsheet: export it as CSV).

    Raises
    ------
    DataError
        Naming the file and what it is.
    """
    what, fix = _binary_kind(name, head, path)
    if what is None:
        return
    arguments = ("model",) if "{model}" in fix else ()
    not_text = "" if what.endswith("text") else ", not text"
    message = f"{name}: is {inside}{what}{not_text}; {fix.replace('{name}', name)}"
    raise DataError(message, arguments=arguments)


def _binary_kind(name: str, head: bytes, path: Path | None) -> tuple[str | None, str]:
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _zip_kind(name, head, path)
    for magic, what, fix in _SIGNATURES:
        if head.startswith(magic):
            return what, fix
    if head[257:262] == b"ustar":
        return "a tar archive", "extract it first"
    if head[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return (
            "UTF-32 text",
            _convert("UTF-32", name),
        )
    encoding = _UTF16.get(head[:2]) or _utf16_without_bom(head)
    if encoding:
        return (
            f"{encoding.replace('LE', '').replace('BE', '')} text",
            _convert(encoding, name),
        )
    return None, ""


def _convert(encoding: str, name: str) -> str:
    target = Path(name).with_name(f"{Path(name).stem}-utf8{Path(name).suffix}")
    return f"classify reads UTF-8: convert it with iconv -f {encoding} -t UTF-8 {name} > {target}"


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 told by its zero bytes: ASCII text in UTF-16 has a zero byte at every other place."""
    sample = head[: len(head) - len(head) % 2][:256]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) == len(odd) and even.count(0) == 0:
        return "UTF-16LE"
    if even.count(0) == len(even) and odd.count(0) == 0:
        return "UTF-16BE"
    return None


def _zip_kind(name: str, head: bytes, path: Path | None) -> tuple[str, str]:
    """What a zip archive is: a classify model file, a spreadsheet, a document, or just a zip."""
    names: list[str] = []
    if path is not None:
        import zipfile

        with (
            contextlib.suppress(zipfile.BadZipFile, OSError, ValueError, EOFError),
            zipfile.ZipFile(path) as zf,
        ):
            names = zf.namelist()[:1000]
    if not names and head.startswith(b"PK\x03\x04") and len(head) >= 30:
        length = int.from_bytes(head[26:28], "little")
        names = [head[30 : 30 + length].decode("utf-8", "replace")]
    suffix = Path(name).suffix.lower()
    if "manifest.json" in names:
        return "a classify model file", "did you mean {model} {name}?"
    if suffix in _SPREADSHEETS or any(n.startswith("xl/") for n in names) or b"spreadsheet" in head[:200]:
        return "a spreadsheet", "export it as CSV"
    if any(n.startswith(("word/", "ppt/")) for n in names) or b"opendocument" in head[:200]:
        return "an office document", "copy its headlines into a text or CSV file"
    return "a zip archive", "extract it first (classify reads .gz files as they are)"


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
