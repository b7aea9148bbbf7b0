"""StackedLinear: views blended on held-out scores, collapsed exactly into one linear model."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classify.pipeline.model import build_pipeline, fit_pipeline
from classify.pipeline.settings import parse_views
from classify.pipeline.stacking import _VIEW_FITS, StackedLinear, fit_view_weights, nb_log_ratios
from tests.conftest import TINY, tiny_rows


def tiny_matrix(topics: int = 3) -> tuple[sp.csr_matrix, np.ndarray]:
    """The tiny headlines as TF-IDF rows (the product's features), with their topics."""
    rows = [(t, y) for t, y in tiny_rows() if y in list(TINY)[:topics]]
    features = build_pipeline().named_steps["features"]
    X = features.fit_transform([t for t, _ in rows])
    return sp.csr_matrix(X, dtype=np.float64), np.asarray([y for _, y in rows], dtype=object)


def reference_proba(est: StackedLinear, X: sp.csr_matrix, y: np.ndarray) -> np.ndarray:
    """What the blend means, computed the long way: the views fitted on held-out folds feed a
    logistic regression, which then reads the scores of the views fitted on all rows."""
    names = parse_views(est.views)
    classes, yi = np.unique(y, return_inverse=True)
    k = len(classes)
    folds = min(est.folds, int(np.bincount(yi).min()))
    held_out = np.zeros((X.shape[0], k * len(names)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=est.random_state)
    for train, test in splitter.split(np.zeros(len(yi)), yi):
        fits = [_VIEW_FITS[v](X[train], yi[train], k, est) for v in names]
        held_out[test] = np.hstack([X[test] @ W.T + b for W, b in fits])
    fits = [_VIEW_FITS[v](X, yi, k, est) for v in names]
    scores = np.hstack([X @ W.T + b for W, b in fits])
    if est.blend == "classes":
        meta = LogisticRegression(C=est.meta_C, class_weight=est.class_weight, max_iter=5000)
        return meta.fit(held_out, yi).predict_proba(scores)
    weights, bias = fit_view_weights(held_out.reshape(len(yi), len(names), k), yi, est)
    return softmax(np.einsum("nvk,v->nk", scores.reshape(len(yi), len(names), k), weights) + bias, axis=1)


@pytest.mark.parametrize(("blend", "bias"), [("views", True), ("views", False), ("classes", True)])
@pytest.mark.parametrize("topics", [3, 2])
def test_collapsed_model_is_exactly_the_blend(topics: int, blend: str, bias: bool) -> None:
    X, y = tiny_matrix(topics)
    est = StackedLinear(folds=3, blend=blend, blend_bias=bias).fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X), reference_proba(est, X, y), rtol=1e-6, atol=1e-9)
    assert est.coef_.shape == (topics, X.shape[1])
    assert est.blend_.shape == (topics, topics * len(parse_views(est.views)))


def test_fits_the_training_topics_and_probabilities_sum_to_one() -> None:
    X, y = tiny_matrix()
    est = StackedLinear(folds=3).fit(X, y)
    assert list(est.predict(X)) == list(y)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(est.classes_[proba.argmax(axis=1)]) == list(est.predict(X))


def test_view_weights_follow_the_informative_view() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 60)
    informative = np.eye(3)[y] * 2 + rng.normal(0, 1, (180, 3))
    noise = rng.normal(0, 1, (180, 3))
    est = StackedLinear(meta_C=100.0)
    weights, _ = fit_view_weights(np.stack([noise, informative], axis=1), y, est)
    assert weights[1] > 0.5 and weights[0] < 0.1 * weights[1]
    # Only noise: the weight stays at its bound instead of turning the view upside down.
    flipped, _ = fit_view_weights(np.stack([-informative], axis=1), y, est)
    assert flipped[0] == 0.0


