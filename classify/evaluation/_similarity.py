"""The near-duplicate similarity: the mean of a word and a character 3-5-gram TF-IDF cosine.

Words catch shared names and numbers; character n-grams within word bounds catch inflections,
reordering and small spelling changes. Every grouping method is checked against these vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: scikit-learn's default ``token_pattern``: the word half of :func:`similarity_vectors`.
WORD_PATTERN = r"(?u)\b\w\w+\b"


def similarity_vectors(texts: Sequence[str]) -> Any:
    """L2-normalised sparse vectors whose dot product is the near-duplicate similarity.

    Each half (words, characters) is normalised on its own and scaled by ``sqrt(1/2)``, so a dot
    product is the mean of the two cosines and every vector still has unit length.
    """
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    blocks = []
    for vectorizer in (
        TfidfVectorizer(
            token_pattern=WORD_PATTERN,
            lowercase=True,
            strip_accents="unicode",
            sublinear_tf=True,
            dtype=np.float32,
        ),
        TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(3, 5),
            lowercase=True,
            strip_accents="unicode",
            sublinear_tf=True,
            dtype=np.float32,
        ),
    ):
        try:
            blocks.append(vectorizer.fit_transform(list(texts)))
        except ValueError:  # empty vocabulary (e.g. only one-letter words): the other half decides
            continue
    if not blocks:
        return sp.csr_matrix((len(texts), 1), dtype=np.float32)
    matrix = sp.hstack(blocks, format="csr") * np.float32(np.sqrt(1 / len(blocks)))
    # A text with no features in one half has a shorter vector; renormalise so cosine stays honest.
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1 / norms) @ matrix
