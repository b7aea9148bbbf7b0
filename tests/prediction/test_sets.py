"""Prediction sets and multi-label training: the coverage guarantee, thresholds, files, CLI and service."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from classify.cli import app
from classify.errors import ModelError, UsageError
from classify.io.labelled import LabelledData, load_labelled
from classify.pipeline.model import Model, load_model, save_model
from classify.pipeline.sets import Conformal, Thresholds, choose_thresholds, label_mask, set_mask
from tests.conftest import write_csv

runner = CliRunner()

#: Tiny multi-label headlines written for these tests: a loan or trade deal between states is
#: economy and diplomacy; a cup final with a sponsor is sport and economy; the others have one topic.
WORDS = {
    "economy": ["bank", "loan", "rates", "inflation", "bond", "budget", "tariff"],
    "diplomacy": ["envoy", "summit", "treaty", "embassy", "talks", "minister", "accord"],
    "sport": ["match", "goal", "league", "cup", "striker", "coach", "final"],
}


def multilabel_rows(n: int = 150, seed: int = 0) -> list[tuple[str, tuple[str, ...]]]:
    rng = np.random.default_rng(seed)
    topics = list(WORDS)
    rows = []
    for i in range(n):
        first = topics[i % 3]
        chosen = [first]
        if rng.random() < 0.35:
            chosen.append(topics[(i + 1 + int(rng.integers(2))) % 3])
        words = [str(rng.choice(WORDS[t])) for t in chosen for _ in range(3)]
        rows.append((" ".join(words) + f" day {i}", tuple(chosen)))
    return rows


def write_multilabel_csv(path: Path, sep: str = "|") -> Path:
    return write_csv(path, ["headline", "topic"], [(h, sep.join(t)) for h, t in multilabel_rows()])


# ------------------------------------------------------------------ the guarantee, on known probabilities


def known_problem(n: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are the truth: each row's topic is drawn from its own probabilities."""
    proba = rng.dirichlet(np.full(k, 0.6), size=n)
    cum = proba.cumsum(axis=1)
    codes = (rng.random(n)[:, None] > cum).sum(axis=1)
    return proba, np.minimum(codes, k - 1)


@pytest.mark.parametrize("coverage", [0.8, 0.9, 0.95])
def test_coverage_holds_on_a_problem_with_known_probabilities(coverage: float) -> None:
    rng = np.random.default_rng(7)
    topics = ["a", "b", "c", "d", "e"]
    cal_proba, cal_codes = known_problem(10_000, 5, rng)
    conformal = Conformal.fit(cal_proba, cal_codes, topics, "test")
    test_proba, test_codes = known_problem(20_000, 5, rng)
    mask = set_mask(test_proba, conformal.cuts(topics, coverage))
    reached = mask[np.arange(len(test_codes)), test_codes].mean()
    assert coverage - 0.015 <= reached <= coverage + 0.025
    assert mask.any(axis=1).all()  # never empty
    per_topic = set_mask(test_proba, conformal.cuts(topics, coverage, per_topic=True))
    held = per_topic[np.arange(len(test_codes)), test_codes]
    for j in range(5):
        assert held[test_codes == j].mean() >= coverage - 0.03


def test_sets_hold_the_best_topic_even_at_low_coverage() -> None:
    proba = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
    mask = set_mask(proba, np.zeros(3))
    assert mask.tolist() == [[True, False, False], [True, False, False]]


def test_coverage_must_be_a_probability() -> None:
    conformal = Conformal({"a": (0.1,), "b": (0.2,)})
    for bad in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(UsageError, match="coverage"):
            conformal.cuts(["a", "b"], bad)


def test_thresholds_maximise_f1_or_reach_the_precision_asked() -> None:
    rng = np.random.default_rng(3)
    proba = rng.random((400, 3))
    proba /= proba.sum(axis=1, keepdims=True)
    truth = proba > 0.3
    chosen = choose_thresholds(proba, truth, ["a", "b", "c"])
    predicted = label_mask(proba, chosen.array(["a", "b", "c"]))
    assert (predicted == truth).mean() > 0.97  # the rule is a threshold, so it is found
    strict = choose_thresholds(proba, truth, ["a", "b", "c"], min_precision=0.99)
    assert strict.rule == "precision >= 0.99"
    kept = label_mask(proba, strict.array(["a", "b", "c"]))
    assert ((kept & truth).sum(axis=0) / kept.sum(axis=0) >= 0.97).all()


