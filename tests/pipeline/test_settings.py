"""The pipeline settings: defaults, checks, JSON round trip, description; and estimator hygiene."""

from __future__ import annotations

import dataclasses
import json

import pytest

from classify.pipeline.features import HeadlineVectorizer
from classify.pipeline.settings import DEFAULT_PARAMS, DEFAULT_SETTINGS, Settings

TRAIN = [
    "Central bank raises interest rates",
    "Striker scores twice in cup final",
    "Ministry launches polio vaccination campaign",
    "Stock market closes higher on bank shares",
]


def test_defaults_are_one_object() -> None:
    assert Settings() == DEFAULT_SETTINGS
    assert dict(DEFAULT_PARAMS) == DEFAULT_SETTINGS.as_params()
    with pytest.raises(TypeError):
        DEFAULT_PARAMS["C"] = 1.0  # type: ignore[index]  # read-only: the defaults are not edited in place
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_SETTINGS.C = 1.0  # type: ignore[misc]


def test_json_round_trip() -> None:
    settings = Settings(word_ngrams=(1, 3), char_ngrams=None, C=2, classifier="logreg")
    again = Settings.from_mapping(json.loads(json.dumps(settings.to_dict())))
    assert again == settings and again.word_ngrams == (1, 3) and isinstance(again.C, float)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"C": 0}, "C=0: expected a positive number"),
        ({"word_ngrams": (2, 1)}, "word_ngrams=(2, 1)"),
        ({"classifier": "forest"}, "classifier='forest'"),
        ({"min_df": 1.5}, "min_df=1.5"),
        ({"sublinear_tf": "yes"}, "sublinear_tf='yes'"),
        ({"blend_bias": 0}, "blend_bias=0: expected true or false"),
    ],
)
def test_bad_values_name_the_setting(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_mapping(changes)


def test_unknown_setting() -> None:
    with pytest.raises(ValueError, match="unknown pipeline setting"):
        Settings.from_mapping({"alpha": 1})


def test_describe_and_tidy() -> None:
    assert (
        DEFAULT_SETTINGS.describe()
        == "svm C=0.5 word 1-2 char 2-5 char_weight=1 min_df=1 sublinear word_vectors=0.35"
    )
    tidy = Settings(C=0.123456, char_ngrams=None, char_weight=2.0).tidy()
    assert tidy.C == 0.123 and tidy.char_weight == DEFAULT_SETTINGS.char_weight


def test_blend_bias_only_speaks_for_the_stack() -> None:
    stack = Settings(classifier="stack", blend_bias=False)
    assert stack.describe().startswith("stack C=0.5 svm+nbsvm+mnb no-bias word 1-2")
    assert stack.tidy().blend_bias is False
    # Meaningless for the SVM: tidied back to the default, so that tune does not try it twice.
    assert (
        Settings(classifier="svm", blend_bias=not DEFAULT_SETTINGS.blend_bias).tidy()
        == Settings(classifier="svm").tidy()
    )
    assert Settings.from_mapping(json.loads(json.dumps(stack.to_dict()))) == stack


def test_transform_leaves_the_vectorizer_unchanged() -> None:
    # scikit-learn's check_dict_unchanged feeds numbers, which a text vectorizer cannot take; this is
    # the same check with headlines: transform must not add, drop or replace attributes.
    vec = HeadlineVectorizer().fit(TRAIN)
    before = vec.__dict__.copy()
    vec.transform(["Bank shares climb", "A never seen word: zyzzyva"])
    vec.token_features("Bank shares climb")
    assert vec.__dict__ == before


def test_vectorizer_rebuilds_its_lookups_on_load() -> None:
    import pickle

    vec = HeadlineVectorizer().fit(TRAIN)
    state = vec.__getstate__()
    assert "_table" not in state and "_char_cols" not in state
    again = pickle.loads(pickle.dumps(vec))
    assert (again.transform(TRAIN) != vec.transform(TRAIN)).nnz == 0
