"""The classification pipeline, and saving and loading trained models.

The pipeline is defined here and only here, so that training, evaluation, tuning and the benchmarks
all measure the same thing.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import ModelError
from classify.settings import Settings

if TYPE_CHECKING:
    import numpy as np
    from sklearn.pipeline import Pipeline

MODEL_FORMAT = "classify-model"
MODEL_FORMAT_VERSION = 1


def build_pipeline(params: Settings | Mapping[str, Any] | None = None) -> Pipeline:
    """Build the (unfitted) TF-IDF + linear classifier pipeline.

    Parameters
    ----------
    params
        A :class:`~classify.settings.Settings`, or a mapping of overrides of its defaults.

    Raises
    ------
    ValueError
        An unknown setting, or a setting with a wrong value.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    from classify.features import HeadlineVectorizer

    settings = as_settings(params)
    # The word + char_wb TF-IDF union, computed per distinct token instead of per n-gram: same
    # matrix as scikit-learn's FeatureUnion of two TfidfVectorizers, several times faster to predict.
    features = HeadlineVectorizer(**settings.vectorizer_params())
    if settings.classifier == "svm":
        # LinearSVC has no probabilities: calibrate its scores. Temperature scaling is one positive
        # scalar on a softmax, so it never changes the SVM's ranking of topics (Platt's per-class
        # sigmoids can invert on small folds); ensemble=False keeps one SVM at prediction time.
        clf: Any = CalibratedClassifierCV(
            LinearSVC(C=settings.C, class_weight="balanced"), method="temperature", cv=3, ensemble=False
        )
    else:  # "logreg": Settings allows no other
        clf = LogisticRegression(C=settings.C * 20, class_weight="balanced", max_iter=2000)
    return Pipeline([("features", features), ("clf", clf)])


def as_settings(params: Settings | Mapping[str, Any] | None) -> Settings:
    """``params`` as :class:`~classify.settings.Settings` (a mapping overrides the defaults)."""
    return params if isinstance(params, Settings) else Settings.from_mapping(params)


def fit_pipeline(
    texts: Sequence[str], labels: Sequence[str], params: Settings | Mapping[str, Any] | None = None
) -> Pipeline:
    """Build and fit the pipeline, adapting the calibration folds to the smallest topic."""
    from collections import Counter

    settings = as_settings(params)
    pipeline = build_pipeline(settings)
    smallest = min(Counter(labels).values())
    if "cv" in pipeline.named_steps["clf"].get_params():
        if smallest >= 2:
            pipeline.set_params(clf__cv=min(3, smallest))
        else:
            # A topic with one row cannot be calibrated by cross-validation (tiny folds of tiny
            # data): logistic regression gives probabilities without it.
            pipeline = build_pipeline(dataclasses.replace(settings, classifier="logreg"))
    with warnings.catch_warnings():
        # LinearSVC may not fully converge on odd tiny data; the fit is still usable.
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(list(texts), list(labels))
    return pipeline


@dataclass(frozen=True)
class Model:
    """A fitted pipeline with its provenance.

    Attributes
    ----------
    pipeline
        The fitted scikit-learn Pipeline (text in, topic probabilities out).
    meta
        Topics, training rows and counts, data hash, creation time, versions, settings.
    warnings
        Problems noticed on loading (e.g. another scikit-learn version), for the caller to show.
    """

    pipeline: Pipeline
    meta: dict[str, Any]
    warnings: tuple[str, ...] = field(default=())

    @property
    def topics(self) -> list[str]:
        """Topic labels, in the column order of :meth:`predict_proba`."""
        return [str(t) for t in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each topic for each text (rows sum to 1)."""
        return self.pipeline.predict_proba(list(texts))


def linear_weights(pipeline: Pipeline) -> dict[str, np.ndarray] | None:
    """Per topic, the weight of each feature in the pipeline's linear classifier (``None``: no weights).

    The calibrated SVM keeps its one SVM inside ``CalibratedClassifierCV``, fitted on the topics in
    the wrapper's ``classes_`` order; a two-topic model has one row of weights, positive for the second.
    Explanations and the report's heaviest n-grams both read the weights here.
    """
    import numpy as np
    import scipy.sparse as sp

    clf = pipeline.named_steps["clf"]
    calibrated = getattr(clf, "calibrated_classifiers_", None)
    estimator = calibrated[0].estimator if calibrated else clf
    coef = getattr(estimator, "coef_", None)
    if coef is None:
        return None
    coef = coef.toarray() if sp.issparse(coef) else np.asarray(coef)
    topics = [str(t) for t in clf.classes_]
    if coef.shape[0] == 1:
        return {topics[0]: -coef[0], topics[1]: coef[0]}
    return dict(zip(topics, coef, strict=True))


def versions() -> dict[str, str]:
    """Versions that decide whether a saved model can be loaded elsewhere."""
    import numpy
    import sklearn

    from classify import __version__

    return {"classify": __version__, "scikit-learn": sklearn.__version__, "numpy": numpy.__version__}


def make_meta(
    *,
    topics: Sequence[str],
    counts: Mapping[str, int],
    data_hash: str,
    source: str,
    settings: Settings,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Provenance stored inside a model file."""
    return {
        "topics": list(topics),
        "counts": dict(counts),
        "n_rows": int(sum(counts.values())),
        "data_hash": data_hash,
        "source": source,
        "params": settings.to_dict(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        **(extra or {}),
    }


def save_model(model: Model, path: Path) -> Path:
    """Write a model to one joblib file, atomically (temp file + rename)."""
    import joblib

    from classify.atomic import atomic_path

    path = Path(path)
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "meta": model.meta,
        "pipeline": model.pipeline,
    }
    try:
        with atomic_path(path) as tmp:
            joblib.dump(payload, tmp, compress=3)
    except OSError as exc:
        raise ModelError(f"{path}: cannot write model ({exc.strerror or exc})") from None
    return path


def load_model(path: Path) -> Model:
    """Load a model saved by :func:`save_model`.

    Only load model files you trust: like every pickle-based format, loading runs code.

    Raises
    ------
    ModelError
        If the file is missing, corrupt, not a classify model, or unusable with this scikit-learn.
    """
    import joblib

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such model file; train one with 'classify train DATA -o {path}'")
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # unpickling can fail in many ways; all mean "not usable"
            raise ModelError(
                f"{path}: cannot load model ({type(exc).__name__}); the file is corrupt or was saved by "
                "an incompatible version: retrain it with 'classify train'"
            ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: not a classify model file")
    if payload.get("format_version", 0) > MODEL_FORMAT_VERSION:
        raise ModelError(f"{path}: saved by a newer classify; upgrade classify to use it")
    meta = dict(payload.get("meta", {}))
    notes = []
    saved = meta.get("versions", {}).get("scikit-learn")
    current = versions()["scikit-learn"]
    if saved and saved != current:
        notes.append(
            f"{path}: saved with scikit-learn {saved}, running {current}; predictions may differ, "
            "retrain with 'classify train' to be safe"
        )
    elif any("InconsistentVersionWarning" in type(w.message).__name__ for w in caught):
        notes.append(f"{path}: saved with another scikit-learn version; retrain with 'classify train'")
    return Model(pipeline=payload["pipeline"], meta=meta, warnings=tuple(notes))
