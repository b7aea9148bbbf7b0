from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from classify import DataError, cross_validate, evaluate_model, load_labelled, load_model, train_and_test
from classify.cli import app
from classify.evaluation.render import evaluation_text
from classify.evaluation.splits import SPLIT_DATE, SPLIT_GROUPED, SPLIT_PLAIN, Splits, make_splits
from tests.conftest import TINY, cli_message, tiny_rows, write_csv


def test_cross_validation_shape(tiny_csv: Path) -> None:
    result = cross_validate(load_labelled(tiny_csv), folds=4).evaluation
    d = result.to_dict()
    assert d["n"] == 24
    assert 0 <= d["accuracy"] <= 1 and 0 <= d["macro_f1"] <= 1
    assert set(d["per_topic"]) == {"economy", "health", "sport"}
    assert set(d["per_topic"]["sport"]) == {"precision", "recall", "f1", "support"}
    assert d["confusion"]["labels"] == ["economy", "health", "sport"]
    assert sum(map(sum, d["confusion"]["matrix"])) == 24


def test_too_many_folds_for_a_topic(tiny_csv: Path) -> None:
    with pytest.raises(DataError, match="fewer rows than the 10 folds asked"):
        cross_validate(load_labelled(tiny_csv), folds=10)


def test_held_out_model(tiny_model_path: Path, tiny_csv: Path) -> None:
    result = evaluate_model(load_model(tiny_model_path), load_labelled(tiny_csv))
    assert result.mode == "held-out"
    assert result.accuracy > 0.9  # its own training data: a sanity check, not a figure


def test_train_and_test(tiny_csv: Path) -> None:
    data = load_labelled(tiny_csv)
    assert train_and_test(data, data).mode == "train/test"


def test_labels_unknown_to_model(tiny_model_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("headline,topic\nA thing,weather\nAnother,cars\n", encoding="utf-8")
    with pytest.raises(DataError, match="none of its labels"):
        evaluate_model(load_model(tiny_model_path), load_labelled(path))


# Leakage-aware splits ------------------------------------------------------------------------
# Reworded copies of six TINY headlines: the same stories told twice.
COPIES = {
    "Ahly beat Zamalek in the Cairo derby": "Ahly beat Zamalek 2-1 in Cairo derby",
    "Coach sacked after third straight league defeat": "Coach sacked after a third straight league loss",
    "Central bank raises interest rates by two points": "Central bank raises rates by two points",
    "Oil prices climb on supply worries": "Oil prices climb again on supply worries",
    "Ministry launches a vaccination campaign against polio": "Ministry launches polio vaccination campaign",
    "Measles outbreak reported in three villages": "Measles outbreak reported in three more villages",
}


def with_copies() -> list[tuple[str, str]]:
    rows = tiny_rows()
    topic = dict(rows)
    return rows + [(copy, topic[original]) for original, copy in COPIES.items()]


def fold_of_each_row(splits: Splits, n: int) -> list[int]:
    fold = [-1] * n
    for number, (_, test_idx) in enumerate(splits.pairs):
        for i in test_idx:
            fold[i] = number
    return fold


@pytest.fixture
def copies_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "copies.csv", ["headline", "topic"], with_copies())


def test_grouped_split_keeps_each_story_in_one_fold(copies_csv: Path) -> None:
    data = load_labelled(copies_csv)
    splits = make_splits(data, folds=4)
    assert splits.split == SPLIT_GROUPED
    fold = fold_of_each_row(splits, len(data))
    assert -1 not in fold  # k-fold tests every row once
    for original, copy in COPIES.items():
        assert fold[data.texts.index(original)] == fold[data.texts.index(copy)], original


def test_plain_split_lets_copies_straddle_folds(copies_csv: Path) -> None:
    data = load_labelled(copies_csv)
    splits = make_splits(data, folds=4, group=False)
    assert splits.split == SPLIT_PLAIN
    fold = fold_of_each_row(splits, len(data))
    apart = [o for o, c in COPIES.items() if fold[data.texts.index(o)] != fold[data.texts.index(c)]]
    assert apart  # what grouping exists to prevent