def test_blend_without_bias_learns_view_weights_only() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [120, 40, 20])
    informative = np.eye(3)[y] * 2 + rng.normal(0, 1, (180, 3))
    with_bias = fit_view_weights(informative[:, None, :], y, StackedLinear())
    weights, bias = fit_view_weights(informative[:, None, :], y, StackedLinear(blend_bias=False))
    assert np.any(with_bias[1] != 0)  # unbalanced classes: a free bias moves
    np.testing.assert_array_equal(bias, np.zeros(3))
    assert weights[0] > 0.5


def test_C_grid_picks_a_C_per_view_from_held_out_scores() -> None:
    X, y = tiny_matrix()
    one = StackedLinear(folds=3, C_grid=(0.5,)).fit(X, y)
    plain = StackedLinear(folds=3).fit(X, y)
    # A grid of the one default value is the plain stack.
    np.testing.assert_allclose(one.coef_, plain.coef_)
    grid = (0.05, 0.5, 5.0)
    est = StackedLinear(folds=3, C_grid=grid).fit(X, y)
    assert est.view_C_["svm"] in grid and est.view_C_["nbsvm"] in grid and est.view_C_["mnb"] == 0.5


def test_best_C_is_the_one_with_the_best_held_out_macro_f1() -> None:
    from classify.pipeline.stacking import _best_C

    y = np.array([0, 1, 2, 0, 1, 2])
    right, wrong = np.eye(3)[y], np.eye(3)[(y + 1) % 3]
    held = {("svm", 0.1): wrong, ("svm", 1.0): right, ("svm", 10.0): right}
    assert _best_C(held, "svm", (0.1, 1.0, 10.0), y, 3) == 1.0  # ties: the first


def test_logistic_views_are_a_different_model() -> None:
    X, y = tiny_matrix()
    est = StackedLinear(folds=3, view_loss="logistic").fit(X, y)
    assert list(est.predict(X)) == list(y)
    yi = np.unique(y, return_inverse=True)[1]
    for view in ("svm", "nbsvm"):
        logistic = _VIEW_FITS[view](X, yi, 3, StackedLinear(view_loss="logistic"))[0]
        hinge = _VIEW_FITS[view](X, yi, 3, StackedLinear())[0]
        assert not np.allclose(logistic, hinge)
    with pytest.raises(ValueError, match="unknown view_loss 'hinge'"):
        StackedLinear(view_loss="hinge").fit(X, y)


def test_unknown_blend_is_named() -> None:
    X, y = tiny_matrix()
    with pytest.raises(ValueError, match="unknown blend 'mean'"):
        StackedLinear(folds=3, blend="mean").fit(X, y)


