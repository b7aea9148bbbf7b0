"""`classify predict` options: ticker splitting, pages, tables, confidence, summary, explanations."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run


def jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def model(tiny_model_path: Path) -> str:
    return str(tiny_model_path)


def test_ticker_blob_split_by_default(model: str) -> None:
    result = run(
        "predict", "--model", model, "-f", "jsonl", input="Coach sacked   Oil prices climb • Flu cases rise\n"
    )
    assert result.exit_code == 0, result.output
    assert [r["headline"] for r in jsonl(result.stdout)] == [
        "Coach sacked",
        "Oil prices climb",
        "Flu cases rise",
    ]


def test_no_split_and_custom_split(model: str) -> None:
    blob = "Coach sacked   Oil prices climb ## Flu cases rise\n"
    result = run("predict", "--model", model, "-f", "jsonl", "--no-split", input=blob)
    assert len(jsonl(result.stdout)) == 1
    result = run("predict", "--model", model, "-f", "jsonl", "--split", " ## ", input=blob)
    assert [r["headline"] for r in jsonl(result.stdout)] == [
        "Coach sacked Oil prices climb",
        "Flu cases rise",
    ]


def test_from_page(model: str, tmp_path: Path) -> None:
    page = tmp_path / "page.txt"
    page.write_text(
        "Striker signs new deal    Inflation slows again\n"
        "Click here to read more\n"
        "Hospital opens new cancer unit\n"
        "Published in The Example on 2 - 5 - 2020\n"
        "The hospital, which serves three towns, opened the unit on Monday.\n",
        encoding="utf-8",
    )
    result = run("predict", page, "--model", model, "-f", "jsonl", "--from-page")
    assert [r["headline"] for r in jsonl(result.stdout)] == [
        "Striker signs new deal",
        "Inflation slows again",
        "Hospital opens new cancer unit",
    ]


def test_csv_input_passes_columns_through(model: str, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        'id,date,title\n1,2024-01-02,"Bank profit up, again"\n2,2024-01-03,Coach sacked\n', encoding="utf-8"
    )
    result = run("predict", src, "--model", model, "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "date", "title", "topic", "confidence"]
    assert rows[0]["title"] == "Bank profit up, again" and rows[1]["id"] == "2"


def test_text_col_on_stdin_jsonl(model: str) -> None:
    lines = json.dumps({"id": "a", "body": "Coach sacked"}) + "\n"
    result = run("predict", "-", "--model", model, "--text-col", "body", "-f", "jsonl", input=lines)
    [row] = jsonl(result.stdout)
    assert row["id"] == "a" and row["body"] == "Coach sacked" and row["topic"] == "sport"


def test_duplicates_output_every_time(model: str) -> None:
    result = run("predict", "--model", model, "-f", "jsonl", input="Coach sacked\nCoach sacked\n")
    assert len(jsonl(result.stdout)) == 2


def test_min_confidence_keeps_best_guess(model: str) -> None:
    result = run("predict", "--model", model, "-f", "jsonl", "--min-confidence", "1.0",
                 "--uncertain-label", "unsure", input="Coach sacked\n")  # fmt: skip
    [row] = jsonl(result.stdout)
    assert row["topic"] == "unsure"
    assert row["best_guess"] == "sport"
    result = run("predict", "--model", model, "-f", "csv", "--min-confidence", "0", input="Coach sacked\n")
    assert result.stdout.splitlines()[0] == "headline,topic,confidence,best_guess"


def test_top_k_in_csv(model: str) -> None:
    result = run("predict", "--model", model, "-f", "csv", "-k", "2", input="Coach sacked\n")
    assert result.stdout.splitlines()[0] == "headline,topic,confidence,topic_2,confidence_2"


def test_summary_goes_to_stderr_for_machine_formats(model: str) -> None:
    result = run(
        "predict", "--model", model, "-f", "jsonl", "--summary", input="Coach sacked\nOil prices climb\n"
    )
    assert len(jsonl(result.stdout)) == 2
    assert "economy" in result.stderr and "50.0%" in result.stderr and "total" in result.stderr


def test_summary_after_table(model: str) -> None:
    result = run("predict", "--model", model, "-f", "table", "--summary", input="Coach sacked\n")
    assert result.stdout.rstrip().splitlines()[-1].split() == ["total", "1"]


def test_explain_names_whole_words(model: str) -> None:
    result = run(
        "predict", "--model", model, "-f", "jsonl", "--explain", input="Striker scores in the cup final\n"
    )
    assert result.exit_code == 0, result.output
    [row] = jsonl(result.stdout)
    assert row["topic"] == "sport"
    assert row["why"] and set(row["why"]) <= {"Striker", "scores", "in", "the", "cup", "final"}


def test_explain_in_table(model: str) -> None:
    result = run("predict", "--model", model, "-f", "table", "--explain", input="Inflation slows again\n")
    assert result.exit_code == 0, result.output
    assert "why" in result.stdout


def test_no_colour_codes_in_machine_output(model: str) -> None:
    result = run("predict", "--model", model, "-f", "csv", "--summary", input="Coach sacked\n")
    assert "\x1b[" not in result.stdout


def test_split_and_no_split_together(model: str) -> None:
    result = run("predict", "--model", model, "--split", "x", "--no-split", input="a\n")
    assert result.exit_code == 2


def test_shipped_example_page(model: str) -> None:
    page = Path(__file__).resolve().parents[2] / "examples" / "page.txt"
    result = run("predict", page, "--model", model, "-f", "jsonl", "--from-page")
    assert result.exit_code == 0, result.output
    assert [r["headline"] for r in jsonl(result.stdout)] == [
        "Port Said container terminal handles record 4 mln boxes",
        "Ismaily appoint former keeper as interim coach",
        "Cairo opera revives Aida for winter season",
        "Aswan dam lake levels rise after strong flood season",
    ]
