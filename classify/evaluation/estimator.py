"""The classify pipeline as a scikit-learn estimator, and the space of settings the tuner samples.

:class:`PipelineEstimator`'s parameters are exactly the fields of
:class:`~classify.pipeline.settings.Settings`, so it works with ``GridSearchCV`` and friends as well as
with :func:`classify.evaluation.tuning.tune`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, ClassifierMixin

from classify.pipeline.features import TextInput
from classify.pipeline.model import fit_pipeline
from classify.pipeline.settings import CLASSIFIERS, DEFAULT_SETTINGS, Settings

if TYPE_CHECKING:
    import numpy as np


class PipelineEstimator(TextInput, ClassifierMixin, BaseEstimator):
    """The classify pipeline as an estimator whose parameters are the fields of :class:`Settings`.

    ``fit`` calls :func:`classify.pipeline.model.fit_pipeline`, so what is tuned is exactly what is trained.
    scikit-learn's ``get_params`` reads the parameters off ``__init__``, which is why they are
    spelled out here again; the defaults come from :data:`~classify.pipeline.settings.DEFAULT_SETTINGS`.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = DEFAULT_SETTINGS.word_ngrams,
        char_ngrams: tuple[int, int] | None = DEFAULT_SETTINGS.char_ngrams,
        min_df: float = DEFAULT_SETTINGS.min_df,
        sublinear_tf: bool = DEFAULT_SETTINGS.sublinear_tf,
        char_weight: float = DEFAULT_SETTINGS.char_weight,
        classifier: str = DEFAULT_SETTINGS.classifier,
        C: float = DEFAULT_SETTINGS.C,
        views: str = DEFAULT_SETTINGS.views,
        blend_bias: bool = DEFAULT_SETTINGS.blend_bias,
        word_vectors: float = DEFAULT_SETTINGS.word_vectors,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.char_weight = char_weight
        self.classifier = classifier
        self.C = C
        self.views = views
        self.blend_bias = blend_bias
        self.word_vectors = word_vectors

    def fit(self, X: Sequence[str], y: Sequence[str]) -> PipelineEstimator:
        """Fit the pipeline on headlines ``X`` and topics ``y``."""
        self.pipeline_ = fit_pipeline(list(X), [str(t) for t in y], Settings(**self.get_params()))
        self.classes_ = self.pipeline_.classes_
        return self

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Most likely topic of each headline."""
        return self.pipeline_.predict(list(X))

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Topic probabilities, columns in ``classes_`` order."""
        return self.pipeline_.predict_proba(list(X))


def search_space() -> dict[str, Any]:
    """Distributions of the settings searched (``ParameterSampler`` form), one per :class:`Settings` field.

    The ranges bracket the defaults: C on a log scale over two decades, word n-grams up to
    trigrams, character n-grams from none to 3-6-grams, the rarest-term cut-off, and the character
    block's weight against the word block's.
    """
    from scipy.stats import loguniform

    return {
        "word_ngrams": [(1, 1), (1, 2), (1, 3)],
        "char_ngrams": [None, (2, 4), (2, 5), (3, 5), (3, 6), (1, 4)],
        "min_df": [1, 2, 3],
        "sublinear_tf": [True, False],
        "char_weight": [0.5, 0.75, 1.0, 1.5, 2.0],
        "classifier": list(CLASSIFIERS),
        "C": loguniform(0.05, 5.0),
        # Views blended by the "stack" classifier (ignored by the others).
        "views": ["svm+nbsvm+mnb", "svm+nbsvm", "svm+mnb", "nbsvm+mnb", "nbsvm", "svm+nbsvm+mnb+emb"],
        # Whether the stack's blend learns per-topic biases (ignored by the other classifiers).
        "blend_bias": [True, False],
        # Static word-vector columns (svm and logreg; classify.pipeline.embeddings).
        "word_vectors": [0.0, 0.25, 0.35, 0.5],
    }