# ------------------------------------------------------------------ multi-label files and models


def test_multilabel_csv_and_jsonl(tmp_path: Path) -> None:
    csv_path = write_csv(
        tmp_path / "m.csv",
        ["headline", "topic"],
        [
            ("Loan deal signed", "economy|diplomacy"),
            ("Cup final won", "sport"),
            ("Envoy visits", " diplomacy "),
        ],
    )
    data = load_labelled(csv_path)
    assert data.labels == ["economy", "sport", "diplomacy"]
    assert data.label_sets == (("economy", "diplomacy"), ("sport",), ("diplomacy",))
    assert data.counts() == {"diplomacy": 2, "economy": 1, "sport": 1}
    assert load_labelled(csv_path, label_sep=None).label_sets is None
    lines = [
        {"headline": "Loan deal signed", "topic": ["economy", "diplomacy"]},
        {"headline": "Cup final won", "topic": "sport"},
        {"headline": "Tariff talks", "topic": "economy;diplomacy"},
    ]
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    data = load_labelled(jsonl, label_sep=";")
    assert data.label_sets == (("economy", "diplomacy"), ("sport",), ("economy", "diplomacy"))
    single = write_csv(tmp_path / "s.csv", ["headline", "topic"], [("Cup final won", "sport")])
    assert load_labelled(single).label_sets is None


@pytest.fixture(scope="module")
def multilabel_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from classify.training.memory import train

    rows = multilabel_rows()
    data = LabelledData([h for h, _ in rows], [t[0] for t in rows], label_sets=tuple(t for _, t in rows))
    folder = tmp_path_factory.mktemp("multilabel")
    return save_model(train(data).model, folder / "multi.model")


def test_thresholds_round_trip_through_the_model_file(multilabel_model: Path) -> None:
    from classify.prediction.predictor import predict

    model = load_model(multilabel_model)
    thresholds = model.thresholds()
    assert isinstance(thresholds, Thresholds)
    assert set(thresholds.values) == set(WORDS)
    assert thresholds == Thresholds.from_json(json.loads(json.dumps(thresholds.to_json())))
    (p,) = predict(model, ["loan treaty bank summit"])
    assert p.labels is not None and p.labels[0] == p.topic
    assert set(p.labels) <= set(WORDS)


def test_labels_list_every_topic_over_its_threshold(multilabel_model: Path) -> None:
    from classify.prediction.predictor import predict

    model = load_model(multilabel_model)
    thresholds = model.thresholds()
    assert thresholds is not None
    for p in predict(model, ["loan treaty bank summit envoy", "cup goal", "budget", "envoy"], top_k=3):
        probs = dict(p.topics)
        expected = [t for t, q in p.topics if q >= thresholds.values[t] or t == p.topic]
        assert list(p.labels or ()) == expected
        assert probs[p.topic] == max(probs.values())


def test_old_model_files_load_and_predict_without_sets(tiny_model_path: Path, tmp_path: Path) -> None:
    from classify.prediction.predictor import predict

    model = load_model(tiny_model_path)
    old_meta = {k: v for k, v in model.meta.items() if k not in ("conformal", "multilabel")}
    old = save_model(Model(model.pipeline, old_meta), tmp_path / "old.model")
    loaded = load_model(old)
    (p,) = predict(loaded, ["Striker scores twice"])
    assert p.prediction_set is None and p.labels is None
    with pytest.raises(ModelError, match="retrain it with 'classify train'"):
        list(predict(loaded, ["Striker scores twice"], coverage=0.9))
    result = runner.invoke(app, ["predict", "-m", str(old), "--coverage", "0.9", "-f", "jsonl"], input="x\n")
    assert result.exit_code == 1
    assert "no calibration scores for prediction sets" in result.stderr
    assert "retrain it with 'classify train'" in result.stderr


# ------------------------------------------------------------------ through the real command line


