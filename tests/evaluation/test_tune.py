"""Tuning: budgets, the search within one, the settings file and train --config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify import DEFAULT_PARAMS, LabelledData, load_labelled, load_model
from classify.cli import app
from classify.errors import BudgetError, ConfigError
from classify.evaluation.render import leaderboard_text
from classify.evaluation.tuning import PipelineEstimator, Trial, TuneResult, parse_budget, save_config, tune
from classify.pipeline.settings import load_settings_file as load_config
from tests.conftest import tiny_rows

runner = CliRunner()


def tiny() -> LabelledData:
    rows = tiny_rows()
    return LabelledData(texts=[t for t, _ in rows], labels=[label for _, label in rows], source="tiny")


# Budgets ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("1h", 3600), ("1.5h", 5400), ("90", 90), (" 2M ", 120)]
)
def test_parse_budget(text: str, seconds: float) -> None:
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "-5m", "0s", "m"])
def test_parse_budget_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="budget"):
        parse_budget(text)


# The estimator ---------------------------------------------------------------------------------
def test_estimator_parameters_are_the_pipeline_settings() -> None:
    assert PipelineEstimator().get_params() == DEFAULT_PARAMS
    est = PipelineEstimator().set_params(classifier="logreg", char_ngrams=None)
    assert est.get_params()["classifier"] == "logreg"


def test_search_space_covers_every_setting_and_the_blend_bias() -> None:
    from classify.evaluation.tuning import search_space
    from classify.pipeline.settings import Settings

    space = search_space()
    assert set(space) == set(Settings.names())
    assert set(space["blend_bias"]) == {True, False}
    # Every value searched is a valid setting (Settings checks it on construction).
    Settings(classifier="stack", blend_bias=False, views=space["views"][0])


def test_estimator_fits_and_predicts() -> None:
    data = tiny()
    est = PipelineEstimator(char_ngrams=None).fit(data.texts, data.labels)
    assert sorted(est.classes_) == ["economy", "health", "sport"]
    assert est.predict_proba(["Inflation slows"]).shape == (1, 3)


# The search ------------------------------------------------------------------------------------
class FakeClock:
    """A clock that moves ``step`` seconds each time it is read, whatever the machine's speed.

    The budget logic is tested against it, so that the tests pass on a slow, loaded machine.
    """

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def perf_counter(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    import types

    import classify.evaluation.tuning

    fake = FakeClock(step=0.01)
    monkeypatch.setattr(
        classify.evaluation.tuning, "time", types.SimpleNamespace(perf_counter=fake.perf_counter)
    )
    return fake


@pytest.fixture
def result(clock: FakeClock) -> TuneResult:
    return tune(tiny(), budget=2.0, folds=3)


def test_search_stays_within_budget_and_scores_the_defaults(result: TuneResult) -> None:
    assert result.seconds < 2.1  # never starts a fit that the clock says would overrun (+ last reads)
    assert result.candidates > 1
    assert result.default is not None and result.default.train_rows == result.full_rows
    assert result.folds == 3 and result.split == "grouped k-fold"
    assert {id(t) for t in result.leaderboard} <= {id(t) for t in result.trials}


def test_parallel_folds_give_the_same_scores() -> None:
    # One round each, with time to spare: the same settings, scored on the same folds.
    one, two = (tune(tiny(), budget=120, folds=3, n_jobs=n, max_rounds=1) for n in (1, 2))
    assert not one.stopped and one.rounds == 1
    assert [(t.params, t.scores) for t in one.leaderboard] == [(t.params, t.scores) for t in two.leaderboard]


def test_leaderboard_is_ranked(result: TuneResult) -> None:
    board = result.leaderboard
    keys = [(-t.train_rows, -t.mean) for t in board]
    assert keys == sorted(keys)
    assert all(len(t.scores) == 3 and 0 <= t.mean <= 1 for t in board)
    text = leaderboard_text(result, top=3)
    assert text.splitlines()[0].split()[:3] == ["rank", "macro-F1", "rows"]
    assert len(text.splitlines()) == 4


def test_budget_spent_before_anything_is_scored(clock: FakeClock) -> None:
    with pytest.raises(BudgetError, match="ran out before a single setting was scored"):
        tune(tiny(), budget=0.001, folds=3)


def test_small_budget_stops_mid_round(clock: FakeClock) -> None:
    result = tune(tiny(), budget=0.5, folds=3)
    assert result.stopped and result.leaderboard


def test_unknown_search_setting() -> None:
    with pytest.raises(ValueError, match="unknown pipeline setting"):
        tune(tiny(), budget=1, folds=3, space={"alpha": [1, 2]})


# Settings files ----------------------------------------------------------------------------------
def test_config_round_trip(result: TuneResult, tmp_path: Path) -> None:
    path = save_config(result, tmp_path / "best.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert set(raw["params"]) == set(DEFAULT_PARAMS)
    assert raw["grouped"] is True and raw["folds"] == 3
    assert raw["data_hash"] == tiny().fingerprint()
    config = load_config(path)
    assert config.params == result.best.params  # tuples come back as tuples
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no leftovers


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", 'expected a JSON object with a "params" object'),
        ('{"params": {"C": 1, "alpha": 2}}', "unknown setting(s) alpha in params"),
        ('{"params": {}, "parms": {}}', "unknown key(s) parms"),
        ('{"params": {"C": -1}}', "params.C is -1; expected a positive number"),
        ('{"params": {"word_ngrams": [2, 1]}}', "params.word_ngrams is [2, 1]"),
        ('{"params": {"classifier": "forest"}}', 'params.classifier is "forest"'),
        ('{"params": {"sublinear_tf": "yes"}}', "params.sublinear_tf"),
    ],
)
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=f"^{path}: ") as info:
        load_config(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_partial_config_keeps_other_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '{"params": {"char_ngrams": null, "C": 2}}'))
    assert config.params == {"char_ngrams": None, "C": 2.0}


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such settings file"):
        load_config(tmp_path / "nope.json")


def test_trial_statistics() -> None:
    trial = Trial(params=dict(DEFAULT_PARAMS), train_rows=10, scores=(0.5, 0.7), seconds=1, round=1, rung=0)
    assert trial.mean == pytest.approx(0.6)
    assert trial.std == pytest.approx(0.1)
    assert trial.is_default


# Command line ----------------------------------------------------------------------------------
def test_cli_tune_then_train_with_config(tiny_csv: Path, tmp_path: Path, clock: FakeClock) -> None:
    best = tmp_path / "best.json"
    result = runner.invoke(
        app, ["tune", str(tiny_csv), "--budget", "2s", "-k", "3", "-j", "1", "-o", str(best)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["rank", "macro-F1", "rows"]  # plain text: not a terminal
    assert any(line.startswith("best: ") for line in lines)
    assert f"saved {best}" in result.stdout
    saved = json.loads(best.read_text(encoding="utf-8"))

    model_path = tmp_path / "m.joblib"
    trained = runner.invoke(app, ["train", str(tiny_csv), "--config", str(best), "-o", str(model_path)])
    assert trained.exit_code == 0, trained.output
    assert "Warning" not in trained.stderr  # same data as tuned on
    params = load_model(model_path).meta["params"]
    assert params == saved["params"]


def test_cli_train_warns_when_config_was_tuned_on_other_data(tiny_csv: Path, tmp_path: Path) -> None:
    best = write(tmp_path, '{"params": {"C": 1.0}, "data_hash": "abc"}')
    model = str(tmp_path / "m.joblib")
    result = runner.invoke(app, ["train", str(tiny_csv), "--config", str(best), "-o", model])
    assert result.exit_code == 0, result.output
    assert "tuned on other data" in result.stderr
    assert load_model(tmp_path / "m.joblib").meta["params"]["C"] == 1.0


def test_cli_train_bad_config_is_one_error_line(tiny_csv: Path, tmp_path: Path) -> None:
    best = write(tmp_path, '{"params": {"alpha": 1}}')
    model = str(tmp_path / "m.joblib")
    result = runner.invoke(app, ["train", str(tiny_csv), "--config", str(best), "-o", model])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {best}: unknown setting(s) alpha")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.joblib").exists()


def test_cli_default_with_config_is_a_usage_error(tmp_path: Path) -> None:
    best = write(tmp_path, '{"params": {}}')
    result = runner.invoke(app, ["train", "--default", "--config", str(best)])
    assert result.exit_code == 2
    assert "drop --config" in result.stderr


@pytest.mark.parametrize("budget", ["ten", "0s", "5x"])
def test_cli_bad_budget_is_a_usage_error(tiny_csv: Path, budget: str) -> None:
    result = runner.invoke(app, ["tune", str(tiny_csv), "--budget", budget])
    assert result.exit_code == 2
    assert "budget" in result.stderr and budget in result.stderr


def test_cli_tune_data_error(tiny_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["tune", str(tiny_csv), "--budget", "1s", "--folds", "20"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "20 folds" in result.stderr


def test_cli_lists_tune_and_audit() -> None:
    result = runner.invoke(app, ["--help"])
    assert "tune" in result.stdout and "audit" in result.stdout


def test_load_labelled_fixture_matches(tiny_csv: Path) -> None:
    # The CLI tests above rely on the CSV fixture holding the same rows as tiny().
    assert load_labelled(tiny_csv).fingerprint() == tiny().fingerprint()
