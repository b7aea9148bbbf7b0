"""classify: sort news headlines into topics with a TF-IDF + linear classifier.

The public API mirrors the command line::

    from classify import load_labelled, train, save_model, load_model, predict, cross_validate

    data = load_labelled("data.csv")
    model = train(data).model
    save_model(model, "models/site.joblib")
    for p in predict(model, ["Egypt's FM praises ties with Tanzania"]):
        print(p.topic, p.confidence)
"""

from __future__ import annotations

from classify.errors import ClassifyError, DataError, ModelError
from classify.evaluation.evaluate import (
    CrossValidation,
    Evaluation,
    cross_validate,
    evaluate_model,
    train_and_test,
)
from classify.io.labelled import LabelledData, load_labelled
from classify.pipeline.model import Model, build_pipeline, load_model, save_model
from classify.pipeline.settings import DEFAULT_PARAMS, DEFAULT_SETTINGS, Settings
from classify.prediction.predictor import Prediction, PredictOptions, predict, predict_records
from classify.training.default_model import load_default_model
from classify.training.memory import TrainResult, train
from classify.version import __version__

__all__ = [
    "DEFAULT_PARAMS",
    "DEFAULT_SETTINGS",
    "ClassifyError",
    "CrossValidation",
    "DataError",
    "Evaluation",
    "LabelledData",
    "Model",
    "ModelError",
    "PredictOptions",
    "Prediction",
    "Settings",
    "TrainResult",
    "__version__",
    "build_pipeline",
    "cross_validate",
    "evaluate_model",
    "load_default_model",
    "load_labelled",
    "load_model",
    "predict",
    "predict_records",
    "save_model",
    "train",
    "train_and_test",
]
