"""Model files are data: arrays and JSON, checked on load, never code; old pickles only when allowed."""

from __future__ import annotations

import importlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from classify import ModelError, load_labelled, load_model, save_model, train
from classify.cli import app
from classify.pipeline.modelfile import MANIFEST, _digest
from tests.conftest import tiny_rows, write_csv

HEADLINES = ["Central bank raises rates", "Striker scores in the final", "New vaccine approved", "Zyzzyva"]


def rewrite(path: Path, target: Path, change: callable) -> Path:  # type: ignore[valid-type]
    """Copy a model file, letting ``change(members)`` edit its members (name -> bytes)."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    change(members)
    with zipfile.ZipFile(target, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)
    return target


def manifest_of(members: dict[str, bytes]) -> dict:  # type: ignore[type-arg]
    return json.loads(members[MANIFEST])


def test_round_trip_gives_the_same_predictions(tiny_model_path: Path, tmp_path: Path) -> None:
    model = load_model(tiny_model_path)
    again = load_model(save_model(model, tmp_path / "again.joblib"))
    assert again.topics == model.topics
    assert np.array_equal(again.predict_proba(HEADLINES), model.predict_proba(HEADLINES))
    assert again.meta == model.meta


def test_the_file_is_a_zip_of_npy_and_json(tiny_model_path: Path) -> None:
    with zipfile.ZipFile(tiny_model_path) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read(MANIFEST))
    assert MANIFEST in names and all(n == MANIFEST or n.endswith(".npy") for n in names)
    assert manifest["format"] == "classify-model" and manifest["format_version"] == 2
    assert {"features/idf", "clf/coef", "clf/intercept"} <= set(manifest["arrays"])


@pytest.mark.parametrize("name", ["site.model", "out/model", "m.joblib"])
def test_format_is_told_by_content_not_name(tiny_model_path: Path, tmp_path: Path, name: str) -> None:
    path = save_model(load_model(tiny_model_path), tmp_path / name)
    assert load_model(path).topics == load_model(tiny_model_path).topics


class Payload:
    """Unpickling this writes a marker file: proof that code ran."""

    marker = ""

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        import builtins

        return (builtins.exec, (f"open({self.marker!r}, 'w').write('ran')", ""))


def test_a_planted_pickle_in_an_array_never_runs(tiny_model_path: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    Payload.marker = str(marker)

    def plant(members: dict[str, bytes]) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
        members["arrays/clf/coef.npy"] = buffer.getvalue()

    path = rewrite(tiny_model_path, tmp_path / "evil.joblib", plant)
    with pytest.raises(ModelError, match="damaged model file"):
        load_model(path)
    assert not marker.exists()


def test_a_pickle_given_as_model_never_runs_unless_allowed(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "ran.txt"
    Payload.marker = str(marker)
    path = tmp_path / "evil.joblib"
    path.write_bytes(pickle.dumps({"format": "classify-model", "pipeline": Payload()}))
    with pytest.raises(ModelError, match=r"can run code when loaded; .*--allow-pickle"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update({"arrays/clf/coef.npy": m["arrays/clf/coef.npy"][:-1] + b"\x01"}), "checksum"),
        (lambda m: m.pop("arrays/features/idf.npy"), "arrays missing features/idf"),
        (lambda m: m.update({"arrays/clf/extra.npy": m["arrays/clf/coef.npy"]}), "unlisted clf/extra"),
        (lambda m: m.pop(MANIFEST), "not a classify model file"),
        (lambda m: m.update({MANIFEST: b"{not json"}), "unreadable manifest"),
    ],
)
def test_damage_is_one_clear_line(
    tiny_model_path: Path, tmp_path: Path, change: callable, message: str
) -> None:  # type: ignore[valid-type]
    path = rewrite(tiny_model_path, tmp_path / "bad.joblib", change)
    with pytest.raises(ModelError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_swapped_topics_are_detected(tiny_model_path: Path, tmp_path: Path) -> None:
    def swap(members: dict[str, bytes], *, redigest: bool) -> None:
        manifest = manifest_of(members)
        state = manifest["steps"][1]["state"]
        state["classes"] = list(reversed(state["classes"]))
        if redigest:
            manifest["digest"] = _digest(manifest)
        members[MANIFEST] = json.dumps(manifest).encode()

    plain = rewrite(tiny_model_path, tmp_path / "a.joblib", lambda m: swap(m, redigest=False))
    with pytest.raises(ModelError, match="does not match its digest"):
        load_model(plain)
    # Even with the digest made anew, the weights' topics no longer agree with the metadata's.
    forged = rewrite(tiny_model_path, tmp_path / "b.joblib", lambda m: swap(m, redigest=True))
    with pytest.raises(ModelError, match="topics of the weights and the metadata differ"):
        load_model(forged)


@pytest.mark.parametrize(
    ("params", "message"),
    [({"blend_bias": "yes"}, 'blend_bias="yes": expected true or false'), ({"margin": 2}, "margin")],
)
def test_malformed_classifier_settings_are_refused_on_load(
    tiny_model_path: Path,
    tmp_path: Path,
    params: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    # Loading builds the numpy-only runtime form; it checks the settings as the estimator does.
    def edit(members: dict[str, bytes]) -> None:
        manifest = manifest_of(members)
        manifest["steps"][1]["params"].update(params)
        manifest["digest"] = _digest(manifest)
        members[MANIFEST] = json.dumps(manifest).encode()

    with pytest.raises(ModelError, match=f"damaged model file: step 'clf': .*{message}"):
        load_model(rewrite(tiny_model_path, tmp_path / "p.joblib", edit))


def test_a_newer_format_asks_for_an_upgrade(tiny_model_path: Path, tmp_path: Path) -> None:
    def newer(members: dict[str, bytes]) -> None:
        manifest = manifest_of(members)
        manifest["format_version"] = 99
        manifest["digest"] = _digest(manifest)
        members[MANIFEST] = json.dumps(manifest).encode()

    with pytest.raises(ModelError, match="newer classify"):
        load_model(rewrite(tiny_model_path, tmp_path / "n.joblib", newer))


def legacy_model(tmp_path: Path) -> tuple[Path, object]:
    """A model file as classify 0.1 wrote it: a joblib pickle of a calibrated LinearSVC pipeline,
    whose features are named by their module of then, ``classify.features.HeadlineVectorizer``."""
    import joblib
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    from classify.pipeline.features import HeadlineVectorizer
    from classify.pipeline.legacy import old_module_names

    rows = tiny_rows()
    pipeline = Pipeline(
        [
            ("features", HeadlineVectorizer()),
            (
                "clf",
                CalibratedClassifierCV(
                    LinearSVC(C=0.5, class_weight="balanced"), method="temperature", cv=3, ensemble=False
                ),
            ),
        ]
    ).fit([t for t, _ in rows], [label for _, label in rows])
    meta = {"topics": ["economy", "health", "sport"], "n_rows": len(rows)}
    path = tmp_path / "old.joblib"
    payload = {"format": "classify-model", "format_version": 1, "meta": meta, "pipeline": pipeline}
    # Pickle records a class by its __module__, which it checks by importing: the old name must exist.
    with pytest.MonkeyPatch.context() as patch, old_module_names():
        patch.setattr(HeadlineVectorizer, "__module__", "classify.features")
        joblib.dump(payload, path)
    return path, pipeline


def test_a_pickle_naming_the_old_modules_loads_and_leaves_no_old_module(tmp_path: Path) -> None:
    from classify.pipeline.features import HeadlineVectorizer
    from classify.pipeline.legacy import MODULES

    path, _ = legacy_model(tmp_path)
    raw = path.read_bytes()
    assert b"classify.features" in raw and b"classify.pipeline" not in raw
    assert "classify.features" not in sys.modules
    model = load_model(path, allow_pickle=True)
    assert type(model.pipeline.named_steps["features"]) is HeadlineVectorizer
    assert model.topics == ["economy", "health", "sport"]
    assert not set(MODULES) & set(sys.modules)
    with pytest.raises(ImportError):
        importlib.import_module("classify.features")


def test_a_pickled_hashed_pipeline_of_the_old_layout_keeps_its_predictions(tmp_path: Path) -> None:
    import joblib
    from sklearn.pipeline import Pipeline

    from classify.pipeline.features import HashedHeadlineVectorizer
    from classify.pipeline.legacy import old_module_names
    from classify.pipeline.linear import TopicClassifier

    rows = tiny_rows()
    pipeline = Pipeline(
        [("features", HashedHeadlineVectorizer(word_bits=10, char_bits=10)), ("clf", TopicClassifier())]
    ).fit([t for t, _ in rows], [label for _, label in rows])
    path = tmp_path / "hashed.joblib"
    with pytest.MonkeyPatch.context() as patch, old_module_names():
        patch.setattr(HashedHeadlineVectorizer, "__module__", "classify.hashing")
        patch.setattr(TopicClassifier, "__module__", "classify.linear")
        joblib.dump({"format": "classify-model", "format_version": 1, "meta": {}, "pipeline": pipeline}, path)
    raw = path.read_bytes()
    assert b"classify.hashing" in raw and b"classify.linear" in raw and b"classify.pipeline" not in raw
    model = load_model(path, allow_pickle=True)
    assert np.allclose(model.predict_proba(HEADLINES), pipeline.predict_proba(HEADLINES))
    assert "classify.hashing" not in sys.modules and "classify.linear" not in sys.modules


def test_old_pickle_models_load_only_when_allowed_and_convert(tmp_path: Path) -> None:
    path, pipeline = legacy_model(tmp_path)
    with pytest.raises(ModelError, match="--allow-pickle"):
        load_model(path)
    model = load_model(path, allow_pickle=True)
    assert any("can run code" in note for note in model.warnings)
    expected = pipeline.predict_proba(HEADLINES)  # type: ignore[attr-defined]
    assert np.allclose(model.predict_proba(HEADLINES), expected, atol=1e-5)

    runner = CliRunner()
    new = tmp_path / "new.model"
    refused = runner.invoke(app, ["convert", str(path), str(new)])
    assert refused.exit_code == 1 and "--allow-pickle" in refused.stderr and not new.exists()
    done = runner.invoke(app, ["convert", str(path), str(new), "--allow-pickle"])
    assert done.exit_code == 0, done.output
    assert np.allclose(load_model(new).predict_proba(HEADLINES), expected, atol=1e-5)
    predicted = runner.invoke(
        app, ["predict", "--model", str(path), "--allow-pickle", "-f", "jsonl"], input="Oil\n"
    )
    assert predicted.exit_code == 0 and "can run code" in predicted.stderr


def test_binary_model_round_trip(tmp_path: Path) -> None:
    rows = [(t, label) for t, label in tiny_rows() if label != "health"]
    data = load_labelled(write_csv(tmp_path / "two.csv", ["headline", "topic"], rows))
    model = train(data).model
    again = load_model(save_model(model, tmp_path / "two.model"))
    assert np.array_equal(again.predict_proba(HEADLINES), model.predict_proba(HEADLINES))


def forge(path: Path, target: Path, *, params: dict | None = None, arrays: dict | None = None) -> Path:  # type: ignore[type-arg]
    """Copy a model file as an attacker would: edited settings or array members, with every checksum
    and the manifest's digest made anew (``arrays``: key -> (member bytes, declared shape or None))."""
    import hashlib

    def change(members: dict[str, bytes]) -> None:
        manifest = manifest_of(members)
        for step, values in (params or {}).items():
            manifest["steps"][0 if step == "features" else 1]["params"].update(values)
        for key, (blob, shape) in (arrays or {}).items():
            members[f"arrays/{key}.npy"] = blob
            manifest["arrays"][key]["sha256"] = hashlib.sha256(blob).hexdigest()
            if shape is not None:
                manifest["arrays"][key]["shape"] = shape
        manifest["digest"] = _digest(manifest)
        members[MANIFEST] = json.dumps(manifest).encode()

    return rewrite(path, target, change)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"features": {"cache_size": "x"}}, 'cache_size="x": expected a whole number'),
        ({"features": {"char_ngrams": [1, 1000000]}}, "char_ngrams=.*largest <= 10"),
        ({"features": {"word_ngrams": [1, 50]}}, "word_ngrams=.*largest <= 10"),
        ({"clf": {"loss": "svm; rm -rf"}}, "loss="),
    ],
)
def test_edited_settings_are_refused_on_load_as_training_refuses_them(
    tiny_model_path: Path,
    tmp_path: Path,
    params: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    path = forge(tiny_model_path, tmp_path / "edited.model", params=params)
    with pytest.raises(ModelError, match=f"damaged model file: step '.*': {message}"):
        load_model(path).predict_proba(HEADLINES)


def test_a_member_padded_past_its_declared_size_is_refused_before_it_is_inflated(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    # A zip bomb behind a real array: numpy would read the array and ignore the rest.
    with zipfile.ZipFile(tiny_model_path) as archive:
        blob = archive.read("arrays/clf/coef.npy") + bytes(32 * 2**20)
    path = forge(tiny_model_path, tmp_path / "bomb.model", arrays={"clf/coef": (blob, None)})
    with pytest.raises(ModelError, match="array clf/coef is not the size its manifest declares"):
        load_model(path)


def test_an_npy_header_claiming_a_trillion_elements_is_a_model_error(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    blob = header.getvalue() + bytes(64)
    for shape in (None, [10**12]):  # the manifest as it was, or made to agree with the header
        path = forge(tiny_model_path, tmp_path / "huge.model", arrays={"features/idf": (blob, shape)})
        with pytest.raises(ModelError, match=r"damaged model file|not a usable model file"):
            load_model(path)


def test_an_array_declared_larger_than_its_step_allows_is_refused_unread(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    # 7 GiB of weights declared for a model of three topics: refused from the manifest alone.
    blob = b"\x93NUMPY" + bytes(100)
    path = forge(tiny_model_path, tmp_path / "big.model", arrays={"clf/coef": (blob, [3, 7 * 2**28])})
    with pytest.raises(ModelError, match="declared sizes do not agree"):
        load_model(path)
