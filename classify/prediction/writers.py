"""Writing prediction results: one writer class per output format, chosen in one place.

:func:`get_writer` maps a format name to its writer (as Whisper's ``get_writer`` does), and every
command that writes results goes through it: JSON Lines and CSV for programs, a rich table for people.
A new output format is a new :class:`Writer` subclass registered in :data:`WRITERS`. Nothing here
reads argv or exits; the caller decides where the text goes. Machine formats never contain terminal
colour codes, and CSV is quoted by the csv module.

One module past the usual few hundred lines because the formats share their escaping rules (the
CSV guard, control characters, unencodable text) and their batch machinery.

Writers take results a batch at a time (:meth:`Writer.write_batch`, from
:func:`classify.prediction.predictor.predict_record_batches`) and turn a whole batch into text at once: the
JSON and CSV text of a batch is built from preformatted pieces (topics encoded once, probabilities
printed from a table of the 10,001 possible values) and written with one ``write``. The bytes are the
same as one ``json.dumps`` / ``csv.DictWriter.writerow`` per row would give (``tests/test_golden.py``).
A fast JSON library (orjson) would not help: its output differs from ``json.dumps`` (no spaces after
separators), and the strings it would encode are already encoded by the C encoder ``json`` uses.

Hostile text:

- Table: every cell is a rich ``Text`` built from the data, never markup, so ``[/]``, ``[link=...]``
  and ``:warning:`` print literally; control characters (C0, DEL, C1: the start of every ANSI/OSC
  escape) are shown as visible symbols and CR/LF/TAB as spaces.
- CSV: a text cell starting with ``=``, ``+``, ``-``, ``@``, TAB or CR gets a leading ``'``, so that
  a spreadsheet does not run it as a formula (OWASP's rule). This covers the headline, pass-through
  values, ``why``, topic names and the header; numbers the writer produces (confidences) are not
  text and stay as they are. ``formula_guard=False`` turns it off. A field holding CR or LF is
  always quoted (the csv module does not quote a bare CR when the line ends with LF).
- Text the output stream cannot encode (a lone surrogate from a JSON ``"\\ud800"`` escape) is
  replaced with U+FFFD instead of aborting the run; :attr:`Writer.replaced` counts the rows it
  happened in and :attr:`Writer.first_replaced` is the first (row numbers count from 1).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

from classify.errors import DataError
from classify.io.reading import cell_text
from classify.prediction._jsonl import _DECIMALS, _jsonl_lines
from classify.prediction.results import RESULT_KEYS
from classify.prediction.table import _SURROGATES, _encodable, prediction_table

if TYPE_CHECKING:
    from classify.prediction.results import ResultBatch

#: A CSV text cell starting with one of these is read as a formula by spreadsheets (OWASP).
FORMULA_START = frozenset("=+-@\t\r")
#: Between the topics of a `labels` or `set` CSV cell (as in a multi-label training file).
LIST_SEP = "|"


def formula_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


class Writer:
    """Writes result rows to a text stream, a batch or a row at a time; :meth:`close` finishes.

    Parameters
    ----------
    out
        The text stream.
    formula_guard
        CSV only: neutralise cells that a spreadsheet would read as formulas (see the module docs).
    """

    def __init__(self, out: IO[str], *, formula_guard: bool = True) -> None:
        self.out = out
        self.formula_guard = formula_guard
        #: Rows written so far.
        self.rows = 0
        #: Rows whose text the stream could not encode, written with U+FFFD instead.
        self.replaced = 0
        #: The first of them (counting rows from 1), or None.
        self.first_replaced: int | None = None
        #: The stream's encoding (what "cannot be encoded" means).
        self.encoding: str = getattr(out, "encoding", None) or "utf-8"

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        """Write one result row (``headline``: the text classified, for formats that show it)."""
        raise NotImplementedError

    def write_batch(self, batch: ResultBatch) -> None:
        """Write the rows of a batch of results, in order."""
        for record, row in zip(batch.records, batch.rows(), strict=True):
            self.write(row, record.headline)

    def close(self) -> None:
        """Finish the output (a table is printed only once all its rows are known)."""

    def write_all(self, rows: Iterable[dict[str, Any]]) -> None:
        """Write every row, then close."""
        for row in rows:
            self.write(row)
        self.close()

    def _emit(self, text: str, n_rows: int, per_row: Callable[[], list[str]]) -> None:
        """Write ``text``, the output of ``n_rows`` rows; ``per_row()`` gives each row's text.

        Text the stream cannot encode is found row by row, replaced and counted, so that one bad
        string never aborts the run or loses the rows after it.
        """
        if not text.isascii():
            try:
                text.encode(self.encoding)
            except UnicodeEncodeError:
                text = "".join(self._encodable(per_row()))
        self.out.write(text)
        self.rows += n_rows

    def _encodable(self, rows: list[str]) -> list[str]:
        out = []
        for number, text in enumerate(rows, start=self.rows + 1):
            try:
                text.encode(self.encoding)
            except UnicodeEncodeError:
                text = replace_unencodable(text, self.encoding)
                self.replaced += 1
                if self.first_replaced is None:
                    self.first_replaced = number
            out.append(text)
        return out


#: Lone surrogates (only a ``\\ud800``-style JSON escape or a decoding error handler makes them).


def replace_unencodable(text: str, encoding: str = "utf-8") -> str:
    """``text`` with lone surrogates as U+FFFD and anything else ``encoding`` lacks as ``?``."""
    text = text.translate(_SURROGATES)
    return text.encode(encoding, errors="replace").decode(encoding)


class JsonlWriter(Writer):
    """One JSON object per line, UTF-8 kept as is (``json.dumps(row, ensure_ascii=False)``)."""

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        self._emit(line, 1, lambda: [line])

    def write_batch(self, batch: ResultBatch) -> None:
        lines = _jsonl_lines(batch)
        self._emit("".join(lines), len(lines), lambda: lines)


class CsvWriter(Writer):
    """CSV with a header taken from the first row; list fields are flattened.

    ``topics`` becomes ``topic_2, confidence_2, ...`` columns and ``why`` one ``;``-joined column.
    Later rows fill the first row's columns (a missing one is empty, an extra one is left out), as
    ``csv.DictWriter(extrasaction="ignore")`` does.
    """

    def __init__(self, out: IO[str], *, formula_guard: bool = True) -> None:
        super().__init__(out, formula_guard=formula_guard)
        self.fieldnames: list[str] | None = None

    def _header(self, names: list[str]) -> None:
        self.fieldnames = names
        self._write_cells([names], count=False)

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        flat = {k: v if isinstance(v, str) else cell_text(v) for k, v in _flatten(row).items()}
        if self.fieldnames is None:
            self._header(list(flat))
        assert self.fieldnames is not None
        self._write_cells([[flat.get(name, "") for name in self.fieldnames]])

    def write_batch(self, batch: ResultBatch) -> None:
        if not len(batch):
            return
        # The fast way needs the input's columns and the result's apart: a pass-through column
        # named like a result column (rare) goes row by row, through the row dicts.
        added = _result_columns(batch)
        reserved = RESULT_KEYS.union(added)
        plain = batch.plain
        fields = [] if plain else [r.fields for r in batch.records]
        if not all(reserved.isdisjoint(f) for f in fields):
            return super().write_batch(batch)
        if self.fieldnames is None:
            self._header([*(["headline"] if plain else fields[0]), *added])
        assert self.fieldnames is not None
        n_fields = len(self.fieldnames) - len(added)
        if n_fields < 0 or self.fieldnames[n_fields:] != added:
            return super().write_batch(batch)
        guard = _column_guard if self.formula_guard else list
        if plain and n_fields == 1 and self.fieldnames[0] == "headline" and batch.why is None:
            heads = guard(batch.predictions.headlines)
            text = _plain_csv_text(heads, _result_cells(batch, guard, cells=True))
            if text is not None:
                self._emit(text, len(batch), lambda: [line + "\n" for line in text[:-1].split("\n")])
                return
        columns: list[Sequence[Any]]
        if plain:  # lines of text: the headline column, and any other column the first batch had empty
            names = self.fieldnames[:n_fields]
            empty = [""] * len(batch)
            columns = [guard(batch.predictions.headlines) if n == "headline" else empty for n in names]
        else:
            columns = [
                guard(_texts([f.get(name, "") for f in fields])) for name in self.fieldnames[:n_fields]
            ]
        columns += _result_cells(batch, guard)
        self._write_cells(list(zip(*columns, strict=True)), guarded=True)

    def _write_cells(self, rows: list[Sequence[Any]], *, count: bool = True, guarded: bool = False) -> None:
        if self.formula_guard and not guarded:
            rows = [[formula_safe(v) for v in row] for row in rows]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        text = buffer.getvalue()
        if "\r" in text:  # a bare CR must be quoted too: the rows holding one are written by hand
            text = "".join(_csv_line(row) for row in rows)
        if count:
            self._emit(text, len(rows), lambda: [_csv_line(row) for row in rows])
        else:
            self.out.write(replace_unencodable(text, self.encoding))


def _texts(values: list[Any]) -> list[Any]:
    """A pass-through column as CSV text: a JSON Lines value as its JSON text (``true``, ``[1, "x"]``,
    ``null`` empty), never a Python repr (``True``, ``[1, 'x']``, ``None``)."""
    if all(type(v) is str for v in values):
        return values
    return [v if type(v) is str else cell_text(v) for v in values]


def _plain_csv_text(headlines: list[str], results: list[list[str]]) -> str | None:
    """The CSV lines of headlines and their result cells (already CSV text), or None if a headline
    holds a line break (then the csv module writes the batch).

    Written by hand rather than with ``csv.writer``: its ``writerows`` took 0.19 s of the 0.31 s
    spent writing 200k rows, and a collapsed headline needs only the one rule that applies to it
    (quoted, quotes doubled, when it holds a comma or a quote). The test suite checks the output
    against the csv module's on the same rows.
    """
    joined = "\n".join(headlines)
    if "\r" in joined or joined.count("\n") != len(headlines) - 1:
        return None
    heads = [('"' + h.replace('"', '""') + '"') if ('"' in h or "," in h) else h for h in headlines]
    return "\n".join(map(",".join, zip(heads, *results, strict=True))) + "\n"


def _csv_cell(value: str) -> str:
    """One text cell as :func:`_csv_line` writes it (quoted when it holds ``,"`` or a line break)."""
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def _csv_line(cells: Sequence[Any]) -> str:
    """One CSV line as ``csv.writer(lineterminator="\\n")`` writes it, but quoting a bare CR too."""
    if not any(isinstance(c, str) and "\r" in c for c in cells):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(cells)
        return buffer.getvalue()
    texts = ["" if cell is None else str(cell) for cell in cells]
    if texts == [""]:  # a lone empty cell is quoted, or the line would read as blank
        return '""\n'
    return ",".join(map(_csv_cell, texts)) + "\n"


def _result_columns(batch: ResultBatch) -> list[str]:
    """The CSV columns after the input's own: the result fields, ``topics`` spread over columns."""
    names: list[str] = []
    for name in batch.field_names():
        if name == "topics":
            k = min(batch.options.top_k, len(batch.predictions.topics))
            for i in range(2, k + 1):
                names += [f"topic_{i}", f"confidence_{i}"]
        else:
            names.append(name)
    return names


def _column_guard(values: list[Any]) -> list[Any]:
    """:func:`formula_safe` of each value of a column, in one comprehension (no call per cell)."""
    return [
        "'" + v if isinstance(v, str) and v[:1] in FORMULA_START else v  # formula_safe, inlined
        for v in values
    ]


def _result_cells(
    batch: ResultBatch, guard: Callable[[list[Any]], list[Any]] = list, *, cells: bool = False
) -> list[list[Any]]:
    """The result columns of a batch; ``guard`` is applied to the topic names once, not per cell.

    Probabilities are given as the text the csv module printed for ``round(p, 4)`` (its ``repr``:
    ``_DECIMALS[q]`` is ``repr(q / 10**4)``, the very float ``round`` gives, see
    :func:`~classify.prediction.results.round_half_even`), never formula-guarded. ``cells``: topic names
    as CSV cells (quoted if need be), for lines written by hand.
    """
    options, preds = batch.options, batch.predictions
    topics = tuple(guard(list(preds.topics)))
    (label,) = guard([options.uncertain_label])
    if cells:
        topics = tuple(map(_csv_cell, topics))
        label = _csv_cell(label)
    rounded = batch.rounded
    best = preds.ranked[:, 0].tolist()
    if options.min_confidence is None:
        shown = [topics[j] for j in best]
    else:
        shown = [label if u else topics[j] for j, u in zip(best, batch.unsure.tolist(), strict=True)]
    columns: list[list[Any]] = [shown, [_DECIMALS[q] for q in rounded[:, 0].tolist()]]
    if options.min_confidence is not None:
        columns.append([topics[j] for j in best])
    if options.top_k > 1:
        for i in range(1, rounded.shape[1]):
            columns.append([topics[j] for j in preds.ranked[:, i].tolist()])
            columns.append([_DECIMALS[q] for q in rounded[:, i].tolist()])
    for kind in ("labels", "sets"):
        lists = preds.member_lists(kind)
        if lists is not None and (kind == "labels" or options.coverage is not None):
            index = {t: j for j, t in enumerate(preds.topics)}
            joined = [LIST_SEP.join(topics[index[t]] for t in ts) for ts in lists[0]]
            if cells:
                joined = [_csv_cell(j) for j in joined]
            columns.append([joined[i] for i in lists[1]])
    if batch.why is not None:
        columns.append(guard(["; ".join(w) for w in batch.why]))
    return columns


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k not in ("topics", "why", "labels", "set")}
    for i, (topic, prob) in enumerate(row.get("topics", [])[1:], start=2):
        flat[f"topic_{i}"] = topic
        flat[f"confidence_{i}"] = prob
    for key in ("labels", "set"):
        if key in row:
            flat[key] = LIST_SEP.join(row[key])
    if "why" in row:
        flat["why"] = "; ".join(row["why"])
    return flat