def test_fitted_state_is_arrays_and_prediction_changes_nothing() -> None:
    X, y = tiny_matrix()
    est = StackedLinear(folds=3).fit(X, y)
    fitted = {k: v for k, v in vars(est).items() if k.endswith("_")}
    assert set(fitted) == {"classes_", "coef_", "intercept_", "blend_", "n_features_in_", "view_C_"}
    assert all(isinstance(v, np.ndarray | int) for k, v in fitted.items() if k != "view_C_")
    assert est.view_C_ == {"svm": 0.5, "nbsvm": 0.5, "mnb": 0.5}
    before = copy.deepcopy(vars(est))
    est.predict(X)
    est.predict_proba(X)
    est.decision_function(X)
    after = vars(est)
    assert set(after) == set(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_same_data_same_model() -> None:
    X, y = tiny_matrix()
    a, b = StackedLinear(folds=3).fit(X, y), StackedLinear(folds=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_class_with_one_row_uses_the_first_view_alone() -> None:
    X, y = tiny_matrix()
    y = y.copy()
    y[0] = "weather"  # one row of its own
    est = StackedLinear(folds=3).fit(X, y)
    W, b = _VIEW_FITS["svm"](X, np.unique(y, return_inverse=True)[1], 4, est)
    np.testing.assert_allclose(est.coef_, W)
    np.testing.assert_allclose(est.intercept_, b)


def test_nb_log_ratios_favour_the_topics_own_words() -> None:
    X = sp.csr_matrix(np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    R = nb_log_ratios(X, np.array([0, 0, 1]), 2, alpha=1.0)
    assert R[0, 0] > 0 > R[0, 1]  # feature 0 only in class 0, feature 1 only in class 1
    assert R[1, 1] > 0 > R[1, 0]


@pytest.mark.parametrize(
    ("views", "message"),
    [("svm+lstm", r"unknown view\(s\) 'lstm'"), ("svm+svm", "at most once"), ("", "unknown view")],
)
def test_bad_views_are_named(views: str, message: str) -> None:
    X, y = tiny_matrix()
    with pytest.raises(ValueError, match=message):
        StackedLinear(views=views).fit(X, y)


def test_pipeline_stack_and_explanations_read_its_weights() -> None:
    from classify.pipeline.model import Model
    from classify.prediction.explain import Explainer
    from classify.prediction.predictor import Prediction

    texts = [t for t, _ in tiny_rows()]
    labels = [y for _, y in tiny_rows()]
    pipeline = fit_pipeline(texts, labels, {"classifier": "stack"})
    # The stack's blend is collapsed into the pipeline's linear classifier, which model files store.
    assert pipeline.named_steps["clf"].calibration_ == "stack blend"
    model = Model(pipeline=pipeline, meta={})
    explainer = Explainer(model)
    headline = "Central bank raises interest rates by two points"
    topic = str(pipeline.predict([headline])[0])
    # The contributions of the words add up to the score of the topic, less its intercept.
    clf = pipeline.named_steps["clf"]
    score = clf.decision_function(pipeline.named_steps["features"].transform([headline]))[0]
    column = list(clf.classes_).index(topic)
    total = sum(s for _, s in explainer.contributions(headline, topic))
    assert total == pytest.approx(score[column] - clf.intercept_[column], rel=1e-5)
    assert explainer.why(Prediction(headline=headline, topic=topic, confidence=0.9, topics=((topic, 0.9),)))


def test_stack_model_file_round_trip(tmp_path: Path) -> None:
    from classify.pipeline.model import Model, load_model, save_model

    texts = [t for t, _ in tiny_rows()]
    labels = [y for _, y in tiny_rows()]
    settings = {"classifier": "stack", "views": "svm+mnb", "blend_bias": False}
    pipeline = fit_pipeline(texts, labels, settings)
    path = save_model(Model(pipeline=pipeline, meta={"topics": sorted(set(labels))}), tmp_path / "s.model")
    again = load_model(path)
    assert np.array_equal(again.predict_proba(texts), pipeline.predict_proba(texts))
    assert again.meta["topics"] == sorted(set(labels))
    assert again.pipeline.named_steps["clf"].blend_bias is False
    # The setting changes the model: without per-topic biases the blend is another one.
    with_bias = fit_pipeline(texts, labels, {**settings, "blend_bias": True})
    assert not np.allclose(with_bias.named_steps["clf"].intercept_, pipeline.named_steps["clf"].intercept_)


def test_macro_f1_shifts_raise_held_out_macro_f1_and_leave_noise_alone() -> None:
    from classify.pipeline.stacking import _macro_f1, macro_f1_shifts

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [200, 200, 40])
    scores = np.eye(3)[y] * 2.0 + rng.normal(0, 0.7, (440, 3))
    scores[:, 2] -= 2.0  # the rare class is under-predicted
    shift = macro_f1_shifts(scores, y)
    assert _macro_f1(y, (scores + shift).argmax(axis=1), 3) > _macro_f1(y, scores.argmax(axis=1), 3) + 0.02
    assert shift[2] - shift[:2].mean() > 0.3
    # Scores already right: nothing to gain, nothing moves.
    np.testing.assert_array_equal(macro_f1_shifts(np.eye(3)[y], y), np.zeros(3))
