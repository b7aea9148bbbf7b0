"""Prediction from a model file without scikit-learn (classify.pipeline.runtime)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classify.pipeline.features import HashedHeadlineVectorizer
from classify.pipeline.hashing import HashedFeatures
from classify.pipeline.model import load_model, save_model
from classify.pipeline.runtime import FittedPipeline, HeadlineFeatures, LinearScores
from tests.conftest import tiny_rows, write_csv

HEADLINES = [
    "Central bank raises rates",
    "Striker scores in the final",
    "New vaccine approved",
    "Zyzzyva",
    "Ceasefire talks résumé in Cairo",
    "",
]


def test_a_loaded_model_predicts_with_the_runtime_as_the_pipeline_does(tiny_model_path: Path) -> None:
    model = load_model(tiny_model_path)
    assert isinstance(model.fitted, FittedPipeline)
    assert type(model.fitted.named_steps["features"]) is HeadlineFeatures
    assert type(model.fitted.named_steps["clf"]) is LinearScores
    fast = model.predict_proba(HEADLINES)
    # The scikit-learn pipeline, rebuilt from the same arrays, gives the very same numbers.
    slow = model.pipeline.predict_proba(HEADLINES)
    assert np.array_equal(fast, slow)
    assert model.topics == [str(t) for t in model.pipeline.classes_]
    assert list(model.fitted.predict(HEADLINES)) == list(model.pipeline.predict(HEADLINES))
    features = model.fitted.named_steps["features"]
    assert np.array_equal(
        features.transform(HEADLINES).toarray(),
        model.pipeline.named_steps["features"].transform(HEADLINES).toarray(),
    )


def test_a_rebuilt_pipeline_saves_the_same_model(tiny_model_path: Path, tmp_path: Path) -> None:
    model = load_model(tiny_model_path)
    again = load_model(save_model(model, tmp_path / "again.model"))
    assert np.array_equal(again.predict_proba(HEADLINES), model.predict_proba(HEADLINES))
    assert again.meta == model.meta


@pytest.fixture(scope="module")
def stream_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained by streaming (hashed features), as ``classify train`` builds for an archive."""
    from classify.training.stream import StreamSettings, train_stream

    folder = tmp_path_factory.mktemp("stream")
    data = write_csv(folder / "tiny.csv", ["headline", "topic"], tiny_rows())
    settings = StreamSettings(chunk_rows=8, passes=3, word_bits=12, char_bits=12, learning_rate=0.5)
    return save_model(train_stream(data, settings=settings).model, folder / "stream.model")


def test_a_streamed_model_predicts_with_the_plain_hashed_features(stream_model_path: Path) -> None:
    model = load_model(stream_model_path)
    assert type(model.fitted.named_steps["features"]) is HashedFeatures
    assert type(model.fitted.named_steps["clf"]) is LinearScores
    assert type(model.pipeline.named_steps["features"]) is HashedHeadlineVectorizer
    assert np.array_equal(model.predict_proba(HEADLINES), model.pipeline.predict_proba(HEADLINES))


def test_an_old_name_of_the_hashed_estimator_still_unpickles() -> None:
    # Pickled models made before the estimator moved name it classify.hashing.HashedHeadlineVectorizer.
    import importlib
    import pickle

    from classify.pipeline.legacy import old_module_names

    features = HashedHeadlineVectorizer(word_bits=8, char_bits=8).fit(["Oil prices rise", "Team wins"])
    with pytest.MonkeyPatch.context() as patch, old_module_names():
        patch.setattr(HashedHeadlineVectorizer, "__module__", "classify.hashing")
        blob = pickle.dumps(features)
    assert b"classify.hashing" in blob
    with old_module_names():
        old_name = importlib.import_module("classify.hashing").HashedHeadlineVectorizer
        with pytest.raises(AttributeError):
            importlib.import_module("classify.hashing").NoSuchThing  # noqa: B018
        loaded = pickle.loads(blob)
    assert old_name is HashedHeadlineVectorizer and type(loaded) is HashedHeadlineVectorizer
    assert np.array_equal(loaded.idf_, features.idf_)
    assert "classify.hashing" not in sys.modules


@pytest.mark.parametrize("which", ["tiny_model_path", "stream_model_path"])
def test_loading_and_predicting_imports_no_scikit_learn(which: str, request: pytest.FixtureRequest) -> None:
    # In a fresh interpreter: the whole predict command's path, from the CLI module to the output.
    model_path = request.getfixturevalue(which)
    code = (
        "import sys\n"
        "from classify.cli import main\n"
        f"sys.argv = ['classify', 'predict', '--model', {str(model_path)!r}, '-f', 'jsonl', '-k', '2']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('sklearn' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input="Striker scores in the final\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert '"topic": "sport"' in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr
