"""Word + character n-gram TF-IDF features for headlines: :class:`HeadlineVectorizer`, and the
fixed-width hashed variant of streaming training, :class:`HashedHeadlineVectorizer`.

:class:`HeadlineVectorizer` computes the same matrix as the scikit-learn ``FeatureUnion`` of a word
1-2-gram ``TfidfVectorizer`` and a ``char_wb`` 2-5-gram ``TfidfVectorizer`` (:func:`reference_union`:
same sorted columns, same values up to float32 rounding), several times faster at prediction time,
because it analyses each distinct whitespace token once (how: :mod:`classify.pipeline._ngrams`).

It follows scikit-learn's estimator rules: parameters are set in ``__init__`` and checked in ``fit``
(by :func:`classify.pipeline.settings.check_setting`, as every other reader of settings does); derived
look-ups are built at the end of ``fit`` and again when a model is loaded, never in ``transform``,
which leaves ``__dict__`` as it was (its token cache is filled in place). ``token_features`` maps
columns back to whole words, for explanations.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

import classify.pipeline._counting as ngr
from classify.pipeline.hashing import HashedFeatures
from classify.pipeline.runtime import DERIVED, HeadlineFeatures
from classify.text import char_wb_ngrams, preprocess

__all__ = [
    "HashedHeadlineVectorizer",
    "HeadlineVectorizer",
    "TextInput",
    "char_wb_ngrams",
    "preprocess",
    "reference_union",
]


class TextInput:
    """Declares text input (one string per sample), as scikit-learn's own vectorizers do.

    A mixin for the estimators that take headlines: put it before ``BaseEstimator``.
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


