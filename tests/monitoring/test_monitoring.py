"""Monitoring: reference statistics in the model file, the drift statistics and verdict on tiny
synthetic data, the service's window and detector, and ``classify drift`` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from classify.errors import UsageError
from classify.monitoring.stats import compare, estimate_accuracy, snapshot
from classify.monitoring.window import MonitorWindow, ShiftDetector
from classify.pipeline.model import Model, load_model, save_model
from classify.pipeline.reference import ReferenceStats, leave_one_out_oov, oov_shares
from tests.cli.test_cli import run
from tests.conftest import TINY

TOPICS = ["a", "b", "c", "d"]


def synthetic_proba(rng: np.random.Generator, shares: list[float], n: int, sure: float = 0.8) -> np.ndarray:
    """Probabilities whose top topic follows ``shares`` and whose top probability is about ``sure``."""
    top = rng.choice(len(shares), size=n, p=shares)
    conf = np.clip(rng.normal(sure, 0.08, size=n), 0.3, 0.99)
    proba = np.tile(((1 - conf) / (len(shares) - 1))[:, None], (1, len(shares)))
    proba[np.arange(n), top] = conf
    return proba


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# Reference statistics in the model file ----------------------------------------------------------
def test_reference_stats_round_trip_in_the_model_file(tiny_model_path: Path, tmp_path: Path) -> None:
    model = load_model(tiny_model_path)
    stats = ReferenceStats.from_meta(model.meta)
    assert stats is not None
    assert stats.n == sum(len(v) for v in TINY.values())
    assert set(stats.topic_shares) == set(model.topics)
    assert sum(stats.topic_shares.values()) == pytest.approx(1.0, abs=1e-4)
    assert sum(stats.confidence_counts) == stats.n
    assert all(c <= n for c, n in zip(stats.correct_counts, stats.confidence_counts, strict=True))
    assert stats.oov_rate is not None and 0 < stats.oov_rate < 1
    again = load_model(save_model(model, tmp_path / "again.joblib"))
    assert ReferenceStats.from_meta(again.meta) == stats
    assert len(json.dumps(model.meta["reference"])) < 2000  # small, whatever the training set


def test_logistic_regression_gets_its_reference_from_a_held_out_fit(tiny_csv: Path) -> None:
    from classify import load_labelled, train

    model = train(load_labelled(tiny_csv), params={"classifier": "logreg"}).model
    stats = ReferenceStats.from_meta(model.meta)
    assert stats is not None and stats.source == "held-out fit"
    assert 0 < stats.n < 24


def test_a_model_without_statistics_needs_a_reference(tiny_model_path: Path, tmp_path: Path) -> None:
    from classify.monitoring.drift import drift_files

    model = load_model(tiny_model_path)
    old = Model(model.pipeline, {k: v for k, v in model.meta.items() if k != "reference"})
    old_path = save_model(old, tmp_path / "old.joblib")
    current = write_lines(tmp_path / "current.txt", TINY["sport"])
    with pytest.raises(UsageError, match="no training statistics"):
        drift_files(current, model=load_model(old_path))
    result = run("drift", current, "-m", old_path)
    assert result.exit_code == 2
    assert "give REFERENCE headlines" in result.output
    reference = write_lines(tmp_path / "reference.txt", [t for texts in TINY.values() for t in texts])
    assert drift_files(current, reference, model=load_model(old_path)).current.n == 8


def test_leave_one_out_oov_counts_words_of_one_headline() -> None:
    assert leave_one_out_oov(["red car", "red bus"]) == pytest.approx(0.5)
    assert oov_shares(["Red Bike", ""], frozenset({"red"})).tolist() == [0.5, 0.0]


# The statistics and the verdict on synthetic data -----------------------------------------------
def test_no_shift_is_not_flagged() -> None:
    rng = np.random.default_rng(0)
    before = snapshot(synthetic_proba(rng, [0.25] * 4, 3000), TOPICS)
    after = snapshot(synthetic_proba(rng, [0.25] * 4, 2000), TOPICS)
    report = compare(before, after)
    assert not report.drift and report.reasons == () and report.action == "nothing"
    assert report.topic_test.p_value is not None and report.topic_test.p_value > 0.01
    assert report.js_distance < 0.05


def test_a_shift_in_the_mix_is_flagged_with_its_topic() -> None:
    rng = np.random.default_rng(1)
    before = snapshot(synthetic_proba(rng, [0.25] * 4, 3000), TOPICS)
    after = snapshot(synthetic_proba(rng, [0.45, 0.55 / 3, 0.55 / 3, 0.55 / 3], 2000), TOPICS)
    report = compare(before, after)
    assert report.drift and report.action == "self-train"
    assert report.reasons[0].startswith("topic mix moved") and "): a " in report.reasons[0]
    assert report.topic_test.p_value is not None and report.topic_test.p_value < 1e-6


def test_a_fall_in_confidence_is_flagged_and_asks_for_labels() -> None:
    rng = np.random.default_rng(2)
    before = snapshot(synthetic_proba(rng, [0.25] * 4, 3000, sure=0.85), TOPICS)
    after = snapshot(synthetic_proba(rng, [0.25] * 4, 2000, sure=0.6), TOPICS)
    report = compare(before, after)
    assert report.drift and report.action == "label"
    assert any(r.startswith("confidence fell") for r in report.reasons)
    assert any(r.startswith("estimated accuracy fell") for r in report.reasons)
    assert report.confidence_test.name == "Kolmogorov-Smirnov"
    assert report.current.estimated_accuracy == pytest.approx(0.6, abs=0.02)


def test_accuracy_estimate_follows_the_reference_reliability() -> None:
    # A model that is right half as often as it says in the 0.90-0.95 bin.
    counts = [0] * 20
    correct = [0] * 20
    counts[18], correct[18] = 1000, 460
    stats = ReferenceStats(4, {}, tuple(counts), tuple(correct), 0.92, 0.0, 0.46, None, "test")
    conf = np.full(100, 0.92)
    assert estimate_accuracy(conf, None) == pytest.approx(0.92)
    assert estimate_accuracy(conf, stats) == pytest.approx(0.46, abs=0.01)


# The service's detector and window ----------------------------------------------------------------
def test_detector_stays_quiet_without_change_and_alarms_once_per_episode() -> None:
    rng = np.random.default_rng(3)
    shares = dict.fromkeys(TOPICS, 0.25)
    detector = ShiftDetector(shares, 0.1, budget=100_000)
    for _ in range(400):  # 20,000 headlines, no change
        detector.update(rng.multinomial(50, [0.25] * 4), int(rng.binomial(50, 0.1)), 50)
    assert detector.episodes == 0 and not detector.alarm
    starts = []
    for i in range(100):  # 5,000 headlines with topic a at 45%
        shifted = [0.45, 0.55 / 3, 0.55 / 3, 0.55 / 3]
        if detector.update(rng.multinomial(50, shifted), int(rng.binomial(50, 0.1)), 50):
            starts.append(i)
    assert detector.episodes == 1 and detector.alarm and starts and starts[0] < 20
    assert "a up" in detector.reasons()


def test_window_keeps_the_last_n_headlines() -> None:
    stats = ReferenceStats(
        100, {"a": 0.5, "b": 0.5}, (0,) * 19 + (100,), (0,) * 19 + (90,), 0.97, 0.0, 0.9, 0.1, "test"
    )
    window = MonitorWindow(["a", "b"], frozenset({"known"}), stats, size=4)
    window.observe(["known x", "known", "y z", "known"], ["a", "a", "b", "a"], [0.9, 0.4, 0.8, 0.7])
    window.observe(["known"], ["b"], [0.95])
    snap = window.snapshot()
    assert snap.n == 4 and snap.topic_counts == {"a": 2, "b": 2}
    assert snap.low_confidence == pytest.approx(0.25)
    assert snap.oov_rate == pytest.approx((0 + 1 + 0 + 0) / 4)
    assert window.headlines() == ["known", "y z", "known", "known"]
    assert window.seen == 5 and window.history
    report = window.report()
    assert report is not None and report.current.n == 4
    assert MonitorWindow(["a"], None, None).report() is None


# The command ---------------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    mixed = [t for texts in TINY.values() for t in texts]
    reference = write_lines(tmp_path / "reference.txt", mixed * 5)
    same = write_lines(tmp_path / "same.txt", mixed[::-1] * 5)
    sport = write_lines(tmp_path / "sport.txt", TINY["sport"] * 15)
    return reference, same, sport


def test_drift_command_text(tiny_model_path: Path, files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    reference, same, sport = files
    result = run("drift", reference, sport, "-m", tiny_model_path, "--write-sample", tmp_path / "s.txt")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("drift: true\n  - topic mix moved")
    assert "Jensen-Shannon distance" in result.stdout and "estimated accuracy" in result.stdout
    sample = (tmp_path / "s.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(sample) == sorted(TINY["sport"])  # distinct headlines, a pool for classify label
    quiet = run("drift", reference, same, "-m", tiny_model_path)
    assert quiet.exit_code == 0 and quiet.stdout.startswith("drift: false\n")
    assert "nothing to do" in quiet.stdout


def test_drift_command_json_against_the_model(tiny_model_path: Path, files: tuple[Path, Path, Path]) -> None:
    _, _, sport = files
    result = run("drift", sport, "-m", tiny_model_path, "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["drift"] is True and body["reference_name"] == "the model's training statistics"
    assert body["current"]["n"] == 120 and body["current"]["topic_shares"]["sport"] > 0.9
    assert body["topic_test"]["name"] == "chi-square" and body["topic_test"]["p_value"] < 0.01
    assert body["confidence_test"]["name"] == "chi-square of bins"
    assert body["action"] in ("self-train", "label")


def test_drift_command_refuses_three_files(tiny_model_path: Path, files: tuple[Path, Path, Path]) -> None:
    result = run("drift", *files, "-m", tiny_model_path)
    assert result.exit_code == 2 and "at most two files" in result.output
