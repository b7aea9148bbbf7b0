"""The answers file of a labelling session: one row per answer, appended and flushed, resumed, never torn.

The file (``-o``) is a CSV with the columns :data:`COLUMNS`:

``headline,topic,status,suggested,seconds,answered_at``

- ``status`` is ``labelled`` (``topic`` holds the editor's topic) or ``skipped`` (``topic`` empty);
- ``suggested`` is the topic the model proposed when the headline was shown (empty in a cold start);
- ``seconds`` is how long the editor looked at the headline, ``answered_at`` the UTC time.

Each answer is appended and flushed before it is acknowledged, so a closed browser, Ctrl-C, a crash
or ``kill -9`` loses at most the answer in flight (only a power cut before the operating system writes
its page cache could lose more); a torn last line was never acknowledged and is dropped on the next
start. The whole file is checked before anything in it is changed: a file that is not an answers
file is refused untouched, and a last row that is whole but lacks its line feed (an editor's doing)
is kept and given one; only a last line that does not parse as a row is torn. Undo rewrites the file
atomically without its last row, so the file always holds exactly the answers that stand, and
``classify train labels.csv`` reads it as it is (skips have an empty topic, left out like any row with
an empty label).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from classify.errors import DataError

COLUMNS = ("headline", "topic", "status", "suggested", "seconds", "answered_at")
LABELLED, SKIPPED = "labelled", "skipped"


@dataclass
class AnswersFile:
    """The answers file: its rows in memory, new ones appended and flushed one by one."""

    path: Path
    rows: list[dict[str, str]] = field(default_factory=list)
    _fh: io.TextIOWrapper | None = None

    @classmethod
    def open(cls, path: Path) -> AnswersFile:
        """Resume ``path`` (dropping a torn last line) or start it with the header."""
        path = Path(path)
        log = cls(path)
        if path.exists() and path.stat().st_size > 0:
            log.rows = resume_answers(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(COLUMNS)
        log._reopen()
        return log

    def _reopen(self) -> None:
        if self._fh is not None:
            self._fh.close()
        try:
            self._fh = self.path.open("a", newline="", encoding="utf-8")  # type: ignore[assignment]
        except OSError as exc:
            raise DataError(f"{self.path}: cannot write answers ({exc.strerror})") from None

    def append(self, row: dict[str, str]) -> None:
        """Write one answer row and flush it before returning."""
        assert self._fh is not None
        buffer = io.StringIO()
        csv.writer(buffer).writerow([row[c] for c in COLUMNS])
        # One write of the whole line, then flush: a crash leaves whole rows (or one partial last
        # line, which the next start drops: it was never acknowledged).
        self._fh.write(buffer.getvalue())
        self._fh.flush()
        self.rows.append(row)

    def remove_last(self) -> dict[str, str] | None:
        """Rewrite the file atomically without its last row; that row, or ``None`` if there was none."""
        from classify.atomic import atomic_path

        if not self.rows:
            return None
        kept = self.rows[:-1]
        with atomic_path(self.path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows([r[c] for c in COLUMNS] for r in kept)
        removed = self.rows[-1]
        self.rows = kept
        self._reopen()  # the old handle points at the replaced file
        return removed

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def resume_answers(path: Path) -> list[dict[str, str]]:
    """The rows of an existing answers file, after checking all of it; then, and only then, its end
    is repaired: a whole last row without a line feed gets one, a torn last line is cut.

    Raises
    ------
    DataError
        If ``path`` is not an answers file (nothing in it is changed).
    """
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    head, tail = _text(path, data[:cut]), _text(path, data[cut:])
    if not head:  # no line feed at all: only a header, whole or torn as it was first written
        header = ",".join(COLUMNS)
        if not header.startswith(tail.removeprefix("\ufeff")):
            raise _not_answers(path, tail.split(",") if len(tail) < 200 else ["?"])
        path.write_text(header + "\n", encoding="utf-8")
        return []
    rows = read_answers(path, head)
    if tail:
        last = _whole_row(tail)
        with path.open("rb+") as fh:
            if last is not None:  # checked: a row as this module writes it, only its line feed missing
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n")
                rows.append(last)
            else:  # a write cut short: it was never acknowledged
                fh.truncate(cut)
    return rows


def _text(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: not a 'classify label' answers file (not UTF-8 text); give a new -o file"
        ) from None


def _not_answers(path: Path, header: list[str]) -> DataError:
    return DataError(
        f"{path}: not a 'classify label' answers file (columns: {', '.join(header) or 'none'}; "
        f"expected: {', '.join(COLUMNS)}); give a new -o file"
    )


def _whole_row(line: str) -> dict[str, str] | None:
    """The answer in ``line`` if it is a whole row (every column, a known status, a full time), else None."""
    import datetime as _dt

    try:
        cells = next(csv.reader([line], strict=True))
    except (csv.Error, StopIteration):
        return None
    if len(cells) != len(COLUMNS):
        return None
    row = dict(zip(COLUMNS, cells, strict=True))
    try:
        float(row["seconds"])
        stamp = _dt.datetime.fromisoformat(row["answered_at"])
    except ValueError:
        return None
    # A time cut inside its seconds or zone would still parse: a whole one has both.
    whole_time = len(row["answered_at"]) >= 19 and stamp.tzinfo is not None
    if row["status"] not in (LABELLED, SKIPPED) or not row["headline"] or not whole_time:
        return None
    return row


def read_answers(path: Path, text: str | None = None) -> list[dict[str, str]]:
    """The rows of an answers file (``text``: its content, if already read), every one checked."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = tuple(reader.fieldnames or ())
    if header != COLUMNS:
        raise _not_answers(path, list(header))
    rows = []
    for row in reader:
        if row.get("status") not in (LABELLED, SKIPPED) or not row.get("headline"):
            raise DataError(f"{path}: line {reader.line_num}: not an answer row; fix or remove it")
        rows.append({c: row.get(c) or "" for c in COLUMNS})
    return rows
