"""Hostile input on the reader side, and hostile text in the audit and tune tables.

Each test failed before the fix. Training and prediction read files through one reader
(:mod:`classify.io.reading`), so most cases check both verbs on the same file.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from classify.atomic import STALE_SECONDS, atomic_path, remove_stale_temp_files
from classify.errors import DataError
from classify.io.labelled import load_labelled
from classify.io.reading import MAX_TEXT_CHARS, InputReport
from classify.io.records import iter_records
from tests.cli.test_cli import run
from tests.conftest import TINY


def records(path: Path, **options: object) -> list[tuple[str, dict[str, object]]]:
    return [(r.headline, r.fields) for r in iter_records([path], **options)]  # type: ignore[arg-type]


def labelled_lines(n_per_topic: int = 3) -> list[tuple[str, str]]:
    """(headline, topic) rows of the tiny corpus, a few per topic."""
    return [(text, topic) for topic, texts in TINY.items() for text in texts[:n_per_topic]]


# Case 2: more cells than the header ----------------------------------------------------------
UNQUOTED = "id,headline\n1,Egypt, Ghana sign Nile water deal\n"


def test_case2_extra_cells_are_an_error_naming_the_line_in_predict_and_train(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,headline,topic\n1,Oil prices climb,economy\n2,Egypt, Ghana sign deal,diplomacy\n")
    message = "in.csv: line 3 has 4 cells but the header has 3; quote a cell that holds a comma"
    with pytest.raises(DataError, match=message):
        records(path)
    with pytest.raises(DataError, match=message):
        load_labelled(path)


def test_case2_cli_predict_exits_1_instead_of_classifying_a_cut_headline(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    path = tmp_path / "in.csv"
    path.write_text(UNQUOTED)
    result = run("predict", path, "--model", tiny_model_path, "-f", "jsonl")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f'Error: {path}: line 2 has 3 cells but the header has 2; quote a cell that holds a comma ("...")\n'
    )


def test_case2_tsv_names_the_tab(tmp_path: Path) -> None:
    path = tmp_path / "in.tsv"
    path.write_text("id\theadline\n1\tOne\textra\n")
    with pytest.raises(
        DataError, match="line 2 has 3 cells but the header has 2; quote a cell that holds a tab"
    ):
        records(path)


def test_case2_rule_short_rows_and_trailing_empty_cells(tmp_path: Path) -> None:
    # The documented rule: missing cells are empty, extra cells are fine only when empty (a trailing
    # comma loses nothing).
    path = tmp_path / "in.csv"
    path.write_text("id,headline,url\n1,Oil prices climb\n2,Cup final,http://x,, \n")
    assert records(path) == [
        ("Oil prices climb", {"id": "1", "headline": "Oil prices climb", "url": ""}),
        ("Cup final", {"id": "2", "headline": "Cup final", "url": "http://x"}),
    ]


def test_case2_a_column_named_twice_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,headline,id\n1,Oil prices climb,2\n")
    with pytest.raises(DataError, match="line 1: the header names column 'id' twice"):
        records(path)
    with pytest.raises(DataError, match="line 1: the header names column 'id' twice"):
        load_labelled(path)


# Case 3: line breaks inside quoted cells -------------------------------------------------------
def test_case3_quoted_line_break_is_a_space_in_train_and_predict(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(
        b'id,headline,topic\n1,"Egypt raises\ninterest rates",economy\n2,"Flu cases\r\nrise",health\n'
    )
    assert [h for h, _ in records(path)] == ["Egypt raises interest rates", "Flu cases rise"]
    assert load_labelled(path).texts == ["Egypt raises interest rates", "Flu cases rise"]


def test_case3_pass_through_columns_stay_byte_for_byte(tmp_path: Path, tiny_model_path: Path) -> None:
    note = 'first line\r\nsecond line\nthird, with "quotes"\r  and a lone CR'
    path = tmp_path / "in.csv"
    quoted = '"' + note.replace('"', '""') + '"'
    path.write_bytes(f'id,headline,note\n7,"Oil prices\nclimb",{quoted}\n8,Cup final,\n'.encode())
    result = run("predict", path, "--model", tiny_model_path, "-f", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["headline"] for r in rows] == ["Oil prices\nclimb", "Cup final"]
    assert [r["note"] for r in rows] == [note, ""]
    assert [r["id"] for r in rows] == ["7", "8"]


def test_lone_cr_line_endings_still_split_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(b"Oil prices climb\rCup final\r\nFlu cases rise")
    assert [h for h, _ in records(path, split=False)] == ["Oil prices climb", "Cup final", "Flu cases rise"]


# Case 8: labels keep their written form ----------------------------------------------------------
def test_case8_jsonl_integer_labels_with_a_null_stay_integers_as_written(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    numbers = {"sport": 1, "economy": 2, "health": 10}
    lines = [json.dumps({"headline": t, "topic": numbers[topic]}) for t, topic in labelled_lines()]
    lines.insert(2, json.dumps({"headline": "A row nobody labelled", "topic": None}))
    path.write_text("\n".join(lines) + "\n")
    data = load_labelled(path)
    assert data.counts() == {"1": 3, "10": 3, "2": 3}
    assert data.skipped == 1
    result = run("train", path, "-o", tmp_path / "m.joblib")
    assert result.exit_code == 0, result.output
    assert "topics (3): 1 3, 10 3, 2 3" in result.stdout
    assert "skipped 1 row(s) with an empty headline or label" in result.stderr


def test_case8_other_json_values_are_their_json_text(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [
        {"headline": "One", "topic": True},
        {"headline": 12, "topic": 2.5},
        {"headline": "Two", "topic": "x"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = load_labelled(path)
    assert (data.texts, data.labels) == (["One", "12", "Two"], ["true", "2.5", "x"])
    # Prediction classifies the same text and passes the JSON values through with their types.
    assert records(path) == [("One", rows[0]), ("12", rows[1]), ("Two", rows[2])]


# Case 9: temporary files of a killed save ---------------------------------------------------------
#: A save that hangs half-written until it is killed: the slowness is a sleep, not a race.
SLOW_SAVE = """
import sys, time
from pathlib import Path
from classify.atomic import atomic_path
with atomic_path(Path(sys.argv[1])) as tmp:
    tmp.write_bytes(b"half a model")
    print(tmp.name, flush=True)
    time.sleep(600)
