from __future__ import annotations

from pathlib import Path

import pytest

from classify import DataError, cross_validate, evaluate_model, load_labelled, load_model, train_and_test


def test_cross_validation_shape(tiny_csv: Path) -> None:
    result = cross_validate(load_labelled(tiny_csv), folds=4)
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