def test_cli_train_predict_and_evaluate_multilabel(tmp_path: Path) -> None:
    data = write_multilabel_csv(tmp_path / "multi.csv", sep=";")
    model = tmp_path / "multi.model"
    result = runner.invoke(app, ["train", str(data), "-o", str(model), "--label-sep", ";"])
    assert result.exit_code == 0, result.output
    assert "multi-label: a topic is a label from its threshold (max F1)" in result.stdout
    result = runner.invoke(
        app,
        ["predict", "-m", str(model), "--coverage", "0.9", "-f", "jsonl"],
        input="loan treaty bank summit\ncup goal match\n",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [list(r) for r in rows] == [["headline", "topic", "confidence", "labels", "set"]] * 2
    assert all(r["set"][0] == r["topic"] == r["labels"][0] for r in rows)
    csv_out = runner.invoke(
        app, ["predict", "-m", str(model), "--coverage", "0.9", "-f", "csv"], input="cup\n"
    )
    assert csv_out.stdout.splitlines()[0] == "headline,topic,confidence,labels,set"
    table = runner.invoke(
        app, ["predict", "-m", str(model), "--coverage", "0.9", "-f", "table"], input="cup\n"
    )
    assert "set" in table.stdout and "labels" in table.stdout
    bad = runner.invoke(app, ["predict", "-m", str(model), "--coverage", "1.2"], input="cup\n")
    assert bad.exit_code == 2 and "--coverage 1.2: expected a probability" in bad.stderr
    data = write_multilabel_csv(tmp_path / "multi_pipe.csv")
    evaluated = runner.invoke(
        app, ["evaluate", str(data), "-k", "3", "--no-group", "--coverage", "0.8", "-f", "json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    report = json.loads(evaluated.stdout)
    for key in ("coverage", "mean_set_size", "singleton_share", "coverage_per_topic", "micro_f1"):
        assert key in report
    assert {"micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "per_topic", "thresholds"} <= set(
        report["multilabel"]
    )
    assert 1.0 <= report["mean_set_size"] <= 3.0


def test_cli_min_precision_is_stored(tmp_path: Path) -> None:
    data = write_multilabel_csv(tmp_path / "multi.csv")
    loose, strict = tmp_path / "loose.model", tmp_path / "strict.model"
    assert runner.invoke(app, ["train", str(data), "-o", str(loose)]).exit_code == 0
    assert (
        runner.invoke(app, ["train", str(data), "-o", str(strict), "--min-precision", "0.99"]).exit_code == 0
    )
    a, b = load_model(loose).thresholds(), load_model(strict).thresholds()
    assert a is not None and b is not None and b.rule == "precision >= 0.99"
    assert a.rule == "max F1" and set(a.values) == set(b.values) == set(WORDS)
    assert all(0.0 <= v <= 1.0 for v in b.values.values())


# ------------------------------------------------------------------ the service, on a real server


def test_service_takes_coverage(tiny_model_path: Path, tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    from tests.serving import start

    server = start(["--model", str(tiny_model_path)], tmp_path)
    try:
        url = f"{server.url}/v1/classify"
        headlines = ["Striker scores twice as United win", "Bank raises rates"]
        plain = httpx.post(url, json={"headlines": headlines}).json()["results"]
        assert all("set" not in r for r in plain)
        answer = httpx.post(url, json={"headlines": headlines, "coverage": 0.9}).json()["results"]
        assert [r["topic"] for r in answer] == [r["topic"] for r in plain]
        assert all(r["set"][0] == r["topic"] for r in answer)
        wide = httpx.post(url, json={"headlines": headlines, "coverage": 0.99, "per_topic_coverage": True})
        assert wide.status_code == 200
        assert all(
            len(w["set"]) >= len(r["set"]) for w, r in zip(wide.json()["results"], answer, strict=True)
        )
        assert httpx.post(url, json={"headlines": headlines, "coverage": 1.5}).status_code == 422
    finally:
        server.stop()


@pytest.mark.parametrize("n_topics", [3, 12, 40])
def test_set_and_label_lists_follow_the_masks(n_topics: int) -> None:
    from classify.prediction.results import PredictionBatch

    rng = np.random.default_rng(n_topics)
    proba = rng.dirichlet(np.ones(n_topics), size=300)
    ranked = (-proba).argsort(axis=1, kind="stable")
    ordered = np.take_along_axis(proba, ranked, axis=1)
    mask = rng.random(ordered.shape) < 0.2
    mask[:, 0] = True
    topics = tuple(f"t{j}" for j in range(n_topics))
    batch = PredictionBatch([f"h{i}" for i in range(300)], topics, ranked, ordered, mask, None)
    listed = batch.member_lists("labels")
    assert listed is not None and batch.member_lists("sets") is None
    lists, index = listed
    for i in range(300):
        assert lists[index[i]] == tuple(topics[j] for j, m in zip(ranked[i], mask[i], strict=True) if m)
