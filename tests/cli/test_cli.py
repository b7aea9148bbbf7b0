"""The command line through typer's CliRunner: exit codes and exact messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify.cli import app
from tests.conftest import write_csv

runner = CliRunner()


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    from typer.main import get_command

    commands = sorted(get_command(app).commands)  # type: ignore[attr-defined]
    assert {"train", "predict", "evaluate", "topics", "tune", "audit"} <= set(commands)
    for command in commands:
        assert command in result.stdout


def test_train_summary_and_model_written(tiny_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "models" / "m.joblib"
    result = run("train", tiny_csv, "-o", out)
    assert result.exit_code == 0, result.output
    assert "trained on 24 rows" in result.stdout
    assert "economy 8" in result.stdout
    assert out.is_file()


def test_train_warns_about_skipped_rows(tmp_path: Path) -> None:
    rows = [(f"Headline {i} about things", "ab"[i % 2]) for i in range(10)] + [("", "a")]
    data = write_csv(tmp_path / "d.csv", ["title", "label"], rows)
    result = run("train", data, "-o", tmp_path / "m.joblib")
    assert result.exit_code == 0
    assert "Warning: " in result.stderr and "skipped 1 row(s)" in result.stderr


def test_predict_jsonl_from_stdin(tiny_model_path: Path) -> None:
    result = run(
        "predict",
        "-",
        "--model",
        tiny_model_path,
        "--format",
        "jsonl",
        "--top-k",
        "2",
        input="Inflation slows again\n\nStriker scores\n",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["headline"] for r in rows] == ["Inflation slows again", "Striker scores"]
    assert rows[0]["topic"] == "economy"
    assert 0 < rows[0]["confidence"] <= 1
    assert len(rows[0]["topics"]) == 2 and rows[0]["topics"][0][0] == "economy"


def test_predict_csv_from_files_keeps_order(tiny_model_path: Path, tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text('Bank "profit" up, again\n', encoding="utf-8")
    b = tmp_path / "b.txt"
    b.write_text("Coach sacked\n", encoding="utf-8")
    result = run("predict", a, b, "--model", tiny_model_path, "--format", "csv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "headline,topic,confidence"
    assert lines[1].startswith('"Bank ""profit"" up, again",')
    assert lines[2].startswith("Coach sacked,")


def test_predict_table(tiny_model_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "h.txt"
    path.write_text("Coach sacked\n", encoding="utf-8")
    result = run("predict", path, "--model", tiny_model_path, "--format", "table")
    assert result.exit_code == 0
    assert "Coach sacked" in result.stdout and "sport" in result.stdout


def test_evaluate_json(tiny_csv: Path) -> None:
    result = run("evaluate", tiny_csv, "--folds", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"n", "accuracy", "macro_f1", "per_topic", "confusion"} <= set(report)


def test_evaluate_text_with_model_and_test(tiny_csv: Path, tiny_model_path: Path) -> None:
    result = run("evaluate", tiny_csv, "--model", tiny_model_path)
    assert result.exit_code == 0
    assert "accuracy" in result.stdout and "precision" in result.stdout
    result = run("evaluate", tiny_csv, "--test", tiny_csv)
    assert result.exit_code == 0
    assert "train/test" in result.stdout


def test_topics_of_a_model(tiny_model_path: Path) -> None:
    result = run("topics", "--model", tiny_model_path)
    assert result.exit_code == 0
    assert result.stdout.split()[0:2] == ["economy", "8"]
    assert "Diseases" in result.stdout  # the default topic set describes 'health'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "missing.csv"), "Error: missing.csv: no such file\n"),
        (("evaluate", "missing.csv"), "Error: missing.csv: no such file\n"),
        (("predict", "missing.txt", "--model", "x.joblib"), "Error: missing.txt: no such file\n"),
    ],
)
def test_missing_files(
    args: tuple[str, ...], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 1
    assert result.stderr == message


def test_missing_model(tmp_path: Path) -> None:
    path = tmp_path / "h.txt"
    path.write_text("x\n", encoding="utf-8")
    result = run("predict", path, "--model", tmp_path / "none.joblib")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "no such model file; train one with" in result.stderr
    assert result.stderr.count("\n") == 1


def test_corrupt_model_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"\x00garbage")
    path = tmp_path / "h.txt"
    path.write_text("x\n", encoding="utf-8")
    result = run("predict", path, "--model", bad)
    assert result.exit_code == 1
    assert "cannot load model" in result.stderr
    assert "Traceback" not in result.output


def test_one_topic(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", ["headline", "topic"], [("A b", "x"), ("C d", "x")])
    result = run("train", data, "-o", tmp_path / "m.joblib")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {data}: only one topic ('x'); a classifier needs at least 2\n"


def test_too_few_rows_for_folds(tiny_csv: Path) -> None:
    result = run("evaluate", tiny_csv, "--folds", "9")
    assert result.exit_code == 1
    assert "fewer rows than the 9 folds asked; pass a smaller --folds" in result.stderr


def test_no_label_column(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", ["title", "body"], [("A", "b")])
    result = run("train", data)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {data}: no label column (found: title, body); pass --label-col\n"


def test_bad_encoding(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_bytes(b"headline,topic\n\xe9t\xe9,a\n")
    result = run("train", data)
    assert result.exit_code == 1
    assert "not valid UTF-8" in result.stderr


def test_empty_input(tiny_model_path: Path) -> None:
    result = run("predict", "-", "--model", tiny_model_path, "--format", "jsonl", input="\n  \n")
    assert result.exit_code == 1
    assert result.stderr == "Error: no headlines in the input (every line was blank)\n"


def test_model_and_test_together_is_usage_error(tiny_csv: Path, tiny_model_path: Path) -> None:
    result = run("evaluate", tiny_csv, "--model", tiny_model_path, "--test", tiny_csv)
    assert result.exit_code == 2


def test_train_py_script(tiny_csv: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "s.joblib"
    proc = subprocess.run(
        [sys.executable, str(root / "train.py"), str(tiny_csv), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()


def test_unexpected_error_has_no_traceback(tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["classify.prediction.files"], "predict_record_batches", broken)
    result = run("predict", "-", "--model", tiny_model_path, input="x\n")
    assert result.exit_code == 1
    assert result.stderr == "Error: unexpected RuntimeError: boom (rerun with --debug for details)\n"
