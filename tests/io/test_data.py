from __future__ import annotations

import json
from pathlib import Path

import pytest

from classify.errors import DataError
from classify.io.labelled import load_labelled
from tests.conftest import cli_message, tiny_rows, write_csv


def test_csv_columns_detected_by_name(tiny_csv: Path) -> None:
    data = load_labelled(tiny_csv)
    assert len(data) == 24
    assert (data.text_col, data.label_col) == ("headline", "topic")
    assert data.counts() == {"economy": 8, "health": 8, "sport": 8}


def test_other_common_names_and_case(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["id", "Title", "Category"], [("1", "A b", "x"), ("2", "C d", "y")])
    data = load_labelled(path)
    assert (data.text_col, data.label_col) == ("Title", "Category")


def test_tsv_and_jsonl_by_extension_and_sniffing(tmp_path: Path) -> None:
    tsv = tmp_path / "d.tsv"
    tsv.write_text("headline\tlabel\nOne headline\ta\nTwo headline\tb\n", encoding="utf-8")
    assert load_labelled(tsv).labels == ["a", "b"]
    sniffed = tmp_path / "d.data"
    sniffed.write_text(
        "\n".join(json.dumps({"text": t, "class": c}) for t, c in [("Three", "a"), ("Four", "b")]),
        encoding="utf-8",
    )
    assert load_labelled(sniffed).texts == ["Three", "Four"]


def test_explicit_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["body", "kind"], [("Some text", "a")])
    data = load_labelled(path, text_col="body", label_col="kind")
    assert data.texts == ["Some text"]


def test_empty_rows_skipped_and_counted(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "x.csv", ["headline", "topic"], [("Good one", "a"), ("", "a"), ("No label", " ")]
    )
    data = load_labelled(path)
    assert data.texts == ["Good one"]
    assert data.skipped == 2


def test_whitespace_collapsed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["headline", "topic"], [("  Two   spaces\there ", "a")])
    assert load_labelled(path).texts == ["Two spaces here"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"headline,topic\n\xff\xfe bad,a\n", "not valid UTF-8"),
        (b"title,body\nx,y\n", "no label column (found: title, body); pass --label-col"),
        (b"name,topic\nx,y\n", "no text column (found: name, topic); pass --text-col"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_labelled(path)
    # The library names its own argument; the command line, its flag.
    assert message in cli_message(info.value)


def test_library_errors_name_library_arguments(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"title,body\nx,y\n")
    with pytest.raises(DataError, match=r"no label column \(found: title, body\); pass label_col$"):
        load_labelled(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_labelled(tmp_path / "nope.csv")


def test_unknown_column_named(tiny_csv: Path) -> None:
    with pytest.raises(DataError, match="no column 'body'"):
        load_labelled(tiny_csv, text_col="body")


def test_fingerprint_changes_with_data(tmp_path: Path) -> None:
    a = load_labelled(write_csv(tmp_path / "a.csv", ["headline", "topic"], tiny_rows()))
    b = load_labelled(write_csv(tmp_path / "b.csv", ["headline", "topic"], tiny_rows()[:-1]))
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == load_labelled(tmp_path / "a.csv").fingerprint()