class HeadlineVectorizer(TextInput, TransformerMixin, BaseEstimator, HeadlineFeatures):
    """Word n-gram plus ``char_wb`` n-gram TF-IDF, each block l2-normalised, in float32.

    Equivalent to ``FeatureUnion([("word", TfidfVectorizer(ngram_range=word_ngrams, ...)), ("char",
    TfidfVectorizer(analyzer="char_wb", ngram_range=char_ngrams, ...))],
    transformer_weights={"word": 1, "char": char_weight})`` with ``strip_accents="unicode"``,
    ``sublinear_tf``, ``min_df`` and ``dtype=np.float32`` on both, and the same sorted column order,
    but it analyses each distinct token only once (see the module docstring).

    Parameters
    ----------
    word_ngrams
        Smallest and largest word n-gram (words as scikit-learn's default ``token_pattern`` finds them).
    char_ngrams
        Smallest and largest character n-gram inside word bounds, or ``None`` for no character block.
    min_df
        Drop features found in fewer documents (an int) or a smaller fraction of them (a float).
    sublinear_tf
        Use ``1 + log(count)`` instead of the raw count.
    char_weight
        Factor on the (normalised) character block.
    cache_size
        Distinct tokens remembered between calls; past this the cache starts afresh, so that a long
        stream of new words cannot grow memory without bound. Does not change results.

    Attributes
    ----------
    word_vocabulary_, char_vocabulary_ : dict
        Feature -> column inside its block (as ``TfidfVectorizer.vocabulary_``).
    n_word_features_, n_features_ : int
        Columns of the word block (which comes first) and in all.
    idf_ : ndarray of shape (n_features_,)
        Inverse document frequencies, smoothed as scikit-learn smooths them.

    Notes
    -----
    Not safe to share between threads while transforming: the token cache is filled in place.
    """

    def _check_fitted(self) -> None:
        check_is_fitted(self, "idf_")

    def fit(self, raw_documents: Iterable[str], y: Any = None) -> HeadlineVectorizer:
        """Learn the vocabularies and idf weights from the training headlines.

        Features are counted in a provisional id space with the same token-table product as
        :meth:`transform`, then pruned by ``min_df`` and sorted by name, as scikit-learn sorts them.

        Parameters
        ----------
        raw_documents
            Training headlines (a single string is refused, as scikit-learn refuses it).
        y
            Ignored.
        """
        self._check_params()
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        docs = list(raw_documents)
        n_docs = len(docs)
        # The separator may get a provisional id without occurring: a document frequency of 0
        # drops its features below.
        token_ids = ngr.FirstSight()
        tok, tok_doc = ngr.split_tokens(docs, token_ids)
        w_lo, w_hi = self.word_ngrams
        # Provisional ids: words and character n-grams in order of first sight, looked up for all
        # distinct tokens at once (one C-level map per kind, as in TokenTable.flush).
        unique = list(token_ids)
        words = [ngr.WORD.findall(t) for t in unique]
        word_ids = ngr.FirstSight()
        seq_arr = ngr.get_ids(word_ids, [w for ws in words for w in ws])
        seq_len = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        char_ids = ngr.FirstSight()
        char_range = tuple(self.char_ngrams) if self.char_ngrams else None
        char_cols = char_lens = np.zeros(0, dtype=np.int64)
        if char_range:
            grams = [char_wb_ngrams(t, char_range) for t in unique]  # type: ignore[arg-type]
            char_cols = ngr.get_ids(char_ids, [g for gs in grams for g in gs])
            char_lens = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        seq_ptr = np.cumsum(seq_len) - seq_len
        # The word sequence of every document, concatenated.
        pick = ngr.gather(seq_ptr[tok], seq_len[tok])
        words_all = seq_arr[pick]
        words_doc = np.repeat(tok_doc, seq_len[tok])
        n_words = len(word_ids)

        # Word n-grams: unigrams are the words themselves; longer ones get ids level by level.
        gram_rows: list[np.ndarray] = []
        gram_ids: list[np.ndarray] = []
        gram_first: list[np.ndarray] = []  # position of a first occurrence, to name the n-gram
        gram_n: list[int] = []
        offset = 0
        for n in range(max(w_lo, 2), w_hi + 1):
            count = len(words_all) - n + 1
            if count <= 0:
                continue
            start = np.flatnonzero(words_doc[:count] == words_doc[n - 1 :])
            prefix = words_all[start]
            for j in range(1, n):
                uniq, first, prefix = np.unique(
                    prefix * n_words + words_all[start + j], return_index=True, return_inverse=True
                )
            gram_rows.append(words_doc[start])
            gram_ids.append(prefix + offset)
            gram_first.append(start[first])
            gram_n.extend([n] * len(uniq))
            offset += len(uniq)
        n_long = offset
        n_uni = n_words if w_lo == 1 else 0
        n_prov_word = n_long + n_uni
        n_prov = n_prov_word + len(char_ids)

        # Token table in the provisional space, under an identity block for the longer n-grams.
        table = ngr.stack_rows(
            [
                (seq_arr + n_long, seq_len) if n_uni else None,
                (char_cols + n_prov_word, char_lens) if char_range else None,
            ],
            n_rows=len(token_ids),
            n_cols=n_prov,
        )
        identity = sp.csr_matrix(
            (np.ones(n_long, np.float32), np.arange(n_long), np.arange(n_long + 1)), shape=(n_long, n_prov)
        )
        counts = ngr.count_matrix(
            n_docs,
            tok_doc,
            tok + n_long,
            np.concatenate(gram_rows) if gram_rows else np.zeros(0, np.int64),
            np.concatenate(gram_ids) if gram_ids else np.zeros(0, np.int64),
            sp.vstack([identity, table], format="csr"),
        )
        if counts.nnz == 0:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        df = np.bincount(counts.indices, minlength=n_prov)
        min_count = self.min_df if not isinstance(self.min_df, float) else self.min_df * n_docs
        keep = df >= max(min_count, 1)  # only features that occur, as in scikit-learn

        # Names of the kept features, then scikit-learn's order: sorted by name within each block.
        word_list = list(word_ids)
        names: list[str] = []
        prov: list[int] = []
        firsts = np.concatenate(gram_first) if gram_first else np.zeros(0, np.int64)
        for g in np.flatnonzero(keep[:n_long]).tolist():
            at = int(firsts[g])
            names.append(" ".join(word_list[w] for w in words_all[at : at + gram_n[g]]))
            prov.append(g)
        if n_uni:
            for w in np.flatnonzero(keep[n_long:n_prov_word]):
                names.append(word_list[w])
                prov.append(int(w) + n_long)
        order = sorted(range(len(names)), key=names.__getitem__)
        self.word_vocabulary_ = {names[i]: col for col, i in enumerate(order)}
        word_prov = np.asarray([prov[i] for i in order], dtype=np.int64)
        char_list = list(char_ids)
        char_keep = np.flatnonzero(keep[n_prov_word:])
        char_names = sorted(char_list[c] for c in char_keep)
        self.char_vocabulary_ = {g: col for col, g in enumerate(char_names)}
        char_prov = np.asarray([char_ids[g] + n_prov_word for g in char_names], dtype=np.int64)
        if not self.word_vocabulary_ or (char_range and not self.char_vocabulary_):
            raise ValueError("After pruning, no terms remain. Try a lower min_df.")
        self.n_word_features_ = len(self.word_vocabulary_)
        self.n_features_ = self.n_word_features_ + len(self.char_vocabulary_)
        kept_df = df[np.concatenate([word_prov, char_prov])].astype(np.float32)
        self.idf_ = np.log(np.float32(n_docs + 1) / (kept_df + np.float32(1.0))) + np.float32(1.0)

        # Look-up tables for transform: word ids of the words in known n-grams, and per length the
        # sorted keys of each level (see ngr.ngram_ids).
        long_cols = [(col, p) for col, p in enumerate(word_prov.tolist()) if p < n_long]
        member: dict[str, int] = {}
        gram_words: dict[int, list[tuple[list[int], int]]] = {}
        for col, g in long_cols:
            at = int(firsts[g])
            ws = [member.setdefault(word_list[w], len(member)) for w in words_all[at : at + gram_n[g]]]
            gram_words.setdefault(gram_n[g], []).append((ws, col))
        self._ngram_words = member
        self._ngram_base = max(len(member), 1)
        levels: dict[int, tuple[list[np.ndarray], np.ndarray]] = {}
        for n, known in gram_words.items():
            ws_arr = np.asarray([ws for ws, _ in known], dtype=np.int64)
            cols = np.asarray([c for _, c in known], dtype=np.int64)
            keys: list[np.ndarray] = []
            prefix = ws_arr[:, 0]
            for j in range(1, n):
                uniq, prefix = np.unique(prefix * self._ngram_base + ws_arr[:, j], return_inverse=True)
                keys.append(uniq)
            final = np.empty(len(keys[-1]), dtype=np.int64)
            final[prefix] = cols
            levels[n] = (keys, final)
        self._ngram_levels = levels
        self._build_derived()
        return self

    def fit_transform(self, raw_documents: Iterable[str], y: Any = None, **fit_params: Any) -> sp.csr_matrix:
        """Fit, then transform the same headlines (read once into a list, so a generator works)."""
        docs = list(raw_documents) if not isinstance(raw_documents, str) else raw_documents
        return self.fit(docs).transform(docs)

    # ------------------------------------------------------------ model files

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state as JSON-ready scalars and plain arrays, for :mod:`classify.pipeline.modelfile`.

        Vocabularies are stored as their terms in column order, UTF-8 encoded and concatenated,
        with each term's length in characters: no Python objects, so loading cannot run code.
        """
        check_is_fitted(self, "idf_")
        state: dict[str, Any] = {
            "n_word_features": self.n_word_features_,
            "n_features": self.n_features_,
            "ngram_base": self._ngram_base,
            "ngram_lengths": sorted(self._ngram_levels),
        }
        arrays: dict[str, np.ndarray] = {"idf": self.idf_}
        for name, vocabulary in (
            ("word_terms", self.word_vocabulary_),
            ("char_terms", self.char_vocabulary_),
            ("ngram_words", self._ngram_words),
        ):
            text, lengths = _terms_to_arrays(vocabulary)
            arrays[f"{name}_utf8"], arrays[f"{name}_lengths"] = text, lengths
        for n, (keys, final) in self._ngram_levels.items():
            for j, key in enumerate(keys):
                arrays[f"ngram{n}_key{j}"] = key
            arrays[f"ngram{n}_final"] = final
        return state, arrays

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        """Leave the token cache and derived look-ups out of model files: they are rebuilt on load.

        The string-keyed dicts are stored packed (one string and two integer arrays each): joblib
        unpickles with pure-Python code, which takes a second or more for a few hundred thousand dict
        entries, but copies large strings and arrays in one step. This keeps ``classify predict``'s
        start-up short.
        """
        # A copy: object.__getstate__ may hand back the live __dict__, which must stay unpacked.
        state = dict(super().__getstate__())
        for key in DERIVED:
            state.pop(key, None)
        for key in _PACKED:
            if isinstance(state.get(key), dict):
                state[key] = ngr.pack(state[key])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key in _PACKED:
            if isinstance(state.get(key), tuple):
                state[key] = ngr.unpack(state[key])
        super().__setstate__(state)
        if "idf_" in state:
            self._build_derived()


#: Vocabulary dicts (str -> int) that model files store packed.
_PACKED = ("word_vocabulary_", "char_vocabulary_", "_ngram_words")


def reference_union(
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] | None = (2, 5),
    min_df: float = 1,
    sublinear_tf: bool = True,
    char_weight: float = 1.0,
) -> Any:
    """The scikit-learn ``FeatureUnion`` that :class:`HeadlineVectorizer` reproduces.

    Kept as the specification of the features: the tests check the fast vectorizer against it and
    ``bench/vectorizer_speed.py`` times both.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    common = {"min_df": min_df, "sublinear_tf": sublinear_tf, "strip_accents": "unicode", "dtype": np.float32}
    parts: list[tuple[str, Any]] = [("word", TfidfVectorizer(ngram_range=tuple(word_ngrams), **common))]
    weights = {"word": 1.0}
    if char_ngrams:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngrams), **common)))
        weights["char"] = float(char_weight)
    return FeatureUnion(parts, transformer_weights=weights)


class HashedHeadlineVectorizer(TextInput, TransformerMixin, BaseEstimator, HashedFeatures):
    """The scikit-learn estimator of :class:`classify.pipeline.hashing.HashedFeatures` (parameters there).

    What streaming training puts in its pipeline and a model file names; loading for prediction
    rebuilds the plain :class:`~classify.pipeline.hashing.HashedFeatures` instead, without scikit-learn.
    """

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "idf_")


def _terms_to_arrays(vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Terms in column order as (UTF-8 bytes of all of them, each one's length in characters)."""
    terms = sorted(vocabulary, key=vocabulary.__getitem__)
    if [vocabulary[t] for t in terms] != list(range(len(terms))):
        raise ValueError("vocabulary columns are not 0 .. n - 1")
    text = np.frombuffer("".join(terms).encode("utf-8"), dtype=np.uint8)
    lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
    return text, lengths