class TableWriter(Writer):
    """A rich table for people: #, headline, topic, confidence, and the optional columns.

    Each batch is printed as its own table as soon as it is classified (rows numbered across
    tables), so a ticker piped into a terminal shows its results as they come and memory holds one
    batch, not the whole input.
    """

    def __init__(self, out: IO[str], *, formula_guard: bool = True) -> None:
        super().__init__(out, formula_guard=formula_guard)
        self._rows: list[tuple[str, dict[str, Any]]] = []
        self._printed = 0

    def write(self, row: dict[str, Any], headline: str | None = None) -> None:
        self._rows.append((headline if headline is not None else str(row.get("headline", "")), row))
        self.rows += 1

    def write_batch(self, batch: ResultBatch) -> None:
        super().write_batch(batch)
        self._print()

    def close(self) -> None:
        self._print()

    def _print(self) -> None:
        """Print the rows held since the last table, as one table."""
        if not self._rows:
            return
        from rich.console import Console

        for number, (headline, row) in enumerate(self._rows, start=self._printed + 1):
            cells = [headline]
            for value in row.values():
                cells += [str(v) for v in value] if isinstance(value, list) else [str(value)]
            if any(not _encodable(c, self.encoding) for c in cells):
                self.replaced += 1
                self.first_replaced = self.first_replaced or number

        class PipeConsole(Console):
            def on_broken_pipe(self) -> None:
                # rich exits 1 here; a reader that went away (``| head -1``) is no error: let the
                # caller stop quietly, as it does for the other formats.
                self.quiet = True
                raise BrokenPipeError

        PipeConsole(file=self.out).print(prediction_table(self._rows, start=self._printed + 1))
        self._printed += len(self._rows)
        self._rows = []


#: Output formats and their writers.
WRITERS: dict[str, type[Writer]] = {"jsonl": JsonlWriter, "csv": CsvWriter, "table": TableWriter}


def get_writer(fmt: str, out: IO[str], *, formula_guard: bool = True) -> Writer:
    """The writer of format ``fmt`` (a key of :data:`WRITERS`) on ``out``.

    ``formula_guard=False`` writes CSV text cells as they are (see the module docs); other formats
    ignore it.
    """
    try:
        writer = WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r} (choose from {', '.join(WRITERS)})") from None
    if out is None:  # sys.stdout of a process started with its standard output closed (>&-)
        raise DataError("standard output is closed: nowhere to write the results; redirect it to a file")
    return writer(out, formula_guard=formula_guard)
