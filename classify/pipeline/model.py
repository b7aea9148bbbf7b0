"""The classification pipeline, and saving and loading trained models.

The pipeline is defined here and only here, so that training, evaluation, tuning and the benchmarks
all measure the same thing.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import ModelError
from classify.pipeline.settings import Settings
from classify.progress import report

if TYPE_CHECKING:
    import numpy as np
    from sklearn.pipeline import Pipeline

    from classify.pipeline.sets import Conformal, Thresholds

#: What classify 0.1's pickled payloads call themselves (today's files: :mod:`classify.pipeline.modelfile`).
MODEL_FORMAT = "classify-model"


def build_pipeline(params: Settings | Mapping[str, Any] | None = None) -> Pipeline:
    """Build the (unfitted) TF-IDF + linear classifier pipeline.

    Fit it with :func:`fit_pipeline`: the word vectors (``word_vectors``, the stack's ``emb`` view)
    are made from the fitted vocabulary, which a plain ``Pipeline.fit`` cannot hand the classifier,
    so ``Pipeline.fit`` trains without them (and raises for the ``emb`` view).

    Parameters
    ----------
    params
        A :class:`~classify.pipeline.settings.Settings`, or a mapping of overrides of its defaults.

    Raises
    ------
    ValueError
        An unknown setting, or a setting with a wrong value.
    """
    from sklearn.pipeline import Pipeline

    from classify.pipeline.features import HeadlineVectorizer
    from classify.pipeline.linear import TopicClassifier

    settings = as_settings(params)
    # The word + char_wb TF-IDF union, computed per distinct token instead of per n-gram: same
    # matrix as scikit-learn's FeatureUnion of two TfidfVectorizers, several times faster to predict.
    features = HeadlineVectorizer(**settings.vectorizer_params())
    # A linear model whose fitted state is a few arrays, with temperature-scaled probabilities.
    clf = TopicClassifier(
        loss=settings.classifier, C=settings.C, views=settings.views, blend_bias=settings.blend_bias
    )
    return Pipeline([("features", features), ("clf", clf)])


def as_settings(params: Settings | Mapping[str, Any] | None) -> Settings:
    """``params`` as :class:`~classify.pipeline.settings.Settings` (a mapping overrides the defaults)."""
    return params if isinstance(params, Settings) else Settings.from_mapping(params)


def fit_pipeline(
    texts: Sequence[str],
    labels: Sequence[str],
    params: Settings | Mapping[str, Any] | None = None,
    *,
    groups: Sequence[int] | None = None,
) -> Pipeline:
    """Build the pipeline from ``params`` and fit it on headlines and their topics.

    ``groups`` (one per row) keeps the rows of a group in one calibration fold: multi-label training
    gives a headline one row per topic, all of one group.

    With the stack's ``emb`` view or ``word_vectors``, the classifier also gets the fitted
    vocabulary's static word vectors (:func:`classify.pipeline.embeddings.word_projection`), so the steps
    are fitted one by one, as ``Pipeline.fit`` would fit them.
    """
    from classify.pipeline.settings import parse_views

    settings = as_settings(params)
    pipeline = build_pipeline(settings)
    texts, topics = list(texts), [str(t) for t in labels]
    stack = settings.classifier == "stack"
    features, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    report(f"features of {len(texts):,} headlines")
    X = features.fit_transform(texts)
    report(f"fitting on {len(texts):,} headlines")
    if (stack and "emb" in parse_views(settings.views)) or (not stack and settings.word_vectors > 0):
        from classify.pipeline.embeddings import word_projection

        projection = word_projection(features.word_vocabulary_, X.shape[1])
        clf.fit(
            X,
            topics,
            word_projection=projection,
            word_vectors=0.0 if stack else settings.word_vectors,
            groups=groups,
        )
        return pipeline
    clf.fit(X, topics, groups=None if groups is None else list(groups))
    return pipeline


class Model:
    """A fitted pipeline with its provenance.

    Parameters
    ----------
    pipeline
        The fitted scikit-learn ``Pipeline`` (text in, topic probabilities out), or, for a model read
        from a file, its :class:`~classify.pipeline.runtime.FittedPipeline`, which predicts without importing
        scikit-learn; :attr:`pipeline` rebuilds the estimators from it when something needs them.
    meta
        Topics, training rows and counts, data hash, creation time, versions, settings.
    warnings
        Problems noticed on loading (e.g. a pickle-based file), for the caller to show.
    """

    def __init__(self, pipeline: Any, meta: dict[str, Any], warnings: Sequence[str] = ()) -> None:
        from classify.pipeline.runtime import FittedPipeline

        self._fitted = pipeline
        self._pipeline: Pipeline | None = None if isinstance(pipeline, FittedPipeline) else pipeline
        self.meta = meta
        self.warnings = tuple(warnings)

    @property
    def fitted(self) -> Any:
        """What predicts: the pipeline or its runtime form. Both have ``predict_proba``, ``predict``,
        ``classes_`` and ``named_steps`` (``features`` with ``transform`` and ``token_features``,
        ``clf`` with ``coef_``), which is all that prediction and explanations use."""
        return self._fitted

    @property
    def pipeline(self) -> Pipeline:
        """The scikit-learn ``Pipeline`` (built on first use for a model read from a file)."""
        if self._pipeline is None:
            from classify.pipeline.modelfile import to_pipeline

            self._pipeline = to_pipeline(self._fitted)
        return self._pipeline

    @property
    def topics(self) -> list[str]:
        """Topic labels, in the column order of :meth:`predict_proba`."""
        return [str(t) for t in self._fitted.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each topic for each text (rows sum to 1)."""
        return self._fitted.predict_proba(list(texts))

    @property
    def name(self) -> str:
        """The model file it was read from, or ``the model`` (for messages)."""
        return str(getattr(self._fitted, "source", "") or "the model")

    @property
    def multilabel(self) -> bool:
        """Whether the model was trained on several topics per headline (it has ``labels``)."""
        return "multilabel" in self.meta

    def thresholds(self) -> Thresholds | None:
        """The per-topic thresholds of a multi-label model (``None``: a single-label model).

        Raises
        ------
        ModelError
            The model file's thresholds are damaged.
        """
        from classify.pipeline.sets import Thresholds

        if "multilabel" not in self.meta:
            return None
        try:
            return Thresholds.from_json(self.meta["multilabel"])
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{self.name}: damaged model file: {exc}") from None

    def conformal(self) -> Conformal:
        """The calibration scores prediction sets are cut from.

        Raises
        ------
        ModelError
            The model has none (made by an older classify, or by streaming), or they are damaged.
        """
        from classify.pipeline.sets import Conformal

        if "conformal" not in self.meta:
            raise ModelError(
                f"{self.name}: has no calibration scores for prediction sets (made by an older "
                "classify, or by streaming); retrain it with 'classify train' to get sets"
            )
        try:
            return Conformal.from_json(self.meta["conformal"])
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{self.name}: damaged model file: {exc}") from None


def linear_weights(pipeline: Pipeline) -> dict[str, np.ndarray] | None:
    """Per topic, the weight of each feature in the pipeline's linear classifier (``None``: no weights).

    Explanations and the report's heaviest n-grams both read the weights here.
    """
    clf = pipeline.named_steps["clf"]
    coef = getattr(clf, "coef_", None)
    if coef is None:
        return None
    return {str(t): coef[i] for i, t in enumerate(clf.classes_)}


def versions() -> dict[str, str]:
    """Versions that decide whether a saved model can be loaded elsewhere.

    Read from the installed packages' metadata, not by importing them: the default model's
    staleness check runs on every ``classify predict``, which otherwise never imports scikit-learn.
    """
    from importlib.metadata import version

    from classify.version import __version__

    return {"classify": __version__, "scikit-learn": version("scikit-learn"), "numpy": version("numpy")}


def make_meta(
    *,
    topics: Sequence[str],
    counts: Mapping[str, int],
    data_hash: str,
    source: str,
    settings: Settings | Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance stored inside a model file (``settings``: the pipeline's, or a streaming run's)."""
    return {
        "topics": list(topics),
        "counts": dict(counts),
        "n_rows": int(sum(counts.values())),
        "data_hash": data_hash,
        "source": source,
        "params": settings.to_dict() if isinstance(settings, Settings) else dict(settings),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        **(extra or {}),
    }


def save_model(model: Model, path: Path) -> Path:
    """Write a model file (arrays and JSON, :mod:`classify.pipeline.modelfile`), atomically (temp file
    + rename)."""
    import classify.pipeline.modelfile as modelfile
    from classify.atomic import atomic_path

    path = Path(path)
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as out:
            modelfile.write(model.pipeline, model.meta, out)
    except OSError as exc:
        raise ModelError(f"{path}: cannot write model ({exc.strerror or exc})") from None
    return path


#: Suffixes of model files, for suggestions when a path is mistyped.
MODEL_SUFFIXES = (".model", ".joblib")


def missing_model_message(path: Path) -> str:
    """``path`` does not exist: name the close model files beside it, else say how to train one."""
    import difflib

    folder = path.parent if str(path.parent) else Path(".")
    try:
        stems = {p.stem: p.name for p in folder.iterdir() if p.suffix in MODEL_SUFFIXES and p.is_file()}
    except OSError:
        stems = {}
    # Compared by stem, so that a shared suffix does not make every model file look close.
    close = [stems[s] for s in difflib.get_close_matches(path.stem, list(stems), n=3, cutoff=0.6)]
    if close:
        shown = " or ".join(str(folder / n) if str(path.parent) != "." else n for n in close)
        return f"{path}: no such model file; did you mean {shown}?"
    return f"{path}: no such model file; train one with 'classify train DATA -o {path}'"


def load_model(path: Path, *, allow_pickle: bool = False) -> Model:
    """Load a model file saved by :func:`save_model` (or, if allowed, by classify 0.1).

    Parameters
    ----------
    path
        The model file. Its format is told by its content, whatever its name.
    allow_pickle
        Also load classify 0.1's pickle-based files. Loading a pickle runs code from the file: allow
        it only for files you made or trust, and convert them (``classify convert``).

    Raises
    ------
    ModelError
        If the file is missing, damaged, not a classify model, a pickle that is not allowed, or made
        by a newer classify.
    """
    import classify.pipeline.modelfile as modelfile

    path = Path(path)
    if not path.exists():
        raise ModelError(missing_model_message(path))
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if modelfile.is_model_file(head):
        fitted, meta = modelfile.read(path, runtime=True)
        return Model(pipeline=fitted, meta=meta)
    if not allow_pickle:
        raise ModelError(
            f"{path}: cannot load model: not a classify model file, or a pickle-based one from "
            "classify 0.1, which can run code when loaded; if you made it or trust it, convert it: "
            f"classify convert {path} NEW --allow-pickle",
        )
    return _load_pickle(path)


def _load_pickle(path: Path) -> Model:
    """Load a classify 0.1 model file (a joblib pickle) and turn its pipeline into today's."""
    import joblib

    from classify.pipeline.legacy import old_module_names

    with warnings.catch_warnings(), old_module_names():
        warnings.simplefilter("ignore")  # scikit-learn's version warnings: the pipeline is rebuilt below
        try:
            payload = joblib.load(path)
        except Exception as exc:  # unpickling can fail in many ways; all mean "not usable"
            raise ModelError(
                f"{path}: cannot load model ({type(exc).__name__}); the file is corrupt or was saved by "
                "an incompatible version: retrain it with 'classify train'"
            ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: not a classify model file")
    if payload.get("format_version", 0) > 1:
        raise ModelError(f"{path}: saved by a newer classify; upgrade classify to use it")
    try:
        pipeline = _modernise(payload["pipeline"])
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: not a usable classify 0.1 model ({type(exc).__name__})") from None
    note = (
        f"{path}: loaded a pickle-based model file (classify 0.1), which can run code; convert it "
        f"with 'classify convert {path} NEW --allow-pickle'"
    )
    return Model(pipeline=pipeline, meta=dict(payload.get("meta", {})), warnings=(note,))


def _modernise(old: Any) -> Pipeline:
    """Classify 0.1's pipeline (a calibrated LinearSVC or a LogisticRegression) as today's."""
    import numpy as np
    from sklearn.pipeline import Pipeline

    from classify.pipeline.linear import TopicClassifier
    from classify.pipeline.runtime import weights_layout

    features, clf = old.named_steps["features"], old.named_steps["clf"]
    if isinstance(clf, TopicClassifier):  # pickled after 0.1 (e.g. a streamed model): today's already
        return Pipeline([("features", features), ("clf", clf)])
    calibrated = getattr(clf, "calibrated_classifiers_", None)
    linear = calibrated[0].estimator if calibrated else clf
    coef = np.asarray(linear.coef_, dtype=np.float64)
    intercept = np.asarray(linear.intercept_, dtype=np.float64)
    temperature = 1.0 / float(calibrated[0].calibrators[0].beta_) if calibrated else 1.0
    if coef.shape[0] == 1:
        # One row for two topics: two opposite half rows give the same softmax (see TopicClassifier),
        # and temperature scaling saw the scores as (-d, d), twice the halves' spread.
        coef, intercept = (
            np.vstack([-coef[0] / 2, coef[0] / 2]),
            np.array([-intercept[0] / 2, intercept[0] / 2]),
        )
        temperature = temperature / 2 if calibrated else 1.0
    loss = "svm" if calibrated else "logreg"
    new = TopicClassifier(loss=loss, C=float(linear.C) / (1 if calibrated else 20))
    new.classes_ = np.asarray([str(c) for c in clf.classes_])
    new.coef_ = weights_layout(coef)
    new.intercept_ = intercept.astype(np.float32)
    new.temperature_ = temperature
    new.calibration_ = "cross-validated scores" if calibrated else "none"
    return Pipeline([("features", features), ("clf", new)])
