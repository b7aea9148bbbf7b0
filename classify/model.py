"""The classification pipeline, and saving and loading trained models.

The pipeline is defined here and only here, so that training, evaluation, tuning and the benchmarks
all measure the same thing.
"""

from __future__ import annotations

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
    from sklearn.pipeline import Pipeline

    from classify.features import HeadlineVectorizer
    from classify.linear import TopicClassifier

    settings = as_settings(params)
    # The word + char_wb TF-IDF union, computed per distinct token instead of per n-gram: same
    # matrix as scikit-learn's FeatureUnion of two TfidfVectorizers, several times faster to predict.
    features = HeadlineVectorizer(**settings.vectorizer_params())
    # A linear model whose fitted state is a few arrays, with temperature-scaled probabilities.
    clf = TopicClassifier(loss=settings.classifier, C=settings.C)
    return Pipeline([("features", features), ("clf", clf)])


def as_settings(params: Settings | Mapping[str, Any] | None) -> Settings:
    """``params`` as :class:`~classify.settings.Settings` (a mapping overrides the defaults)."""
    return params if isinstance(params, Settings) else Settings.from_mapping(params)


def fit_pipeline(
    texts: Sequence[str], labels: Sequence[str], params: Settings | Mapping[str, Any] | None = None
) -> Pipeline:
    """Build the pipeline from ``params`` and fit it on headlines and their topics."""
    pipeline = build_pipeline(params)
    pipeline.fit(list(texts), [str(t) for t in labels])
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

    Explanations and the report's heaviest n-grams both read the weights here.
    """
    clf = pipeline.named_steps["clf"]
    coef = getattr(clf, "coef_", None)
    if coef is None:
        return None
    return {str(t): coef[i] for i, t in enumerate(clf.classes_)}


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
