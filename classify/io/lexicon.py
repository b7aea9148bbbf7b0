"""The topic lexicon: facts the project wrote (names and terms with their topic), as training rows.

A headline corpus teaches a name only if some row happens to use it, and real headlines lean on
names ("Arsenal", "Tory", "PlayStation", "Ryanair") far more than a written corpus can cover. The
lexicon (``data/lexicon.csv``, columns ``term,topic,kind``) lists such terms one per line: clubs,
competitions, athletes, parties, offices, companies with their sector, drugs and diseases, games and
studios, tech products. Each line becomes extra training rows for the default model, the term alone
and repeated ``weight`` times, so that a linear model learns the term's words and character n-grams
for its topic without any change to the pipeline: one line teaches what would take dozens of
headlines, while the rows stay facts rather than sentences.

Lexicon rows only ever train; they are never scored (cross-validation adds them to every training
fold, see ``bench/default_model.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classify.errors import DataError

#: Columns of ``lexicon.csv``, in order.
LEXICON_COLUMNS = ("term", "topic", "kind")


@dataclass(frozen=True)
class Entry:
    """One lexicon line: a term, the topic it signals, and what kind of thing it is."""

    term: str
    topic: str
    kind: str


def read_lexicon(path: Path, topics: set[str] | None = None) -> list[Entry]:
    """Read and check a lexicon file.

    Parameters
    ----------
    path
        CSV with the header ``term,topic,kind``.
    topics
        The allowed topics; ``None`` accepts any.

    Raises
    ------
    DataError
        A wrong header, an empty field, a topic outside ``topics``, or a term listed twice (case and
        spacing ignored: one term cannot teach two topics, and a repeat would weigh it twice).
    """
    try:
        with Path(path).open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            rows = list(reader)
    except OSError as exc:
        raise DataError(f"{path}: cannot read lexicon ({exc.strerror or exc})") from None
    if tuple(header) != LEXICON_COLUMNS:
        raise DataError(f"{path}: header must be {','.join(LEXICON_COLUMNS)} (found: {','.join(header)})")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if len(row) != 3 or not all(field.strip() for field in row):
            raise DataError(f"{path}, line {line}: expected three non-empty fields, got {row!r}")
        term, topic, kind = (" ".join(field.split()) for field in row)
        if topics is not None and topic not in topics:
            raise DataError(
                f"{path}, line {line}: unknown topic '{topic}' (choose from {', '.join(sorted(topics))})"
            )
        key = term.lower()
        if key in seen:
            raise DataError(f"{path}, line {line}: '{term}' is already listed on line {seen[key]}")
        seen[key] = line
        entries.append(Entry(term, topic, kind))
    return entries


def lexicon_rows(entries: list[Entry], weight: int = 1) -> tuple[list[str], list[str]]:
    """Training rows from lexicon entries: each term alone, ``weight`` times.

    Repeating a row is a sample weight that needs no support from the pipeline (the TF-IDF document
    frequencies count the copies too, which lowers the idf of lexicon terms slightly).
    """
    if weight < 1:
        raise ValueError(f"weight must be at least 1, got {weight}")
    texts = [e.term for e in entries for _ in range(weight)]
    labels = [e.topic for e in entries for _ in range(weight)]
    return texts, labels
