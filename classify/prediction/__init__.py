"""Prediction: headlines in, result rows out; the one result schema, the writers of each output
format and the one read -> predict -> write loop.

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "predict": "predictor",
    "predict_batches": "predictor",
    "predict_records": "predictor",
    "predict_record_batches": "predictor",
    "Prediction": "results",
    "PredictionBatch": "results",
    "PredictOptions": "results",
    "ResultBatch": "results",
    "RESULT_FIELDS": "results",
    "result_row": "results",
    "PredictRun": "files",
    "predict_files": "files",
    "predict_to_file": "files",
    "Writer": "writers",
    "get_writer": "writers",
    "WRITERS": "writers",
    "Explainer": "explain",
}

if TYPE_CHECKING:
    from classify.prediction.explain import Explainer
    from classify.prediction.files import PredictRun, predict_files, predict_to_file
    from classify.prediction.predictor import (
        predict,
        predict_batches,
        predict_record_batches,
        predict_records,
    )
    from classify.prediction.results import (
        RESULT_FIELDS,
        Prediction,
        PredictionBatch,
        PredictOptions,
        ResultBatch,
        result_row,
    )
    from classify.prediction.writers import WRITERS, Writer, get_writer

__all__ = [
    "RESULT_FIELDS",
    "WRITERS",
    "Explainer",
    "PredictOptions",
    "PredictRun",
    "Prediction",
    "PredictionBatch",
    "ResultBatch",
    "Writer",
    "get_writer",
    "predict",
    "predict_batches",
    "predict_files",
    "predict_record_batches",
    "predict_records",
    "predict_to_file",
    "result_row",
]

__getattr__ = exports(__name__, _EXPORTS)
