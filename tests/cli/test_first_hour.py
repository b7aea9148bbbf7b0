"""What a new user meets in the first hour: rare topics, one flag convention, progress, where a model
goes, labels in another case or another label set, a mistyped model path, the labelling command, the
install hints. Through the real command line (typer's runner) on tiny data written here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify.cli import app
from tests.conftest import tiny_rows, write_csv


def run(*args: object, input: str | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


@pytest.fixture
def rare_csv(tmp_path: Path) -> Path:
    """The tiny set plus a topic with two rows: train accepts it; evaluate must too."""
    rows = [
        *tiny_rows(),
        ("Orchestra opens its winter season", "culture"),
        ("Gallery shows new prints", "culture"),
    ]
    return write_csv(tmp_path / "rare.csv", ["headline", "topic"], rows)


# Rare topics: train and evaluate agree ---------------------------------------------------------------


def test_train_names_a_topic_with_few_rows(rare_csv: Path, tmp_path: Path) -> None:
    result = run("train", rare_csv, "-o", tmp_path / "m.model")
    assert result.exit_code == 0, result.output
    assert "Warning:" in result.stderr and "'culture' (2) has fewer than 5 rows" in result.stderr
    assert "--min-count N drops topics" in result.stderr


@pytest.mark.parametrize("command", [("evaluate",), ("audit", "-f", "csv")])
def test_evaluate_and_audit_run_on_any_file_train_accepts(rare_csv: Path, command: tuple[str, ...]) -> None:
    result = run(*command, rare_csv, "--folds", "3")
    assert result.exit_code == 0, result.output
    assert "'culture' (2) has fewer rows than the 3 folds" in result.stderr
    assert "its 2 row(s) train every fold and are never tested" in result.stderr


def test_rare_topics_rows_train_every_fold_and_are_never_tested(rare_csv: Path) -> None:
    from classify.evaluation.splits import make_splits
    from classify.io.labelled import load_labelled

    data = load_labelled(rare_csv)
    rare = {i for i, label in enumerate(data.labels) if label == "culture"}
    with pytest.warns(UserWarning, match="never tested"):
        splits = make_splits(data, folds=3)
    for train, test in splits.pairs:
        assert rare <= set(train.tolist())
        assert not rare & set(test.tolist())
    assert splits.settings["untested_topics"] == {"culture": 2}


def test_min_count_drops_small_topics_with_a_line(rare_csv: Path, tmp_path: Path) -> None:
    result = run("train", rare_csv, "--min-count", "3", "-o", tmp_path / "m.model")
    assert result.exit_code == 0, result.output
    assert "dropped 1 topic(s) with fewer than 3 rows: culture (2)" in result.stderr
    assert "culture" not in result.stdout
    evaluated = run("evaluate", rare_csv, "--folds", "3", "--min-count", "3")
    assert evaluated.exit_code == 0 and "never tested" not in evaluated.stderr
    assert "dropped 1 topic(s)" in evaluated.stderr


# Progress --------------------------------------------------------------------------------------------


def test_the_library_reports_its_steps(tiny_csv: Path) -> None:
    from classify.evaluation.evaluate import cross_validate
    from classify.io.labelled import load_labelled
    from classify.progress import reporting

    steps = []
    with reporting(steps.append):
        cross_validate(load_labelled(tiny_csv), folds=3)
    said = [s.what for s in steps]
    assert said[0] == f"reading {tiny_csv}"
    assert any("grouping near-duplicates" in w for w in said)
    assert [(s.done, s.total) for s in steps if s.what.startswith("fold")] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert any(w.startswith("features of") for w in said) and any(w.startswith("fitting") for w in said)


def test_progress_only_on_a_terminal_and_never_with_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    from classify.cli import _common

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    monkeypatch.setitem(_common._state, "quiet", False)
    assert _common.show_progress()
    monkeypatch.setitem(_common._state, "quiet", True)
    assert not _common.show_progress()


def test_no_progress_text_when_stderr_is_not_a_terminal(tiny_csv: Path) -> None:
    result = run("evaluate", tiny_csv, "--folds", "3")
    assert result.exit_code == 0
    assert "fold" not in result.stderr and "━" not in result.stderr


# One flag convention ---------------------------------------------------------------------------------


def test_output_is_o_everywhere_and_old_spellings_warn(tiny_csv: Path, tmp_path: Path) -> None:
    new = run("train", tiny_csv, "--output", tmp_path / "a.model")
    assert new.exit_code == 0 and "deprecated" not in new.stderr
    old = run("train", tiny_csv, "--model", tmp_path / "b.model")
    assert old.exit_code == 0
    assert (tmp_path / "b.model").is_file()
    assert "Warning: train --model is deprecated and will be removed after 0.2; use -o/--output" in old.stderr
    folds = run("evaluate", tiny_csv, "-k", "3")
    assert folds.exit_code == 0
    assert "Warning: -k for --folds is deprecated" in folds.stderr
    assert "3 folds" in folds.stdout


def test_k_is_only_top_k_and_n_is_only_a_count_of_rows() -> None:
    from typer.main import get_command

    commands = get_command(app).commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        for param in command.params:
            shown = [o for o in param.opts if not getattr(param, "hidden", False)]
            if "-k" in shown:
                assert "--top-k" in shown, (name, param.opts)
            if "-n" in shown:
                assert "--top" in shown, (name, param.opts)
            if "-o" in shown:
                assert "--output" in shown, (name, param.opts)
            if "-m" in shown:
                assert "--model" in shown, (name, param.opts)
    assert "-n" in next(p for p in commands["tune"].params if p.name == "top").opts
    assert "-o" in next(p for p in commands["predict"].params if p.name == "output_dir").opts


def test_one_placeholder_style() -> None:
    from typer.main import get_command

    for name in sorted(get_command(app).commands):  # type: ignore[attr-defined]
        text = run(name, "--help").stdout
        assert not re.search(r"<[a-z ]+>", text), (name, text)  # typer's <str>, <file>, <int range>
        metavars = re.findall(r"^\s+(?:-\w, )?--[\w-]+ ([^\s]+)", text, re.M)
        assert all(m.isupper() or m.startswith("/") for m in metavars), (name, metavars)


def test_help_says_which_columns_are_found_and_the_ticker_separator() -> None:
    text = " ".join(run("predict", "--help").stdout.split())
    assert "headline, title, text" in text
    assert "3 or more spaces" in text and "|" in text
    train = " ".join(run("train", "--help").stdout.split())
    assert "label, topic, category" in train


# Where a model goes ----------------------------------------------------------------------------------


def test_train_without_o_writes_name_model_in_the_current_folder(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classify.pipeline.model import load_model
    from classify.pipeline.modelfile import is_model_file

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run("train", tiny_csv)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("saved tiny.model")
    assert is_model_file((work / "tiny.model").read_bytes()[:8])
    assert load_model(work / "tiny.model").topics == ["economy", "health", "sport"]


# Labels in another case, another label set -----------------------------------------------------------


def test_evaluate_matches_labels_that_differ_only_in_case(tiny_model_path: Path, tmp_path: Path) -> None:
    rows = [(h, t.capitalize() if i % 2 else t.upper()) for i, (h, t) in enumerate(tiny_rows())]
    path = write_csv(tmp_path / "cased.csv", ["headline", "topic"], rows)
    result = run("evaluate", path, "-m", tiny_model_path)
    assert result.exit_code == 0, result.output
    assert "labels matched to the model's topics ignoring case" in result.stderr
    assert "accuracy 1.000" in result.stdout


def test_evaluate_label_map_scores_another_label_set(tiny_model_path: Path, tmp_path: Path) -> None:
    names = {"economy": "Business", "health": "Wellness", "sport": "Sports"}
    path = write_csv(tmp_path / "other.csv", ["headline", "topic"], [(h, names[t]) for h, t in tiny_rows()])
    refused = run("evaluate", path, "-m", tiny_model_path)
    assert refused.exit_code == 1 and "--label-map" in refused.stderr
    mapped = run(
        "evaluate",
        path,
        "-m",
        tiny_model_path,
        "--label-map",
        "Business=economy,Wellness=health,Sports=sport",
    )
    assert mapped.exit_code == 0, mapped.output
    assert "accuracy 1.000" in mapped.stdout
    mapping = tmp_path / "map.csv"
    mapping.write_text("label,topic\nBusiness,economy\nWellness,health\nSports,sport\n", encoding="utf-8")
    from_file = run("evaluate", path, "-m", tiny_model_path, "--label-map", mapping)
    assert from_file.exit_code == 0 and "accuracy 1.000" in from_file.stdout
    bad = run("evaluate", path, "-m", tiny_model_path, "--label-map", "Business")
    assert bad.exit_code == 1 and "--label-map: 'Business' is not LABEL=TOPIC" in bad.stderr


# A mistyped model path -------------------------------------------------------------------------------


def test_a_mistyped_model_path_names_the_close_files(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ag.model").write_bytes(tiny_model_path.read_bytes())
    (tmp_path / "bbc.model").write_bytes(tiny_model_path.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = run("predict", "-m", "ag.mdoel", "-", input="Stocks fall\n")
    assert result.exit_code == 1
    assert result.stderr == "Error: ag.mdoel: no such model file; did you mean ag.model?\n"
    far = run("predict", "-m", "zzz.model", "-", input="Stocks fall\n")
    assert "train one with 'classify train DATA -o zzz.model'" in far.stderr


# classify label's train command keeps the original rows ----------------------------------------------


def test_the_label_train_command_keeps_the_model_s_own_training_file(tiny_csv: Path, tmp_path: Path) -> None:
    from classify import load_labelled, train
    from classify.labelling.session import original_training_file, train_command

    model = train(load_labelled(tiny_csv)).model
    original, missing = original_training_file(model)
    assert original == tiny_csv and missing is None
    argv = shlex.split(train_command(tmp_path / "labels.csv", tmp_path / "pool.txt", original=original))
    assert argv[2:4] == [str(tmp_path / "labels.csv"), str(tiny_csv)]
    # The printed command trains: the answers and the original file as one.
    answers = write_csv(tmp_path / "labels.csv", ["headline", "topic"], tiny_rows()[:6])
    result = run("train", answers, tiny_csv, "-o", tmp_path / "both.model")
    assert result.exit_code == 0, result.output
    assert f"trained on {len(tiny_rows()) + 6} rows" in result.stdout
    moved = tmp_path / "gone.csv"
    tiny_csv.rename(moved)
    assert original_training_file(model)[0] is None
    assert "not at hand" in (original_training_file(model)[1] or "")


# Install hints ---------------------------------------------------------------------------------------


def test_install_hints_never_name_the_index_s_classify(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    from classify import paths

    root = Path(__file__).resolve().parents[2]
    name = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    assert name == paths.DISTRIBUTION == "classify-headlines"
    monkeypatch.chdir(root)
    assert paths.install_hint("serve") == "pip install '.[serve]'"
    monkeypatch.setattr(paths, "is_source_checkout", lambda: False)
    assert paths.install_hint("serve") == "pip install 'classify-headlines[serve]'"
    for path in (root / "classify").rglob("*.py"):
        assert "classify[" not in path.read_text(encoding="utf-8"), path


def test_version_is_0_2() -> None:
    result = run("--version")
    assert result.stdout == "classify 0.2.0\n"