def test_cross_validate_reports_near_duplicates(copies_csv: Path) -> None:
    data = load_labelled(copies_csv)
    grouped = cross_validate(data, folds=4).evaluation
    plain = cross_validate(data, folds=4, group=False).evaluation
    assert grouped.split == SPLIT_GROUPED and plain.split == SPLIT_PLAIN
    for result in (grouped, plain):
        d = result.to_dict()
        assert d["near_duplicates"]["rows_in_multi_row_groups"] == 2 * len(COPIES)
        assert d["near_duplicates"]["multi_row_groups"] == len(COPIES)
        assert d["n"] == len(data)
    assert grouped.settings["grouped"] is True and plain.settings["grouped"] is False
    assert grouped.settings["folds"] == 4 and "params" in grouped.settings
    text = evaluation_text(grouped, source="copies.csv")
    assert "12 rows in 6 multi-row groups, each group in one fold" in text
    assert "--no-group" in evaluation_text(plain, source="copies.csv")


def test_too_few_stories_for_the_folds(tmp_path: Path) -> None:
    # Every headline of a topic is the same story: only 2 groups for 3 folds.
    rows = [(f"Oil prices climb on supply worries {'!' * i}", "economy") for i in range(4)]
    rows += [(f"Measles outbreak reported in villages {'!' * i}", "health") for i in range(4)]
    data = load_labelled(write_csv(tmp_path / "same.csv", ["headline", "topic"], rows))
    with pytest.raises(DataError) as info:
        cross_validate(data, folds=3)
    assert re.search(
        r"only 2 distinct stories .* for 3 folds; pass a smaller --folds, or --no-group",
        cli_message(info.value),
    )
    assert str(info.value).endswith("pass a smaller folds, or group=False")
    assert cross_validate(data, folds=3, group=False).evaluation.n == 8


def test_a_group_bigger_than_a_fold_is_refused(tmp_path: Path) -> None:
    # Half the rows are one story retold: the fold that tests it would train on the few rows left.
    rows = [(f"Oil prices climb on supply worries {'!' * i}", "economy") for i in range(6)]
    rows += [
        ("Measles outbreak reported in villages", "health"),
        ("New clinic opens for heart patients", "health"),
        ("Striker scores twice in cup final", "sport"),
        ("Coach quits after third straight defeat", "sport"),
        ("Sprinter breaks the national record", "sport"),
        ("Vaccine trial enrols thousands of children", "health"),
    ]
    data = load_labelled(write_csv(tmp_path / "chained.csv", ["headline", "topic"], rows))
    with pytest.raises(DataError) as info:
        cross_validate(data, folds=3)
    assert re.search(
        r"joined 6 of 12 rows into one group, more than a fold holds.*higher --group-threshold \(now 0.5\) "
        r"or --no-group",
        cli_message(info.value),
    )
    assert cross_validate(data, folds=3, group=False).evaluation.n == 12


def test_cross_validate_keeps_the_out_of_fold_predictions(tiny_csv: Path) -> None:
    oof = cross_validate(load_labelled(tiny_csv), folds=4).oof
    predicted, proba, topics = oof.predicted, oof.proba, oof.topics
    assert len(predicted) == proba.shape[0] == 24 and topics == ["economy", "health", "sport"]


# Date split ----------------------------------------------------------------------------------
def dated_rows() -> list[tuple[str, str, str]]:
    # Row i of each topic is published on day i+1 of January: days 7 and 8 are the newest.
    return [
        (text, topic, f"2024-01-{i + 1:02d}") for topic, texts in TINY.items() for i, text in enumerate(texts)
    ]


@pytest.mark.parametrize("column", ["date", "Published", "time"])
def test_date_split_tests_on_the_newest_rows(tmp_path: Path, column: str) -> None:
    data = load_labelled(write_csv(tmp_path / "d.csv", ["headline", "topic", column], dated_rows()))
    splits = make_splits(data, split_by_date=True)
    ((train_idx, test_idx),) = splits.pairs
    dates = [row[2] for row in dated_rows()]
    assert max(dates[i] for i in train_idx) < min(dates[i] for i in test_idx)
    # ceil(24 * 0.2) = 5 rows asked; the cut-off day (Jan 7) goes whole to the test side: 6 rows.
    assert sorted({dates[i] for i in test_idx}) == ["2024-01-07", "2024-01-08"]
    assert len(test_idx) == 6 and len(train_idx) == 18
    assert splits.settings["date_col"] == column and splits.folds is None
    result = cross_validate(data, split_by_date=True).evaluation
    assert result.mode == "date split" and result.split == SPLIT_DATE
    assert result.n == 6 and result.folds is None
    assert result.settings["train_until"].startswith("2024-01-06")
    assert result.settings["test_from"].startswith("2024-01-07")
    assert "tested on the newest 6 from 2024-01-07" in evaluation_text(result, source="d.csv")


