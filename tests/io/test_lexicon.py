"""Checks of the shipped topic lexicon (data/lexicon.csv) and of how it becomes training rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from classify.errors import DataError
from classify.io.lexicon import LEXICON_COLUMNS, Entry, lexicon_rows, read_lexicon

DATA = Path(__file__).resolve().parents[2] / "data"


def topics() -> set[str]:
    with (DATA / "topics.csv").open(newline="", encoding="utf-8") as fh:
        return {row["name"] for row in csv.DictReader(fh)}


def test_shipped_lexicon_is_well_formed() -> None:
    """Valid topics, no term listed twice (case and spacing ignored), every topic represented."""
    entries = read_lexicon(DATA / "lexicon.csv", topics())
    assert len(entries) >= 1000
    assert {e.topic for e in entries} == topics()
    keys = [" ".join(e.term.lower().split()) for e in entries]
    assert len(keys) == len(set(keys))
    for e in entries:
        assert e.term == e.term.strip() and e.kind
        # Facts, not sentences: a lexicon line is a name or a term of a few words.
        assert len(e.term.split()) <= 6, e.term


def test_shipped_lexicon_holds_no_corpus_headline() -> None:
    """Lexicon lines are terms, not headlines copied over from the corpus."""
    with (DATA / "headlines.csv").open(newline="", encoding="utf-8") as fh:
        headlines = {row["headline"].lower() for row in csv.DictReader(fh)}
    clashes = [e.term for e in read_lexicon(DATA / "lexicon.csv") if e.term.lower() in headlines]
    assert clashes == []


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_lexicon(tmp_path: Path) -> None:
    path = write(
        tmp_path / "lex.csv",
        [",".join(LEXICON_COLUMNS), "Arsenal,sport,club", '"Bank  of England",economy,bank'],
    )
    assert read_lexicon(path, {"sport", "economy"}) == [
        Entry("Arsenal", "sport", "club"),
        Entry("Bank of England", "economy", "bank"),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["term,label,kind", "Arsenal,sport,club"], "header must be term,topic,kind"),
        (["term,topic,kind", "Arsenal,,club"], "line 2: expected three non-empty fields"),
        (["term,topic,kind", "Arsenal,football,club"], "line 2: unknown topic 'football'"),
        (
            ["term,topic,kind", "Arsenal,sport,club", "arsenal,economy,company"],
            "'arsenal' is already listed on line 2",
        ),
    ],
)
def test_read_lexicon_rejects_bad_files(tmp_path: Path, lines: list[str], message: str) -> None:
    path = write(tmp_path / "lex.csv", lines)
    with pytest.raises(DataError, match=message):
        read_lexicon(path, {"sport", "economy"})


def test_missing_lexicon_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read lexicon"):
        read_lexicon(tmp_path / "absent.csv")


def test_lexicon_rows_repeat_terms_by_weight() -> None:
    entries = [Entry("Arsenal", "sport", "club"), Entry("FTSE", "economy", "index")]
    assert lexicon_rows(entries) == (["Arsenal", "FTSE"], ["sport", "economy"])
    assert lexicon_rows(entries, weight=2) == (
        ["Arsenal", "Arsenal", "FTSE", "FTSE"],
        ["sport", "sport", "economy", "economy"],
    )
    with pytest.raises(ValueError, match="at least 1"):
        lexicon_rows(entries, weight=0)


def test_default_training_data_adds_the_lexicon() -> None:
    """The default model learns from the corpus rows followed by one row per lexicon line."""
    from classify.training.default_model import default_training_data

    corpus = default_training_data(lexicon=False)
    full = default_training_data()
    entries = read_lexicon(DATA / "lexicon.csv")
    assert full.texts[: len(corpus)] == corpus.texts
    assert full.texts[len(corpus) :] == [e.term for e in entries]
    assert full.labels[len(corpus) :] == [e.topic for e in entries]


def test_model_is_rebuilt_when_the_lexicon_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached default model's fingerprint covers the lexicon, not only the corpus."""
    from classify.training import default_model

    before = default_model.data_sha256()
    edited = tmp_path / "lexicon.csv"
    edited.write_text(
        (DATA / "lexicon.csv").read_text(encoding="utf-8") + "Zzyzx United,sport,club\n", encoding="utf-8"
    )
    monkeypatch.setattr(default_model, "lexicon_path", lambda: edited)
    assert default_model.data_sha256() != before
