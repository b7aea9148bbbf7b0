"""Hostile files at the command line: outputs that are inputs, files that are not text, odd values."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify.cli import app
from tests.conftest import tiny_rows, write_csv

runner = CliRunner()


def run(*args: object, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args], input=input)


# ---------------------------------------------------------------- outputs that are inputs


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_train_refuses_to_write_the_model_over_its_data(tmp_path: Path, link: str) -> None:
    data = write_csv(tmp_path / "d.csv", ["headline", "topic"], tiny_rows())
    before = data.read_bytes()
    target = data
    if link == "symlink":
        target = tmp_path / "alias.csv"
        target.symlink_to(data)
    elif link == "hardlink":
        target = tmp_path / "twin.csv"
        os.link(data, target)
    result = run("train", data, "-o", target)
    assert result.exit_code == 2, result.output
    assert "would replace the input" in result.output
    assert data.read_bytes() == before


def test_train_refuses_a_model_over_its_pool_or_settings(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", ["headline", "topic"], tiny_rows())
    pool = tmp_path / "pool.txt"
    pool.write_text("Oil prices climb\nTeam wins the cup\n", encoding="utf-8")
    result = run("train", data, "--unlabelled", pool, "-o", pool)
    assert result.exit_code == 2 and "would replace the input" in result.output
    assert pool.read_text(encoding="utf-8").startswith("Oil")


def test_predict_output_folder_refuses_to_replace_an_input(tiny_model_path: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"headline": "Oil prices climb"}\n', encoding="utf-8")
    before = feed.read_bytes()
    result = run("predict", "-m", tiny_model_path, feed, "--output", tmp_path)
    assert result.exit_code == 2, result.output
    assert "would replace the input" in result.output
    assert feed.read_bytes() == before


def test_evaluate_report_refuses_a_folder_holding_its_data(tiny_csv: Path) -> None:
    result = run("evaluate", tiny_csv, "--folds", "2", "--report", tiny_csv.parent)
    assert result.exit_code == 2, result.output
    assert "would replace the input" in result.output
    assert tiny_csv.exists()


def test_tune_refuses_to_write_settings_over_its_data(tiny_csv: Path) -> None:
    before = tiny_csv.read_bytes()
    result = run("tune", tiny_csv, "--budget", "5", "-o", tiny_csv)
    assert result.exit_code == 2, result.output
    assert tiny_csv.read_bytes() == before


def test_label_refuses_answers_over_its_pool(tmp_path: Path) -> None:
    pool = tmp_path / "pool.txt"
    pool.write_text("Oil prices climb\nTeam wins the cup\n", encoding="utf-8")
    result = run("label", pool, "--topics", "a,b", "-o", pool)
    assert result.exit_code == 2, result.output
    assert pool.read_text(encoding="utf-8") == "Oil prices climb\nTeam wins the cup\n"


def test_convert_refuses_its_source_as_target(tiny_model_path: Path, tmp_path: Path) -> None:
    link = tmp_path / "same.model"
    link.symlink_to(tiny_model_path)
    result = run("convert", tiny_model_path, link)
    assert result.exit_code == 2, result.output
    assert "would replace the input" in result.output


def test_atomic_writes_are_synced_before_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import classify.atomic as atomic

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    atomic.write_text_atomic(tmp_path / "x.json", "{}")
    assert events[:2] == ["fsync", "replace"]


# ---------------------------------------------------------------- files that are not text


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    return path


@pytest.fixture
def not_text(tmp_path: Path, tiny_model_path: Path) -> dict[str, tuple[Path, str]]:
    """Files that are not text, with what the refusal must say."""
    import gzip
    import shutil

    model = tmp_path / "site.model"
    shutil.copy(tiny_model_path, model)
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    return {
        "model": (model, f"is a classify model file, not text; did you mean -m/--model {model}?"),
        "xlsx": (_zip(tmp_path / "sheet.xlsx", {"xl/workbook.xml": b"<x/>"}), "export it as CSV"),
        "ods": (
            _zip(tmp_path / "sheet.ods", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
            "export it as CSV",
        ),
        "xls": (
            _write(tmp_path / "old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64)),
            "export it as CSV",
        ),
        "zip": (_zip(tmp_path / "bundle.zip", {"a.txt": b"Oil prices climb\n"}), "is a zip archive"),
        "pdf": (_write(tmp_path / "paper.pdf", b"%PDF-1.7\n" + bytes(64)), "is a PDF document, not text"),
        "png": (_write(tmp_path / "picture.csv", png), "is a PNG image, not text"),
        "gzip of an image": (
            _write(tmp_path / "feed.csv.gz", gzip.compress(png)),
            "is a gzip file of a PNG image",
        ),
        "utf-16 without a byte order mark": (
            _write(tmp_path / "wide.txt", "Oil prices climb\nTeam wins\n".encode("utf-16-le")),
            "wide.txt: is UTF-16 text; classify reads UTF-8: convert it with iconv -f UTF-16LE -t UTF-8 ",
        ),
        "utf-16": (
            _write(tmp_path / "wide.csv", "headline,topic\nOil,economy\n".encode("utf-16")),
            "is UTF-16 text; classify reads UTF-8: convert it with iconv -f UTF-16LE -t UTF-8",
        ),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _one_line_error(result, says: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and says in errors[0], result.output
    assert "\x00" not in result.output


@pytest.mark.parametrize(
    "kind",
    [
        "model",
        "xlsx",
        "ods",
        "xls",
        "zip",
        "pdf",
        "png",
        "gzip of an image",
        "utf-16",
        "utf-16 without a byte order mark",
    ],
)
def test_predict_and_train_refuse_what_is_not_text(
    not_text: dict[str, tuple[Path, str]], tiny_model_path: Path, tmp_path: Path, kind: str
) -> None:
    path, says = not_text[kind]
    _one_line_error(run("predict", "-m", tiny_model_path, path), says)
    _one_line_error(run("train", path, "-o", tmp_path / "out.model"), says)
    assert not (tmp_path / "out.model").exists()


@pytest.mark.parametrize("kind", ["model", "xlsx", "pdf"])
def test_every_command_that_reads_headlines_refuses_what_is_not_text(
    not_text: dict[str, tuple[Path, str]], tiny_csv: Path, tiny_model_path: Path, tmp_path: Path, kind: str
) -> None:
    path, says = not_text[kind]
    _one_line_error(run("evaluate", "-m", tiny_model_path, path), says)
    _one_line_error(run("evaluate", path, "--folds", "2"), says)
    _one_line_error(run("audit", path, "--folds", "2"), says)
    _one_line_error(run("tune", path, "--budget", "5", "-o", tmp_path / "s.json"), says)
    _one_line_error(run("label", path, "--topics", "a,b", "-o", tmp_path / "answers.csv"), says)
    _one_line_error(run("train", tiny_csv, "--unlabelled", path, "-o", tmp_path / "m.model"), says)


def test_streaming_training_refuses_what_is_not_text(
    not_text: dict[str, tuple[Path, str]], tmp_path: Path
) -> None:
    path, says = not_text["model"]
    _one_line_error(run("train", path, "--stream", "-o", tmp_path / "out.model"), says)


def test_gzip_is_read_by_predict_and_in_memory_training(tiny_model_path: Path, tmp_path: Path) -> None:
    import csv
    import gzip
    import io

    lines = tmp_path / "feed.txt.gz"
    lines.write_bytes(gzip.compress(b"Oil prices climb on supply worries\nStriker scores twice\n"))
    result = run("predict", "-m", tiny_model_path, lines, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["headline"] for r in rows] == ["Oil prices climb on supply worries", "Striker scores twice"]
    table = tmp_path / "data.csv.gz"
    text = "headline,topic\n" + "".join(f'"{h}",{t}\n' for h, t in tiny_rows())
    table.write_bytes(gzip.compress(text.encode()))
    result = run("train", table, "--no-stream", "-o", tmp_path / "gz.model")
    assert result.exit_code == 0, result.output
    assert "trained on 24 rows" in result.output
    damaged = tmp_path / "cut.csv.gz"
    damaged.write_bytes(gzip.compress(text.encode())[:-20])
    _one_line_error(
        run("train", damaged, "--no-stream", "-o", tmp_path / "cut.model"), "cut.csv.gz: cannot read"
    )


def test_a_plain_list_of_headlines_given_to_train_says_there_is_no_label_column(tmp_path: Path) -> None:
    path = tmp_path / "headlines.txt"
    path.write_text("Oil prices climb\nTeam wins, again\nBank raises rates\n", encoding="utf-8")
    result = run("train", path, "-o", tmp_path / "m.model")
    _one_line_error(result, "no label column: training needs a headline and a label column")
    assert "'Oil prices climb'" in result.output


# ---------------------------------------------------------------- values and streams


def test_jsonl_pass_through_values_are_json_text_in_csv_and_valid_json_in_jsonl(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    import csv
    import io
    import json

    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"headline": "Oil prices climb", "a": true, "b": [1, "x", null], "c": {"k": false}, '
        '"d": 1e400, "e": null, "f": 2.5, "g": 3}\n',
        encoding="utf-8",
    )
    result = run("predict", "-m", tiny_model_path, feed, "--format", "csv")
    assert result.exit_code == 0, result.output
    row = next(csv.DictReader(io.StringIO(result.stdout)))
    assert {k: row[k] for k in "abcdefg"} == {
        "a": "true",
        "b": '[1, "x", null]',
        "c": '{"k": false}',
        "d": "1e400",
        "e": "",
        "f": "2.5",
        "g": "3",
    }
    result = run("predict", "-m", tiny_model_path, feed, "--format", "jsonl")
    line = result.stdout.strip()
    assert "Infinity" not in line
    assert json.loads(line, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))["d"] == "1e400"


@pytest.mark.parametrize("where", ["headline", "label"])
def test_an_escaped_lone_surrogate_in_training_data_names_its_line(tmp_path: Path, where: str) -> None:
    rows = [f'{{"headline": "{h}", "topic": "{t}"}}' for h, t in tiny_rows()]
    rows.insert(
        2,
        '{"headline": "Bad \\ud800 one", "topic": "sport"}'
        if where == "headline"
        else '{"headline": "Bad one", "topic": "\\ud800"}',
    )
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for args in (("train", data, "--no-stream"), ("evaluate", data, "--folds", "2")):
        result = run(*args, "-o", tmp_path / "m.model") if args[0] == "train" else run(*args)
        _one_line_error(result, f"{data}: line 3 holds an escaped lone surrogate")
    stream = run("train", data, "--stream", "-o", tmp_path / "s.model")
    assert "unexpected" not in stream.output
    assert "surrogate" in stream.output


def _shell(command: str) -> tuple[int, str]:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    script = (
        f"{command.replace('classify', f'{sys.executable} -m classify', 1)}; echo rc=${{PIPESTATUS[0]}} >&2"
    )
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    return int(done.stderr.strip().rsplit("rc=", 1)[1]), done.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_output_into_head_exits_0_quietly(tiny_model_path: Path, tmp_path: Path, fmt: str) -> None:
    feed = tmp_path / "many.txt"
    feed.write_text("".join(f"Oil prices climb for day {i}\n" for i in range(4000)), encoding="utf-8")
    code, err = _shell(f"classify predict -m {tiny_model_path} {feed} --format {fmt} | head -1 >/dev/null")
    assert code == 0, err
    assert err.strip().startswith("rc="), err


def test_closed_stdout_is_a_clear_error(tiny_model_path: Path, tmp_path: Path) -> None:
    feed = tmp_path / "few.txt"
    feed.write_text("Oil prices climb\n", encoding="utf-8")
    for fmt in ("table", "csv"):
        code, err = _shell(f"classify predict -m {tiny_model_path} {feed} --format {fmt} >&-")
        assert code == 1, err
        assert "Error: standard output is closed" in err and "unexpected" not in err


# ---------------------------------------------------------------- what reaches the terminal

RAW = ("\x1b", "\u202e", "\u200b", "\x07")


def test_escape_sequences_in_topics_and_file_names_never_reach_the_terminal(tmp_path: Path) -> None:
    rows = [
        (h, "\x1b[2Jsport\x07" if t == "sport" else ("\u202eeconomy" if t == "economy" else t))
        for h, t in tiny_rows()
    ]
    data = write_csv(tmp_path / "d.csv", ["headline", "topic"], rows)
    model = tmp_path / "m.model"
    outputs = [run("train", data, "-o", model)]
    assert outputs[0].exit_code == 0, outputs[0].output
    outputs.append(run("topics", "-m", model))
    feed = tmp_path / "feed.txt"
    feed.write_text("Striker scores\u200b twice\nBank \u202eraises rates\n", encoding="utf-8")
    outputs.append(run("predict", "-m", model, feed, "--format", "table", "--summary"))
    outputs.append(run("predict", "-m", model, feed, "--format", "csv", "--summary"))
    outputs.append(run("predict", "-m", model, tmp_path / "\x1b[2Jmissing.txt"))
    for result in outputs:
        shown = result.output if result is not outputs[3] else result.stderr
        assert not any(c in shown for c in RAW), repr(shown)
    assert "␛[2Jsport" in outputs[0].output and "␛[2Jsport" in outputs[1].output
    assert "Error: " in outputs[-1].output and "␛[2Jmissing.txt" in outputs[-1].output


def test_a_huge_cell_in_a_streamed_file_is_cut_with_a_warning(tmp_path: Path) -> None:
    rows = [row for _ in range(3) for row in tiny_rows()]
    rows.insert(5, (" ".join(["inflation"] * 250_000), "economy"))  # 2.5 MB, past the old 1 MB limit
    data = write_csv(tmp_path / "big.csv", ["headline", "topic"], rows)
    result = run("train", data, "--stream", "-o", tmp_path / "m.model")
    assert result.exit_code == 0, result.output
    assert "1 headline(s) longer than 1000 characters (first: line 7); kept their first 1000" in result.output


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_more_topics_than_a_tenth_of_the_rows_is_refused_before_any_work(tmp_path: Path, stream: str) -> None:
    rows = [(f"Headline {i} about thing {i % 7}", f"label-{i // 2}") for i in range(600)]  # 300 topics
    data = write_csv(tmp_path / "ids.csv", ["headline", "topic"], rows)
    result = run("train", data, stream, "-o", tmp_path / "m.model")
    _one_line_error(result, "300 topics for 600 rows (2.0 a topic): too many to learn")
    assert "pass --label-col" in result.output
    _one_line_error(run("evaluate", data, "--folds", "2"), "300 topics for 600 rows")


def test_gzip_and_refusals_on_a_pipe(tiny_model_path: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    command = [
        sys.executable,
        "-m",
        "classify",
        "predict",
        "-m",
        str(tiny_model_path),
        "-",
        "--format",
        "csv",
    ]
    import gzip

    done = subprocess.run(command, input=gzip.compress(b"Oil prices climb\n"), capture_output=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines()[1].startswith("Oil prices climb,")
    done = subprocess.run(command, input=b"%PDF-1.7\n" + bytes(100), capture_output=True, env=env)
    assert done.returncode == 1 and b"<stdin>: is a PDF document, not text" in done.stderr
