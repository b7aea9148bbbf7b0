from __future__ import annotations

from pathlib import Path

import pytest

from classify import DataError, ModelError, load_labelled, load_model, predict, save_model, train
from classify.pipeline.model import build_pipeline, fit_pipeline


def test_round_trip_train_save_load_predict(tiny_csv: Path, tmp_path: Path) -> None:
    result = train(load_labelled(tiny_csv))
    path = save_model(result.model, tmp_path / "m.joblib")
    loaded = load_model(path)
    assert loaded.topics == ["economy", "health", "sport"]
    assert loaded.warnings == ()
    meta = loaded.meta
    assert meta["n_rows"] == 24
    assert meta["counts"] == {"economy": 8, "health": 8, "sport": 8}
    assert meta["data_hash"] == load_labelled(tiny_csv).fingerprint()
    assert {"classify", "scikit-learn", "numpy"} <= set(meta["versions"])
    assert meta["created"]
    [p] = list(predict(loaded, ["Striker scores in the cup final"]))
    assert p.topic == "sport"


def test_probabilities_are_real(tiny_model_path: Path) -> None:
    model = load_model(tiny_model_path)
    proba = model.predict_proba(["Central bank raises rates", "Vaccination campaign"])
    assert proba.shape == (2, 3)
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert ((proba >= 0) & (proba <= 1)).all()


def test_logreg_classifier_option(tiny_csv: Path) -> None:
    model = train(load_labelled(tiny_csv), params={"classifier": "logreg"}).model
    [p] = list(predict(model, ["Oil prices climb"]))
    assert 0 < p.confidence <= 1


def test_unknown_setting_rejected() -> None:
    with pytest.raises(ValueError, match="unknown pipeline setting"):
        build_pipeline({"colour": "red"})


def test_one_topic_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("headline,topic\nA b,x\nC d,x\n", encoding="utf-8")
    with pytest.raises(DataError, match="only one topic"):
        train(load_labelled(path))


def test_topic_with_one_row_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("headline,topic\nA b,x\nC d,x\nE f,y\n", encoding="utf-8")
    with pytest.raises(DataError, match="topic 'y' \\(1\\) has fewer than 2 rows"):
        train(load_labelled(path))


def test_corrupt_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load model"):
        load_model(bad)


def test_other_joblib_file_is_not_a_model(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"hello": 1}, path)
    with pytest.raises(ModelError, match="not a classify model"):
        load_model(path)


def test_failed_save_keeps_old_model(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from classify.pipeline import modelfile

    target = tmp_path / "keep.joblib"
    target.write_bytes(tiny_model_path.read_bytes())
    before = target.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk died half way")

    monkeypatch.setattr(modelfile, "write", boom)
    with pytest.raises(RuntimeError):
        save_model(load_model(tiny_model_path), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.joblib"]


def test_saved_model_is_readable_like_a_normal_file(tiny_model_path: Path) -> None:
    import os
    import stat

    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(tiny_model_path.stat().st_mode) == 0o666 & ~mask


def test_large_data_path_fits_once_and_calibrates_on_a_held_out_slice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The large-data path (SGD on most rows, temperature on a held-out slice) on tiny data: the
    # threshold is lowered so that the test stays small.
    from classify.pipeline import linear
    from tests.conftest import tiny_rows

    monkeypatch.setattr(linear, "HOLDOUT_ABOVE", 10)
    rows = tiny_rows() * 4
    pipeline = fit_pipeline([t for t, _ in rows], [label for _, label in rows])
    clf = pipeline.named_steps["clf"]
    assert clf.calibration_ == "held-out slice" and clf.temperature_ > 0
    proba = pipeline.predict_proba(["Central bank raises rates", "Striker scores in the final"])
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert list(pipeline.predict(["Central bank raises rates"])) == ["economy"]
