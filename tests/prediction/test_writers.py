"""Output formats against hostile text, and the batch writers' contract.

Each case of the issue's table has a test here that failed before the fix: rich markup and control
characters in tables, formula prefixes and bare CRs in CSV, lone surrogates in any format.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import run

ESC = "\x1b"
#: An OSC 8 hyperlink: a terminal shows "click" as a link to evil.example.
OSC_LINK = f"{ESC}]8;;https://evil.example{ESC}\\click{ESC}]8;;{ESC}\\ bank shares rise"


@pytest.fixture
def model(tiny_model_path: Path) -> str:
    return str(tiny_model_path)


@pytest.fixture(autouse=True)
def _wide_plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables wide enough not to fold the tested text, and no colours."""
    monkeypatch.setenv("COLUMNS", "200")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


def table_of(rows: list[dict[str, Any]]) -> str:
    from classify.prediction.writers import TableWriter

    out = io.StringIO()
    writer = TableWriter(out)
    for row in rows:
        writer.write(row)
    writer.close()
    return out.getvalue()


# Cases 1 and 4: tables ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "headline",
    ["Bank [/] shares rise", "[link=https://evil.example]Bank shares[/link] rise", "Bank :warning: shares"],
)
def test_table_prints_markup_literally(model: str, headline: str) -> None:
    result = run("predict", "--model", model, "-f", "table", "--no-split", input=headline + "\n")
    assert result.exit_code == 0, result.output
    assert headline in result.stdout
    assert "⚠" not in result.stdout and ESC not in result.stdout


def test_table_shows_escape_sequences_as_visible_symbols(model: str) -> None:
    result = run("predict", "--model", model, "-f", "table", "--no-split", input=OSC_LINK + "\n")
    assert result.exit_code == 0, result.output
    assert ESC not in result.stdout
    assert "␛]8;;https://evil.example␛\\click" in result.stdout


def test_table_cells_from_every_column_are_plain() -> None:
    text = table_of(
        [
            {
                "headline": "x",
                "topic": "[/]",
                "confidence": 0.5,
                "best_guess": "[bold]b",
                "topics": [["[/]", 0.5], [f"t{ESC}[2J", 0.4]],
                "why": ["[red]w", "\x9b31m"],
            }
        ]
    )
    assert "[/]" in text and "[bold]b" in text and "[red]w" in text and "t␛[2J 0.40" in text
    assert ESC not in text and "\x9b" not in text


def test_table_turns_line_breaks_into_spaces() -> None:
    text = table_of([{"headline": "a\rb\nc\td", "topic": "t", "confidence": 1.0}])
    assert "a b c d" in text and "\r" not in text


# Case 5: formula injection in CSV ----------------------------------------------------------------
def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_csv_headline_formula_is_neutralised(model: str, prefix: str) -> None:
    headline = f'{prefix}HYPERLINK("https://evil.example","bank shares")'
    result = run("predict", "--model", model, "-f", "csv", "--no-split", input=headline + "\n")
    assert result.exit_code == 0, result.output
    [row] = csv_rows(result.stdout)
    assert row["headline"] == "'" + headline
    assert float(row["confidence"]) > 0  # the writer's own numbers stay numbers


def test_csv_pass_through_cells_neutralised_unless_verbatim(model: str, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,note,title\n-5,\"=cmd|' /C calc'!A0\",Bank profit up\n7,\tx,Coach sacked\n", "utf-8")
    result = run("predict", src, "--model", model, "-f", "csv")
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.stdout)
    assert [r["id"] for r in rows] == ["'-5", "7"]
    assert [r["note"] for r in rows] == ["'=cmd|' /C calc'!A0", "'\tx"]
    verbatim = csv_rows(run("predict", src, "--model", model, "-f", "csv", "--verbatim-csv").stdout)
    assert [r["id"] for r in verbatim] == ["-5", "7"]
    assert verbatim[0]["note"] == "=cmd|' /C calc'!A0"


def test_csv_why_and_topics_neutralised_numbers_kept() -> None:
    from classify.prediction.writers import CsvWriter

    out = io.StringIO()
    row = {
        "headline": "h",
        "topic": "=evil",
        "confidence": 0.9,
        "topics": [["=evil", 0.9], ["@other", 0.1]],
        "why": ["+SUM(A1)", "x"],
    }
    CsvWriter(out).write_all([row])
    [written] = csv_rows(out.getvalue())
    assert written == {
        "headline": "h",
        "topic": "'=evil",
        "confidence": "0.9",
        "topic_2": "'@other",
        "confidence_2": "0.1",
        "why": "'+SUM(A1); x",
    }


def test_formula_safe_leaves_numbers_and_plain_text() -> None:
    from classify.prediction.writers import formula_safe

    assert formula_safe(-5) == -5 and formula_safe(-0.5) == -0.5
    assert formula_safe("Bank -5%") == "Bank -5%" and formula_safe("") == ""
    assert formula_safe("-5") == "'-5" and formula_safe("\rx") == "'\rx"


# Case 6: CR and LF are always quoted ------------------------------------------------------------
@pytest.mark.parametrize("guard", [True, False])
def test_csv_quotes_bare_cr_and_lf(model: str, guard: bool) -> None:
    lines = "".join(
        json.dumps({"id": value, "headline": "Bank profit up"}) + "\n" for value in ("a\rb", "c\nd", "e\r\nf")
    )
    options = () if guard else ("--verbatim-csv",)
    result = run(
        "predict", "-", "--model", model, "--text-col", "headline", "-f", "csv", *options, input=lines
    )
    assert result.exit_code == 0, result.output
    text = result.stdout_bytes.decode("utf-8")  # .stdout would turn CRLF into LF
    assert '"a\rb"' in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[0] for r in rows] == ["id", "a\rb", "c\nd", "e\r\nf"]


