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

__version__ = "0.1.0"

from classify.data import LabelledData, load_labelled
from classify.default_model import load_default_model
from classify.errors import ClassifyError, DataError, ModelError
from classify.evaluate import CrossValidation, Evaluation, cross_validate, evaluate_model, train_and_test
from classify.model import Model, build_pipeline, load_model, save_model
from classify.predict import Prediction, PredictOptions, predict, predict_records
from classify.settings import DEFAULT_PARAMS, DEFAULT_SETTINGS, Settings
from classify.train import TrainResult, train

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
