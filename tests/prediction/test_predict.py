from __future__ import annotations

from pathlib import Path

import pytest

from classify import load_model, predict


@pytest.fixture(scope="module")
def model(tiny_model_path: Path):  # type: ignore[no-untyped-def]
    return load_model(tiny_model_path)


def test_order_kept_and_topics_right(model) -> None:  # type: ignore[no-untyped-def]
    headlines = ["Inflation slows again", "Striker scores a goal", "Flu cases rise in winter"]
    assert [p.topic for p in predict(model, headlines)] == ["economy", "sport", "health"]


def test_top_k_sorted_and_capped(model) -> None:  # type: ignore[no-untyped-def]
    [p] = list(predict(model, ["Oil prices climb"], top_k=10))
    assert len(p.topics) == 3
    probs = [prob for _, prob in p.topics]
    assert probs == sorted(probs, reverse=True)
    assert (p.topic, p.confidence) == p.topics[0]


def test_duplicates_classified_once(model, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    original = type(model).predict_proba

    def counting(self, texts):  # type: ignore[no-untyped-def]
        seen.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(type(model), "predict_proba", counting)
    out = list(predict(model, ["Same headline", "Other one", "Same headline"] * 3, batch_size=4))
    assert len(out) == 9
    assert sum(seen) == 2


def test_lazy_on_endless_input(model) -> None:  # type: ignore[no-untyped-def]
    import itertools

    endless = itertools.cycle(["Coach sacked", "Bank profit up"])
    first = list(itertools.islice(predict(model, endless, batch_size=8), 5))
    assert len(first) == 5


def test_top_k_must_be_positive(model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="top_k"):
        list(predict(model, ["x"], top_k=0))


def test_cached_answers_match_fresh_ones_as_the_cache_fills_and_restarts(model) -> None:  # type: ignore[no-untyped-def]
    """All-new batches (answered in input order), mixed ones (looked up) and a full cache (cleared)."""
    import numpy as np

    from classify.prediction.predictor import _Predictor

    texts = ["Bank profit up", "Coach sacked", "Flu cases rise", "Striker scores", "Oil prices climb"]
    predictor = _Predictor(model, top_k=2, size=4)
    for batch in (
        texts[:3],
        texts[1:4],
        ["Oil prices climb", "Bank profit up", "Oil prices climb"],
        texts[:2],
    ):
        got = predictor(batch)
        proba = np.asarray(model.predict_proba(batch), dtype=np.float64)
        want = (-proba).argsort(axis=1, kind="stable")[:, :2]
        np.testing.assert_array_equal(got.ranked, want)
        np.testing.assert_allclose(got.proba, np.take_along_axis(proba, want, axis=1))
        assert len(predictor.slots) <= 4
