"""Explanations of a batch (one feature transform) equal explanations one at a time."""

from __future__ import annotations

from pathlib import Path

from classify import load_model, predict
from classify.explain import Explainer


def test_why_many_equals_why_one_by_one(tiny_model_path: Path) -> None:
    model = load_model(tiny_model_path)
    explainer = Explainer(model)
    headlines = ["Striker scores in the cup final", "Bank profit up", "Flu cases rise", "Bank profit up", "x"]
    predictions = list(predict(model, headlines, top_k=2))
    assert explainer.why_many(predictions) == [explainer.why(p) for p in predictions]
    assert any(explainer.why_many(predictions))
    assert explainer.why_many([]) == []