# Case 7: text that cannot be encoded -------------------------------------------------------------
SURROGATE_INPUT = (
    '{"id": 1, "headline": "Bank profit up"}\n'
    '{"id": 2, "headline": "Coach \\ud800 sacked", "note": "x\\udfff"}\n'
    '{"id": 3, "headline": "Flu cases rise"}\n'
)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "table"])
def test_lone_surrogate_is_replaced_and_reported_once(model: str, fmt: str) -> None:
    result = run("predict", "-", "--model", model, "--text-col", "headline", "-f", fmt, input=SURROGATE_INPUT)
    assert result.exit_code == 0, result.output
    assert "Coach \ufffd sacked" in result.stdout
    assert "Flu cases rise" in result.stdout  # the rows after it are written
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1
    assert "1 row(s)" in warnings[0] and "first in output row 2" in warnings[0]
    if fmt == "jsonl":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert [r["id"] for r in rows] == [1, 2, 3] and rows[1]["note"] == "x\ufffd"


def test_writer_counts_unencodable_rows_across_batches() -> None:
    from classify.prediction.writers import JsonlWriter

    out = io.StringIO()
    writer = JsonlWriter(out)
    writer.encoding = "ascii"  # a stream that cannot hold the text: replaced, never an error
    writer.write_all([{"headline": "ok"}, {"headline": "café"}, {"headline": "x\ud800"}])
    assert writer.replaced == 2 and writer.first_replaced == 2
    assert out.getvalue().splitlines()[1:] == ['{"headline": "caf?"}', '{"headline": "x?"}']


# The batch writers against the row writers ------------------------------------------------------
HEADLINES = ["Bank profit up", "Coach sacked", 'Striker says "we won"', "Bank profit up", "Flu, cold"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize(
    "options",
    [{}, {"top_k": 3}, {"min_confidence": 0.99, "uncertain_label": "=?"}, {"explain": True, "top_k": 2}],
)
def test_batch_output_equals_row_output(tiny_model_path: Path, fmt: str, options: dict[str, Any]) -> None:
    from classify import load_model
    from classify.io.records import Record
    from classify.prediction.predictor import PredictOptions, predict_record_batches
    from classify.prediction.writers import get_writer

    model = load_model(tiny_model_path)
    records = [Record(h, {"id": str(i), "headline": h}) for i, h in enumerate(HEADLINES)]
    records += [Record("Oil prices climb", {"headline": "Oil prices climb"}), Record("Coach sacked", {})]
    batches = list(predict_record_batches(model, records, PredictOptions(**options), batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 1]
    by_batch, by_row = io.StringIO(), io.StringIO()
    batch_writer, row_writer = get_writer(fmt, by_batch), get_writer(fmt, by_row)
    for batch in batches:
        batch_writer.write_batch(batch)
        for record, row in zip(batch.records, batch.rows(), strict=True):
            row_writer.write(row, record.headline)
    assert by_batch.getvalue() == by_row.getvalue()
    assert by_batch.getvalue().count("\n") == len(records) + (fmt == "csv")


def test_table_prints_each_batch_as_it_comes(tiny_model_path: Path) -> None:
    from classify import load_model
    from classify.io.records import Record
    from classify.prediction.predictor import PredictOptions, predict_record_batches
    from classify.prediction.writers import TableWriter

    model = load_model(tiny_model_path)
    records = [Record(f"Oil prices climb {i}", {"headline": f"Oil prices climb {i}"}) for i in range(5)]
    out = io.StringIO()
    writer = TableWriter(out)
    batches = predict_record_batches(model, records, PredictOptions(), batch_size=3)
    writer.write_batch(next(batches))
    shown = out.getvalue()  # before the second batch is even classified
    assert "Oil prices climb 2" in shown and "Oil prices climb 3" not in shown
    writer.write_batch(next(batches))
    writer.close()
    rest = out.getvalue()[len(shown) :]
    # Rows are numbered across the tables: the second starts at 4.
    numbers = [line.split("│")[1].strip() for line in rest.splitlines() if line.startswith("│")]
    assert numbers == ["4", "5"] and writer.rows == 5


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("options", [{}, {"top_k": 3, "min_confidence": 0.99, "uncertain_label": "=?"}])
def test_plain_lines_are_written_as_rows_with_one_headline_field(
    tiny_model_path: Path, fmt: str, options: dict[str, Any]
) -> None:
    """Lines of text skip the per-record fields (a fast path); the output must not change."""
    from classify import load_model
    from classify.io.records import Record
    from classify.prediction.predictor import PredictOptions, predict_record_batches
    from classify.prediction.writers import get_writer

    model = load_model(tiny_model_path)
    texts = [*HEADLINES, "=HYPERLINK(1) bank", "-2 points for stocks", '"Quoted" striker, again']
    outputs = []
    for records in ([Record(h) for h in texts], [Record(h, {"headline": h}) for h in texts]):
        out = io.StringIO()
        writer = get_writer(fmt, out)
        for batch in predict_record_batches(model, records, PredictOptions(**options), batch_size=4):
            assert batch.plain == (records[0].cells is None)
            writer.write_batch(batch)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") == len(texts) + (fmt == "csv")
    if fmt == "csv":
        assert "'=HYPERLINK(1) bank" in outputs[0] and "'-2 points" in outputs[0]
        assert ("'=?" in outputs[0]) == bool(options)  # the uncertain label, guarded too
