"""The model: pipeline settings, the features and classifiers that fit it, the numpy-only runtime
that predicts with it, and model files.

Settings and models are imported here directly (they need nothing beyond the standard library); the
estimators and the runtime classes are re-exported lazily, on first access, so that importing this
package (as ``classify predict`` does) never imports scikit-learn, and numpy only when asked.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from classify.pipeline.model import (
    Model,
    build_pipeline,
    fit_pipeline,
    linear_weights,
    load_model,
    make_meta,
    save_model,
)
from classify.pipeline.settings import (
    DEFAULT_PARAMS,
    DEFAULT_SETTINGS,
    Settings,
    load_settings_file,
    save_settings_file,
)

if TYPE_CHECKING:
    from classify.pipeline.features import HashedHeadlineVectorizer, HeadlineVectorizer
    from classify.pipeline.hashing import HashedFeatures
    from classify.pipeline.linear import TopicClassifier
    from classify.pipeline.runtime import FittedPipeline, HeadlineFeatures, LinearScores
    from classify.pipeline.stacking import StackedLinear

#: Re-exported on first access: name -> the module that defines it.
_LAZY = {
    "FittedPipeline": "classify.pipeline.runtime",
    "HashedFeatures": "classify.pipeline.hashing",
    "HashedHeadlineVectorizer": "classify.pipeline.features",
    "HeadlineFeatures": "classify.pipeline.runtime",
    "HeadlineVectorizer": "classify.pipeline.features",
    "LinearScores": "classify.pipeline.runtime",
    "StackedLinear": "classify.pipeline.stacking",
    "TopicClassifier": "classify.pipeline.linear",
}

__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_SETTINGS",
    "FittedPipeline",
    "HashedFeatures",
    "HashedHeadlineVectorizer",
    "HeadlineFeatures",
    "HeadlineVectorizer",
    "LinearScores",
    "Model",
    "Settings",
    "StackedLinear",
    "TopicClassifier",
    "build_pipeline",
    "fit_pipeline",
    "linear_weights",
    "load_model",
    "load_settings_file",
    "make_meta",
    "save_model",
    "save_settings_file",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
