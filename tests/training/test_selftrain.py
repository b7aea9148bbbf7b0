"""Self-training (`classify train DATA --unlabelled POOL`) on tiny data written for the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify import load_model
from classify.cli import app
from classify.errors import DataError
from classify.io.labelled import LabelledData
from classify.training.memory import train
from classify.training.selftrain import read_pool, self_train
from tests.conftest import tiny_rows

# A club name the labelled data never mentions, seen in the pool beside sport words only.
POOL = [
    "Zorvex striker scores twice as the club win the cup final",
    "Zorvex coach sacked after league defeat",
    "Zorvex goalkeeper signs a new contract with the club",
    "Zorvex team qualifies for the championship final",
    "Zorvex marathon runner breaks the record",
]


def tiny_data() -> LabelledData:
    rows = tiny_rows()
    return LabelledData([h for h, _ in rows], [t for _, t in rows], source="tiny.csv")


def sport_probability(model, text: str) -> float:  # type: ignore[no-untyped-def]
    return float(model.predict_proba([text])[0][model.topics.index("sport")])


def test_self_training_learns_the_pools_vocabulary() -> None:
    data = tiny_data()
    before = train(data).model
    result = self_train(data, POOL, threshold=0.55, rounds=3, pool_name="pool.txt")
    # Before, the unknown name is a coin toss; after, the pool taught that it goes with sport.
    assert sport_probability(before, "Zorvex") < 0.5
    assert sport_probability(result.model, "Zorvex") > 0.7
    assert result.model.pipeline.predict(["Zorvex"])[0] == "sport"
    assert result.pseudo_labelled == len(POOL)
    assert all(r.counts == {"sport": r.added} for r in result.rounds)
    assert result.n_rows == len(data) and result.pool == len(POOL)
    info = result.model.meta["self_training"]
    assert info["pool"] == "pool.txt" and info["threshold"] == 0.55
    assert [r["added"] for r in info["rounds"]] == [r.added for r in result.rounds]


def test_self_training_stops_when_the_pseudo_labels_stop_changing() -> None:
    result = self_train(tiny_data(), POOL, threshold=0.55, rounds=10)
    assert len(result.rounds) < 10
    assert result.rounds[-1].changed > 0  # the last round kept changed something


def test_a_threshold_nothing_reaches_adds_nothing() -> None:
    result = self_train(tiny_data(), ["Zorvex", "Qwerty plinth"], threshold=1.0, rounds=3)
    assert result.pseudo_labelled == 0
    assert result.model.pipeline.predict(["Zorvex"])[0] in {"sport", "economy", "health"}


def test_rounds_zero_is_plain_training() -> None:
    result = self_train(tiny_data(), POOL, rounds=0)
    assert result.rounds == () and result.pseudo_labelled == 0


def test_pool_headlines_already_labelled_are_ignored() -> None:
    data = tiny_data()
    with pytest.raises(DataError, match="no unlabelled headlines"):
        self_train(data, [data.texts[0], "", data.texts[1]])


@pytest.mark.parametrize(("kwargs", "message"), [({"threshold": 0}, "threshold"), ({"rounds": -1}, "rounds")])
def test_bad_settings_are_named(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        self_train(tiny_data(), POOL, **kwargs)  # type: ignore[arg-type]


def test_read_pool_reads_lines_and_tables(tmp_path: Path) -> None:
    lines = tmp_path / "pool.txt"
    lines.write_text("One headline   with spaces\n\nAnother one\n", encoding="utf-8")
    assert read_pool(lines) == ["One headline with spaces", "Another one"]
    table = tmp_path / "pool.csv"
    table.write_text("id,title\n1,First title\n2,Second title\n", encoding="utf-8")
    assert read_pool(table) == ["First title", "Second title"]


runner = CliRunner()


def test_cli_train_unlabelled(tiny_csv: Path, tmp_path: Path) -> None:
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(POOL) + "\n", encoding="utf-8")
    out = tmp_path / "m.joblib"
    args = ["train", str(tiny_csv), "--unlabelled", str(pool), "--threshold", "0.55", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "round 1: " in result.stderr
    assert "trained on 24 rows" in result.stdout
    assert load_model(out).meta["self_training"]["pool_size"] == len(POOL)


def test_cli_train_unlabelled_table_with_its_own_headline_column(tiny_csv: Path, tmp_path: Path) -> None:
    # The pool of `classify label POOL --text-col lede` (a table whose headline column has an odd
    # name) is read with --pool-text-col, while DATA's own columns are found as usual.
    pool = tmp_path / "pool.csv"
    pool.write_text("id,lede\n" + "".join(f"{n},{h}\n" for n, h in enumerate(POOL)), encoding="utf-8")
    out = tmp_path / "m.joblib"
    base = ["train", str(tiny_csv), "--unlabelled", str(pool), "--threshold", "0.55", "-o", str(out)]
    result = runner.invoke(app, [*base, "--pool-text-col", "lede"])
    assert result.exit_code == 0, result.output
    assert load_model(out).meta["self_training"]["pool_size"] == len(POOL)
    result = runner.invoke(app, [*base, "--pool-text-col", "title"])
    assert result.exit_code == 1 and "title" in result.stderr and "Traceback" not in result.output


def test_cli_train_unlabelled_errors(tiny_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(tiny_csv), "--unlabelled", str(tmp_path / "nope.txt")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.txt'}: no such file"
    result = runner.invoke(app, ["train", "--default", "--unlabelled", str(tiny_csv)])
    assert result.exit_code == 2
    assert "drop --unlabelled" in result.stderr
