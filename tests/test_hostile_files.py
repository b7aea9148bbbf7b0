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