def test_date_split_with_named_column(tmp_path: Path) -> None:
    data = load_labelled(write_csv(tmp_path / "d.csv", ["headline", "topic", "when"], dated_rows()))
    with pytest.raises(DataError) as info:
        make_splits(data, split_by_date=True)
    assert re.search(
        r"no date column \(found: headline, topic, when\); pass --date-col", cli_message(info.value)
    )
    assert make_splits(data, split_by_date=True, date_col="when").settings["test_rows"] == 6


def test_date_split_counts_retold_stories(tmp_path: Path) -> None:
    rows = [*dated_rows(), ("Ahly beat Zamalek 2-1 in Cairo derby", "sport", "2024-01-09")]
    data = load_labelled(write_csv(tmp_path / "d.csv", ["headline", "topic", "date"], rows))
    assert make_splits(data, split_by_date=True).settings["test_rows_with_near_duplicate_in_train"] == 1


def test_unreadable_dates(tmp_path: Path) -> None:
    rows = [*dated_rows()[:-1], ("Clinic shortage", "health", "last tuesday")]
    data = load_labelled(write_csv(tmp_path / "d.csv", ["headline", "topic", "date"], rows))
    with pytest.raises(
        DataError, match=r"1 row\(s\) have no readable date in column 'date' \(first: 'last tuesday'\)"
    ):
        make_splits(data, split_by_date=True)


def test_all_rows_on_one_day(tmp_path: Path) -> None:
    rows = [(t, topic, "2024-01-01") for t, topic, _ in dated_rows()]
    data = load_labelled(write_csv(tmp_path / "d.csv", ["headline", "topic", "date"], rows))
    with pytest.raises(DataError, match="nothing older to train on"):
        make_splits(data, split_by_date=True)


# The command line ----------------------------------------------------------------------------
def cli(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_grouped_by_default_and_no_group(copies_csv: Path) -> None:
    grouped = json.loads(cli("evaluate", copies_csv, "--folds", "4", "--format", "json").stdout)
    plain = json.loads(cli("evaluate", copies_csv, "--folds", "4", "--format", "json", "--no-group").stdout)
    assert grouped["split"] == "grouped k-fold" and plain["split"] == "stratified k-fold"
    assert grouped["near_duplicates"]["rows_in_multi_row_groups"] == 12
    text = cli("evaluate", copies_csv, "--folds", "4")
    assert text.exit_code == 0
    assert "near-duplicates (similarity >= 0.50): 12 rows in 6 multi-row groups" in text.stdout


def test_cli_split_by_date(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", ["headline", "topic", "published"], dated_rows())
    result = cli("evaluate", data, "--split-by-date", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "date split" and report["n"] == 6
    assert report["settings"]["date_col"] == "published"


def test_cli_split_by_date_without_a_date_column(tiny_csv: Path) -> None:
    result = cli("evaluate", tiny_csv, "--split-by-date")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tiny_csv}: no date column (found: headline, topic); pass --date-col\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--date-col", "when"), "--date-col is only used with --split-by-date"),
        (("--test", "TINY", "--split-by-date"), "--split-by-date and --report work with cross-validation"),
    ],
)
def test_cli_usage_errors(tiny_csv: Path, extra: tuple[str, ...], message: str) -> None:
    args = [str(tiny_csv) if a == "TINY" else a for a in extra]
    result = cli("evaluate", tiny_csv, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_threshold_default_matches_the_library() -> None:
    from typer.main import get_command

    from classify.evaluation.groups import DUPLICATE_THRESHOLD

    command = get_command(app).commands["evaluate"]  # type: ignore[attr-defined]
    (option,) = [p for p in command.params if p.name == "group_threshold"]
    assert option.default == DUPLICATE_THRESHOLD


def test_report_says_when_the_groups_are_approximate(tiny_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classify.evaluation import groups

    data = load_labelled(tiny_csv)
    exact = cross_validate(data, folds=3).evaluation
    assert exact.near_duplicates is not None and exact.near_duplicates["method"] == "blocked"
    assert "MinHash" not in evaluation_text(exact, source="tiny.csv")
    monkeypatch.setattr(groups, "AUTO_BLOCKED_ROWS", 5)  # the tiny file counts as "large"
    approx = cross_validate(data, folds=3).evaluation
    assert approx.near_duplicates is not None and approx.near_duplicates["method"] == "minhash"
    assert "found by MinHash/LSH" in evaluation_text(approx, source="tiny.csv")
