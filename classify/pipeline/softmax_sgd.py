"""``SoftmaxSGD``: the linear classifier of streaming training, fitted a chunk at a time.

scikit-learn's ``SGDClassifier`` was measured first: its one-vs-rest ``partial_fit`` copies every
topic's weight vector per call and was slower than the hashing itself (see
``bench/results/scale.md``), so the few lines of AdaGrad are written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from classify.pipeline.runtime import softmax


class SoftmaxSGD:
    """Multinomial logistic regression trained by mini-batch AdaGrad, one chunk at a time.

    ``partial_fit`` updates only the weights of the columns a mini-batch touches, so a chunk costs
    time in proportion to its non-zeros, whatever the width. One learning rate per column (AdaGrad)
    suits hashed text: rare n-grams keep large steps, frequent ones settle. Rows are weighted by
    their topic's weight (``class_weight="balanced"`` from the scan's counts).

    Parameters
    ----------
    n_features
        Width of the feature matrices.
    classes
        Every topic, sorted (all known before the first chunk).
    class_weight
        Weight per topic, in ``classes`` order.
    learning_rate, batch_rows
        Step size and rows per update.
    """

    def __init__(
        self,
        n_features: int,
        classes: np.ndarray,
        class_weight: np.ndarray,
        *,
        learning_rate: float = 0.5,
        batch_rows: int = 1024,
    ) -> None:
        k = len(classes)
        self.classes_ = np.asarray(classes)
        self.class_weight = np.asarray(class_weight, dtype=np.float32)
        self.learning_rate = learning_rate
        self.batch_rows = batch_rows
        self.weights = np.zeros((n_features, k), dtype=np.float32)  # column-major per feature
        self.intercept_ = np.zeros(k, dtype=np.float32)
        self._sq = np.full(n_features, 1e-6, dtype=np.float32)
        self._sq_intercept = np.float32(1e-6)
        self._mark = np.zeros(n_features, dtype=bool)  # scratch space of _compact
        self._pos = np.zeros(n_features, dtype=np.int32)
        self._index = {str(c): i for i, c in enumerate(self.classes_.tolist())}

    def partial_fit(self, X: Any, y: Sequence[str] | np.ndarray) -> SoftmaxSGD:
        """One pass of mini-batch updates over the rows of ``X`` (CSR) with topics ``y``."""
        import scipy.sparse as sp

        target = np.asarray([self._index[str(t)] for t in y])
        lr = np.float32(self.learning_rate)
        for start in range(0, X.shape[0], self.batch_rows):
            part = X[start : start + self.batch_rows]
            truth = target[start : start + self.batch_rows]
            rows = part.shape[0]
            cols, local = self._compact(part.indices)
            xc = sp.csr_matrix((part.data, local.astype(np.int32), part.indptr), shape=(rows, len(cols)))
            wc = self.weights[cols]
            residual = softmax(np.asarray(xc @ wc) + self.intercept_)
            residual[np.arange(rows), truth] -= 1
            residual *= (self.class_weight[truth] / rows)[:, None]
            grad = np.asarray(xc.T @ residual, dtype=np.float32)
            # In place, each column's AdaGrad state gathered and scattered once: these arrays are
            # columns x topics, and fresh temporaries for every step cost a tenth of the training.
            sq = self._sq[cols]
            sq += np.square(grad).mean(axis=1)
            self._sq[cols] = sq
            np.sqrt(sq, out=sq)
            np.divide(lr, sq, out=sq)
            grad *= sq[:, None]
            wc -= grad
            self.weights[cols] = wc
            g0 = residual.sum(axis=0)
            self._sq_intercept += np.float32(np.square(g0).mean())
            self.intercept_ -= lr / np.sqrt(self._sq_intercept) * g0.astype(np.float32)
        return self

    def _compact(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distinct columns of a mini-batch, sorted, and each entry's position among them.

        What ``np.unique(indices, return_inverse=True)`` gives, without its sort: a mark per column
        and a position table, both as wide as the features and reused (only the marked entries are
        cleared). With 8,192-row batches (1.3M entries) the sort was a third of the training time.
        """
        mark, pos = self._mark, self._pos
        mark[indices] = True
        cols = np.flatnonzero(mark)
        mark[cols] = False
        pos[cols] = np.arange(len(cols), dtype=np.int32)
        return cols, pos[indices]

    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(X @ self.weights) + self.intercept_

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]