"""


def _start_slow_save(target: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    name = proc.stdout.readline().strip()  # written once the temp file exists
    assert name, "the slow save did not start"
    return proc, target.parent / name


def test_case9_killed_save_leaves_a_temp_file_the_next_save_removes(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    from classify.pipeline.model import load_model, save_model

    target = tmp_path / "m.joblib"
    target.write_bytes(b"the old model")
    killed, stale = _start_slow_save(target)
    live, busy = _start_slow_save(tmp_path / "other.joblib")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
        assert stale.exists(), "kill -9 cannot clean up: the temp file is left behind"
        assert target.read_bytes() == b"the old model"
        save_model(load_model(tiny_model_path), target)
        assert not stale.exists()
        assert busy.exists(), "a live writer's temp file was removed"
        assert live.poll() is None
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, busy.name])
    finally:
        for proc in (killed, live):
            proc.kill()
            proc.wait(timeout=60)
            assert proc.stdout is not None
            proc.stdout.close()
    assert load_model(target).topics


def test_case9_files_without_a_checkable_owner_go_only_when_old(tmp_path: Path) -> None:
    old = time.time() - STALE_SECONDS - 60
    names = {
        "legacy_old": ".m.joblib.k2j3h4g5.tmp",  # classify 0.1's name, beside its target
        "legacy_new": ".m.joblib.q9w8e7r6.tmp",
        "foreign_old": ".m.joblib.0badc0de-123-abcdefgh.tmp",  # another host's writer
        "foreign_new": ".m.joblib.0badc0de-124-abcdefgh.tmp",
        "other_target_legacy": ".notes.txt.k2j3h4g5.tmp",  # not ours to judge
        "unrelated": "draft.tmp",
    }
    for key, name in names.items():
        (tmp_path / name).write_text("x")
        if key.endswith("_old") or key in ("other_target_legacy", "unrelated"):
            os.utime(tmp_path / name, (old, old))
    removed = remove_stale_temp_files(tmp_path, target="m.joblib")
    assert sorted(p.name for p in removed) == sorted([names["legacy_old"], names["foreign_old"]])
    left = {p.name for p in tmp_path.iterdir()}
    assert left == set(names.values()) - {names["legacy_old"], names["foreign_old"]}


def test_case9_own_process_temp_files_are_never_removed(tmp_path: Path) -> None:
    # Two saves at once from one process (threads): the outer one's file must survive the inner one.
    with atomic_path(tmp_path / "a.txt") as outer:
        outer.write_text("outer")
        with atomic_path(tmp_path / "b.txt") as inner:
            inner.write_text("inner")
        assert outer.exists()
    assert (tmp_path / "a.txt").read_text() == "outer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


# Case 10: a huge cell ------------------------------------------------------------------------
def _long_cell() -> str:
    # Over the csv module's 128 KiB default cell limit, which once made prediction refuse the file.
    return "Oil prices climb again " * 8000


def test_case10_training_cuts_long_headlines_and_warns(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    rows = labelled_lines()
    body = "".join(f'"{t}",{topic}\n' for t, topic in rows[:2])
    rest = "".join(f'"{t}",{topic}\n' for t, topic in rows[2:])
    path.write_text(f'headline,topic\n{body}"{_long_cell()}",economy\n{rest}')
    data = load_labelled(path)
    assert len(data) == len(rows) + 1
    assert [len(t) for t in data.texts if len(t) > 200] == [MAX_TEXT_CHARS]
    assert data.truncated == 1
    assert data.warnings == (
        f"{path}: 1 headline(s) longer than {MAX_TEXT_CHARS} characters (first: line 4); "
        f"kept their first {MAX_TEXT_CHARS}",
    )
    result = run("train", path, "-o", tmp_path / "m.joblib")
    assert result.exit_code == 0, result.output
    assert f"Warning: {data.warnings[0]}" in result.stderr


def test_case10_prediction_classifies_the_first_part_and_passes_the_cell_through(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f'id,headline\n1,"{_long_cell()}"\n2,Cup final\n')
    report = InputReport()
    got = list(iter_records([path], report=report))
    assert [len(r.headline) for r in got] == [MAX_TEXT_CHARS, len("Cup final")]
    assert got[0].fields["headline"] == _long_cell()
    assert report.truncated_rows == 1
    assert report.warnings() == [
        f"{path}: 1 headline(s) longer than {MAX_TEXT_CHARS} characters (first: line 2); "
        f"classified on their first {MAX_TEXT_CHARS}"
    ]


# Case 11: invalid UTF-8 ----------------------------------------------------------------------
def _bad_file(path: Path, bad_line: int, ending: bytes = b"\n") -> Path:
    """Short lines with one bad byte on ``bad_line``: far past the first read buffer."""
    lines = [f"Oil prices climb {i % 7}".encode() + ending for i in range(1, bad_line)]
    lines.append(b"Caf\xe9 owners protest" + ending)
    lines.extend(b"Cup final" + ending for _ in range(3))
    path.write_bytes(b"".join(lines))
    return path


def test_case11_predict_replaces_counts_and_names_the_right_line(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    path = _bad_file(tmp_path / "in.txt", 50_000, ending=b"\r\n")
    result = run("predict", path, "--model", tiny_model_path, "-f", "jsonl", "--no-split")
    assert result.exit_code == 0, result.stderr
    rows = result.stdout.splitlines()
    assert len(rows) == 50_003  # nothing lost, nothing aborted
    assert json.loads(rows[49_999])["headline"] == "Caf\ufffd owners protest"
    assert result.stderr == (
        f"Warning: {path}: 1 line(s) not valid UTF-8 (first: line 50000); "
        "the bad bytes were replaced with U+FFFD\n"
    )


def test_case11_table_input_counts_physical_lines_not_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'id,headline\n1,"two\nlines"\n2,"Caf\xe9 opens"\n3,ok\n4,\xff\n')
    report = InputReport()
    assert [r.headline for r in iter_records([path], report=report)] == [
        "two lines",
        "Caf\ufffd opens",
        "ok",
        "\ufffd",
    ]
    assert report.sources[str(path)].replaced_lines == 2
    assert report.sources[str(path)].first_replaced == 4


def test_case11_training_refuses_and_names_the_right_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    head = "".join(f'"{t}",{topic}\r\n' for t, topic in labelled_lines(8)) * 2000  # 48,000 lines
    path.write_bytes(b"headline,topic\r\n" + head.encode() + b'"multi\r\nline",sport\r\nCaf\xe9,economy\r\n')
    with pytest.raises(DataError, match=r"d.csv: line 48004 is not valid UTF-8 \(byte 0xe9\); re-save"):
        load_labelled(path)


def test_case11_stdin_is_read_the_same(tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"Oil prices climb\n\xffCup final\n"), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    report = InputReport()
    assert [r.headline for r in iter_records(["-"], report=report)] == ["Oil prices climb", "\ufffdCup final"]
    assert report.sources["<stdin>"].first_replaced == 2


# Case 1 for the audit and tuning tables ------------------------------------------------------------
HOSTILE = (
    "Bank [/] up [bold]x[/bold] :warning: \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 \x1b[2J\u202eend"
)


def _render(table: object) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=400, force_terminal=False, color_system=None).print(table)
    return out.getvalue()


def test_case1_audit_tables_show_data_as_text_without_controls() -> None:
    from classify.evaluation.auditing import Audit, Conflict
    from classify.evaluation.evaluate import OutOfFoldRow
    from classify.evaluation.render import audit_tables

    row = OutOfFoldRow(3, 1, HOSTILE, "[/]label", "[red]x", 0.9, 0.1)
    result = Audit(
        issues=[row], conflicts=[Conflict(1, (row, row))], thresholds={}, n=5, folds=2, split="", source="x"
    )
    text = "".join(_render(t) for t in audit_tables(result))
    for shown in ("Bank [/] up [bold]x[/bold] :warning:", "[/]label", "[red]x", "]8;;https://evil.example"):
        assert shown in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "⚠" not in text  # not turned into an emoji


def test_case1_leaderboard_title_with_markup_in_the_file_name() -> None:
    from classify.evaluation.render import leaderboard_table
    from classify.evaluation.tuning import Trial, TuneResult
    from classify.pipeline.settings import DEFAULT_SETTINGS

    trial = Trial(DEFAULT_SETTINGS.as_params(), 10, (0.5, 0.7), 1.0, 1, 0)
    result = TuneResult(
        leaderboard=[trial], full_rows=10, folds=2, split="grouped", candidates=1, rounds=1, seconds=1.0,
        budget=10.0, stopped=False, data_hash="0", source="x",
    )  # fmt: skip
    text = _render(leaderboard_table(result, title="data[/]/[bold]x.csv: 2-fold"))
    assert "data[/]/[bold]x.csv: 2-fold" in text
    assert "0.600 ± 0.100" in text


def test_sniffing_skips_leading_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "feed.data"  # no telling extension: the first non-blank line says JSON Lines
    path.write_text(
        '\n  \n{"title": "Oil prices climb", "topic": "economy"}\n{"title": "Cup final", "topic": "sport"}\n'
    )
    assert load_labelled(path).texts == ["Oil prices climb", "Cup final"]
    assert [h for h, _ in records(path, text_col="title")] == ["Oil prices climb", "Cup final"]
