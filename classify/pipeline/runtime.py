"""Prediction with numpy and scipy alone: a model file's fitted pipeline, without scikit-learn.

Importing scikit-learn (and through it scipy.stats and pandas) cost ``classify predict`` a second
of every run, only to rebuild estimators whose prediction is a few sparse products. The fitted state
of a model file is plain arrays (:mod:`classify.pipeline.modelfile`); what prediction does with them
lives in classes that need no scikit-learn:

- :class:`HeadlineFeatures` (here): the fitted word + character n-gram TF-IDF and its ``transform``;
- :class:`LinearScores` (in :mod:`classify.pipeline._linear_scores`, re-exported here): one weight
  row per topic, an intercept and a temperature, and the probabilities ``softmax(scores / temperature)``;
- :class:`FittedPipeline` (here): the two together, with the part of scikit-learn's ``Pipeline``
  interface that prediction and explanations use (``predict_proba``, ``predict``, ``classes_``,
  ``named_steps``).

The scikit-learn estimators that *fit* these (:class:`classify.pipeline.features.HeadlineVectorizer`
and :class:`classify.pipeline.linear.TopicClassifier`) subclass the first two, so the transform and
the scores are one code path whether a model was just trained or loaded from a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

import classify.pipeline._ngrams as ngr
from classify.pipeline._linear_scores import LinearScores, scores, softmax, weights_layout
from classify.text import preprocess

__all__ = [
    "DERIVED",
    "FittedPipeline",
    "HeadlineFeatures",
    "LinearScores",
    "scores",
    "softmax",
    "weights_layout",
]

#: Derived look-ups, rebuilt from the fitted attributes (at the end of fit, and on load): the token
#: cache and the character n-gram columns. Model files leave them out.
DERIVED = ("_table", "_char_cols")

#: Headlines transformed at a time; the matrices of the chunks are stacked at the end.
_CHUNK = 16_384


class HeadlineFeatures:
    """Fitted word n-gram plus ``char_wb`` n-gram TF-IDF, each block l2-normalised, in float32.

    The parameters are those of :class:`classify.pipeline.features.HeadlineVectorizer`, which documents them
    and fits the attributes; this class holds them and transforms headlines.

    Notes
    -----
    Not safe to share between threads while transforming: the token cache is filled in place.
    """

    def __init__(
        self,
        word_ngrams: tuple[int, int] = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        min_df: float = 1,
        sublinear_tf: bool = True,
        char_weight: float = 1.0,
        cache_size: int = 500_000,
    ) -> None:
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.char_weight = char_weight
        self.cache_size = cache_size

    # ------------------------------------------------------------------ fitting

    def _check_params(self) -> None:
        from classify.pipeline.settings import check_setting

        for name in ("word_ngrams", "char_ngrams", "min_df", "sublinear_tf", "char_weight"):
            value = getattr(self, name)
            try:
                check_setting(name, value)
            except ValueError as exc:
                raise ValueError(f"{name}={value!r}: expected {exc}") from None

    def _check_fitted(self) -> None:
        """Nothing to check: a :class:`HeadlineFeatures` is only made from fitted arrays (the
        scikit-learn subclass checks that ``fit`` ran)."""

    def _build_derived(self) -> None:
        """Build the look-ups that follow from the fitted attributes (after fit, and on load).

        ``transform`` only fills the token cache in place, so it leaves ``__dict__`` as it was, as
        scikit-learn's estimator checks require.
        """
        n_word = self.n_word_features_
        self._char_cols = {g: c + n_word for g, c in self.char_vocabulary_.items()}
        self._table = ngr.TokenTable(
            n_word=n_word,
            n_features=self.n_features_,
            word_columns=self.word_vocabulary_ if self._unigrams else None,
            char_columns=self._char_cols,
            char_ngrams=self.char_ngrams,
            ngram_words=self._ngram_words,
            ngram_keys={n: keys for n, (keys, _) in self._ngram_levels.items()},
        )

    # ---------------------------------------------------------------- transform

    @property
    def _unigrams(self) -> bool:
        return self.word_ngrams[0] == 1

    def _tokens(self, docs: list[str]) -> tuple[ngr.TokenTable, np.ndarray, np.ndarray]:
        """Token ids of all documents, concatenated, with the document index of each."""
        table = self._table
        if len(table.cache) > self.cache_size:
            table.reset()
        tok, tok_doc = ngr.split_tokens(docs, table.cache)
        table.flush()
        return table, tok, tok_doc

    def _long_ngrams(
        self, table: ngr.TokenTable, tok: np.ndarray, tok_doc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Word n-grams of two or more words: start position, column and length of each, and the
        token index of each word position."""
        if not self._ngram_levels:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        lens = table.seq_len[tok]
        words = table.seq_data[ngr.gather(table.seq_ptr[tok], lens)]
        word_tok = np.repeat(np.arange(len(tok), dtype=np.int64), lens)
        starts, cols, lengths = [], [], []
        for n, (_, final) in self._ngram_levels.items():
            levels = table.ngram_levels(n)
            start, gram = ngr.ngram_ids(words, tok_doc[word_tok], n, levels, self._ngram_base)
            starts.append(start)
            cols.append(final[gram])
            lengths.append(np.full(len(start), n, dtype=np.int64))
        return np.concatenate(starts), np.concatenate(cols), np.concatenate(lengths), word_tok

    def transform(self, raw_documents: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF matrix of headlines, in float32, columns as :meth:`get_feature_names_out`.

        Parameters
        ----------
        raw_documents
            Headlines to transform.
        """
        self._check_fitted()
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        docs = list(raw_documents)
        if len(docs) <= _CHUNK:
            return self._transform(docs)
        # Big batches go in chunks: the token strings and temporaries of one chunk stay small (a
        # million headlines at once made str.split alone 10x slower, from memory growth).
        parts = [self._transform(docs[i : i + _CHUNK]) for i in range(0, len(docs), _CHUNK)]
        return sp.csr_matrix(sp.vstack(parts, format="csr"))

    def _transform(self, docs: list[str]) -> sp.csr_matrix:
        table, tok, tok_doc = self._tokens(docs)
        return self._features(len(docs), table, tok, tok_doc, self._long_ngrams(table, tok, tok_doc))

    def _features(
        self,
        n_docs: int,
        table: ngr.TokenTable,
        tok: np.ndarray,
        tok_doc: np.ndarray,
        grams: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ) -> sp.csr_matrix:
        """The TF-IDF rows of a batch from its tokens and word n-grams (:meth:`_long_ngrams`)."""
        start, cols, _, word_tok = grams
        counts = ngr.count_matrix(
            n_docs, tok_doc, tok + table.base_rows, tok_doc[word_tok[start]], cols, table.matrix()
        )
        return self._weight(counts)

    def _weight(self, counts: sp.csr_matrix, rows_per_chunk: int = 2048) -> sp.csr_matrix:
        """Counts -> sublinear tf x idf, each block l2-normalised and weighted, in place.

        Works through the rows in chunks so that the temporaries stay small and in the CPU cache:
        done on the whole matrix at once, fresh 100 MB temporaries made this step 6x slower.
        """
        indptr, indices, data = counts.indptr, counts.indices, counts.data
        idf = self.idf_
        n_word = self.n_word_features_
        weights = np.array([1.0, self.char_weight])
        one = np.float32(1.0)
        for r0 in range(0, counts.shape[0], rows_per_chunk):
            r1 = min(r0 + rows_per_chunk, counts.shape[0])
            lo, hi = indptr[r0], indptr[r1]
            d, ind = data[lo:hi], indices[lo:hi]
            if self.sublinear_tf:
                np.log(d, out=d)
                d += one
            d *= idf[ind]
            # One bin per (row, block): the word and character blocks are normalised separately.
            block = np.repeat(np.arange(0, 2 * (r1 - r0), 2), np.diff(indptr[r0 : r1 + 1]))
            block += ind >= n_word
            norms = np.sqrt(np.bincount(block, weights=d * d, minlength=2 * (r1 - r0))).reshape(-1, 2)
            norms[norms == 0] = 1.0
            d *= (weights / norms).astype(np.float32).ravel()[block]
        return counts

    # ------------------------------------------------------------- introspection

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Feature names in column order, prefixed ``word__`` and ``char__`` as the ``FeatureUnion``
        names them (made on each call: only reports ask, and a model need not hold them)."""
        self._check_fitted()
        return np.asarray(
            [f"word__{t}" for t in self.word_vocabulary_] + [f"char__{g}" for g in self.char_vocabulary_],
            dtype=object,
        )

    def token_features(self, text: str) -> list[tuple[str, np.ndarray]]:
        """For each word of a text, in order, the columns of the features it carries.

        A word carries its character n-grams, the word unigrams inside it and every known word n-gram
        that overlaps it, so that the weight of character n-grams can be attributed back to whole
        words. A feature shared by several words (``" t"`` in two words, or a bigram across two)
        appears under each of them; split its contribution if the parts must add up to the total.

        Parameters
        ----------
        text
            One headline.

        Returns
        -------
        list of (word, columns)
            Whitespace-separated words as the model sees them (lowercased, accents stripped) and the
            sorted unique column indices of their features (int64).
        """
        self._check_fitted()
        table, tok, tok_doc = self._tokens([text])
        marks = self._word_marks(table, tok, self._long_ngrams(table, tok, tok_doc))
        ptr, indices = marks.indptr, marks.indices.astype(np.int64)
        return [(word, indices[ptr[i] : ptr[i + 1]]) for i, word in enumerate(preprocess(text).split())]

    def transform_with_words(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """:meth:`transform` and :meth:`token_features` of many texts at once, from one analysis.

        Returns the TF-IDF matrix, a 0/1 matrix with a row per word marking the columns it carries (the
        words of every text in order, as ``preprocess(text).split()`` gives them), and each word's text
        index. For :meth:`classify.prediction.explain.Explainer.why_many`: explaining a batch word by word in
        Python took 4 s per 20k headlines.
        """
        self._check_fitted()
        docs = list(texts)
        table, tok, tok_doc = self._tokens(docs)
        grams = self._long_ngrams(table, tok, tok_doc)
        return (
            self._features(len(docs), table, tok, tok_doc, grams),
            self._word_marks(table, tok, grams),
            tok_doc,
        )

    def _word_marks(
        self,
        table: ngr.TokenTable,
        tok: np.ndarray,
        grams: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    ) -> sp.csr_matrix:
        """Word x column 0/1 matrix: a word's own n-grams and unigrams, and the word n-grams over it.

        Built with numpy and one compiled sparse sort (sorted, unique columns per row).
        """
        start, cols, lengths, word_tok = grams
        rows = table.base_rows + tok
        own_len = (table.indptr[rows + 1] - table.indptr[rows]).astype(np.int64)
        own_cols = table.indices[ngr.gather(table.indptr[rows], own_len)].astype(np.int64)
        own_word = np.repeat(np.arange(len(tok), dtype=np.int64), own_len)
        # Every word an n-gram covers carries it (once, however often the n-gram covers it).
        gram_word = word_tok[ngr.gather(start, lengths)]
        gram_cols = np.repeat(cols, lengths)
        word = np.concatenate([own_word, gram_word])
        col = np.concatenate([own_cols, gram_cols])
        marks = sp.csr_matrix(
            (np.ones(len(col), dtype=np.float32), (word, col)), shape=(len(tok), self.n_features_)
        )
        marks.sum_duplicates()
        marks.data[:] = 1.0
        return marks

    # ------------------------------------------------------------ model files

    @classmethod
    def from_arrays(
        cls, params: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> Self:
        """Rebuild the fitted features from a model file's settings, numbers and arrays.

        Raises
        ------
        ValueError
            The arrays and numbers do not fit together (a damaged or hand-edited model file).
        """
        features = cls(**params)
        features._check_params()
        features._restore(state, arrays)
        return features

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.word_vocabulary_ = _terms_from_arrays(arrays["word_terms_utf8"], arrays["word_terms_lengths"])
        self.char_vocabulary_ = _terms_from_arrays(arrays["char_terms_utf8"], arrays["char_terms_lengths"])
        self._ngram_words = _terms_from_arrays(arrays["ngram_words_utf8"], arrays["ngram_words_lengths"])
        self.n_word_features_ = int(state["n_word_features"])
        self.n_features_ = int(state["n_features"])
        self._ngram_base = int(state["ngram_base"])
        self.idf_ = np.asarray(arrays["idf"], dtype=np.float32)
        if (
            len(self.word_vocabulary_) != self.n_word_features_
            or self.n_word_features_ + len(self.char_vocabulary_) != self.n_features_
            or self.idf_.shape != (self.n_features_,)
            or self._ngram_base != max(len(self._ngram_words), 1)
            or not np.isfinite(self.idf_).all()
        ):
            raise ValueError("the vocabularies, idf weights and feature counts do not agree")
        levels: dict[int, tuple[list[np.ndarray], np.ndarray]] = {}
        for n in state["ngram_lengths"]:
            n = int(n)
            keys = [np.asarray(arrays[f"ngram{n}_key{j}"], dtype=np.int64) for j in range(n - 1)]
            final = np.asarray(arrays[f"ngram{n}_final"], dtype=np.int64)
            if (
                not keys
                or len(final) != len(keys[-1])
                or (len(final) and final.max() >= self.n_word_features_)
            ):
                raise ValueError(f"the word {n}-gram tables do not agree with the vocabulary")
            levels[n] = (keys, final)
        self._ngram_levels = levels
        self._build_derived()


class FittedPipeline:
    """Features and scores together: the slice of a scikit-learn ``Pipeline`` that prediction uses.

    Parameters
    ----------
    steps
        ``("features", HeadlineFeatures)`` and ``("clf", LinearScores)``, as the pipeline names them.
    parts, source
        What the model file held, per step (:class:`classify.pipeline.modelfile.StepParts`), and the file:
        kept so that :func:`classify.pipeline.modelfile.to_pipeline` can rebuild the scikit-learn estimators.
    """

    def __init__(
        self, steps: Sequence[tuple[str, Any]], *, parts: Sequence[Any] = (), source: str = ""
    ) -> None:
        self.steps = list(steps)
        self.named_steps = dict(self.steps)
        self.parts = list(parts)
        self.source = source
        self._features = self.named_steps["features"]
        self._clf = self.named_steps["clf"]

    @property
    def classes_(self) -> np.ndarray:
        """Topics, in column order of :meth:`predict_proba`."""
        return self._clf.classes_

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each topic for each headline (rows sum to 1)."""
        return self._clf.predict_proba(self._features.transform(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """The likeliest topic of each headline."""
        return self._clf.predict(self._features.transform(texts))


def _terms_from_arrays(text: np.ndarray, lengths: np.ndarray) -> dict[str, int]:
    """Inverse of :func:`_terms_to_arrays`."""
    if text.dtype != np.uint8 or text.ndim != 1 or lengths.ndim != 1 or (lengths < 0).any():
        raise ValueError("a vocabulary is not stored as UTF-8 bytes with term lengths")
    joined = text.tobytes().decode("utf-8")
    if int(lengths.sum()) != len(joined):
        raise ValueError("a vocabulary's term lengths do not match its text")
    return ngr.unpack((joined, lengths, np.arange(len(lengths), dtype=np.int64)))
