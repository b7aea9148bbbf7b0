"""Explanations of a batch (one feature transform) equal explanations one at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from classify import load_model, predict
from classify.prediction.explain import Explainer


def test_why_many_equals_why_one_by_one(tiny_model_path: Path) -> None:
    model = load_model(tiny_model_path)
    explainer = Explainer(model)
    headlines = ["Striker scores in the cup final", "Bank profit up", "Flu cases rise", "Bank profit up", "x"]
    predictions = list(predict(model, headlines, top_k=2))
    assert explainer.why_many(predictions) == [explainer.why(p) for p in predictions]
    assert any(explainer.why_many(predictions))
    assert explainer.why_many([]) == []


def test_batch_explanations_are_the_word_by_word_ones_on_awkward_text(tiny_model_path: Path) -> None:
    """Repeated words, punctuation, accents, case, unknown words and a NUL: the batch computation
    (sparse products) gives the words of the per-word sums, in the same order, for every topic."""
    model = load_model(tiny_model_path)
    explainer = Explainer(model)
    headlines = [
        "Cup final: cup final, CUP FINAL!",
        '"Bank" profit up (again) as bank shares rise',
        "Pelé scores; café owners cheer",
        "zxqv wqzx",
        "Flu\x00cases rise",
        "a",
        "Striker's goal wins the cup for the bank's team",
    ]
    predictions = [p for p in predict(model, headlines, top_k=3)]
    # Every topic of every headline, not only its best one.
    from classify.prediction.predictor import Prediction

    every = [Prediction(p.headline, topic, prob, p.topics) for p in predictions for topic, prob in p.topics]
    batch = explainer.why_many(every)
    assert batch == [explainer.why(p) for p in every]
    assert sum(map(len, batch)) > len(headlines)  # the explanations are not all empty
    assert explainer.contributions(headlines[0], every[0].topic)  # the per-word view still works


def test_a_long_batch_is_explained_in_chunks_with_the_same_words(
    tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classify.prediction import explain

    model = load_model(tiny_model_path)
    explainer = Explainer(model)
    predictions = list(
        predict(model, ["Bank profit up", "Striker scores", "Flu cases rise", "x", "Cup final"])
    )
    whole = explainer.why_many(predictions)
    monkeypatch.setattr(explain, "_CHUNK", 2)
    assert explainer.why_many(predictions) == whole == [explainer.why(p) for p in predictions]
