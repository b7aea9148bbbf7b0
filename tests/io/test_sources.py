from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classify.errors import DataError
from classify.io.reading import MAX_TEXT_CHARS
from classify.io.records import iter_records
from tests.conftest import cli_message


def headlines(*sources: Path | str, **options: object) -> list[str]:
    return [r.headline for r in iter_records(list(sources), **options)]  # type: ignore[arg-type]


def test_lines_and_ticker_blobs(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("First story here\n\nSecond story    Third story | Fourth story\n", encoding="utf-8")
    assert headlines(path) == ["First story here", "Second story", "Third story", "Fourth story"]
    assert headlines(path, split=False) == ["First story here", "Second story Third story | Fourth story"]
    assert headlines(path, pattern=r"\s\|\s") == [
        "First story here",
        "Second story Third story",
        "Fourth story",
    ]


def test_bad_split_pattern_fails_before_reading(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a valid regular expression"):
        headlines(tmp_path / "does-not-matter.txt", pattern="(")


def test_csv_passes_other_columns_through(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,title,url\n7,"Bank, shares up",http://a\n8,,http://b\n', encoding="utf-8")
    [record] = list(iter_records([path]))
    assert record.headline == "Bank, shares up"
    assert record.fields == {"id": "7", "title": "Bank, shares up", "url": "http://a"}


def test_text_col_on_tsv_and_jsonl(tmp_path: Path) -> None:
    tsv = tmp_path / "in.data"
    tsv.write_text("key\tbody\nA\tFirst one\n", encoding="utf-8")
    assert headlines(tsv, text_col="body") == ["First one"]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"id": 1, "headline": "Second one"}) + "\n\n", encoding="utf-8")
    [record] = list(iter_records([jsonl]))
    assert record.fields == {"id": 1, "headline": "Second one"}


def test_table_without_text_column(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        headlines(path)
    assert re.search("no text column \\(found: a, b\\); pass --text-col", cli_message(info.value))


def test_bad_json_line(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"headline": "ok"}\n{broken\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        headlines(path)


def test_from_page(tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(
        "Markets rally on rate hopes    Storm cuts power to coastal towns\n"
        "Thank you for reading!\n"
        "Council votes to rebuild the old bridge\n"
        "Published in Daily Example on 3 - 4 - 2021\n"
        "The council met on Tuesday and agreed, after a long debate, to rebuild the bridge.\n",
        encoding="utf-8",
    )
    assert headlines(page, from_page=True) == [
        "Markets rally on rate hopes",
        "Storm cuts power to coastal towns",
        "Council votes to rebuild the old bridge",
    ]


def test_bad_encoding_is_replaced_and_reported_with_its_line(tmp_path: Path) -> None:
    # Prediction never stops on a bad byte (see tests/test_hostile.py, case 11).
    from classify.io.reading import InputReport

    path = tmp_path / "t.txt"
    path.write_bytes(b"fine\n\xff\xfe\n")
    report = InputReport()
    assert [r.headline for r in iter_records([path], report=report)] == ["fine", "\ufffd\ufffd"]
    assert report.warnings() == [
        f"{path}: 1 line(s) not valid UTF-8 (first: line 2); the bad bytes were replaced with U+FFFD"
    ]


def test_json_extension_is_json_lines_for_prediction_and_training(tmp_path: Path) -> None:
    # .json once meant JSON Lines to training but plain text to prediction: one map serves both now.
    from classify.io.labelled import load_labelled

    path = tmp_path / "feed.json"
    path.write_text(
        '{"title": "Oil prices climb", "topic": "economy"}\n{"title": "Cup final", "topic": "sport"}\n'
    )
    assert [r.headline for r in iter_records([path])] == ["Oil prices climb", "Cup final"]
    assert load_labelled(path).texts == ["Oil prices climb", "Cup final"]


def test_json_array_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    path.write_text('[{"title": "Oil prices climb"}]\n')
    with pytest.raises(DataError, match="holds one JSON array; classify reads JSON Lines"):
        list(iter_records([path]))


@pytest.mark.parametrize(
    ("text", "marks", "pattern", "plain"),
    [
        ("Bank up\nShares down\n\n", (), None, True),
        ("Bank up | Shares down\n", (), None, True),  # tickers not split: the bar is text
        ("Bank up | Shares down\n", ("|",), None, False),  # split: a separator may be there
        ("Bank up; Shares down\n", ("|",), ";", False),  # the user's own separator: line by line
        ("Bank  up\n", (), None, False),
        (" Bank up\n", (), None, False),
        ("Bank up \n", (), None, False),
        ("Bank\tup\n", (), None, False),
        ("Bank\u00a0up\n", (), None, False),
        ("Bank up\r\n", (), None, False),
        ("x" * (MAX_TEXT_CHARS + 1) + "\n", (), None, False),
    ],
)
def test_a_block_of_plain_lines_is_recognised(
    text: str, marks: tuple[str, ...], pattern: str | None, plain: bool
) -> None:
    from classify.io.records import _plain_lines

    got = _plain_lines(text, marks, pattern)
    assert (got is not None) == plain
    if plain:
        assert got == text.split("\n")
