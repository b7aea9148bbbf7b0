"""Fast word + character n-gram TF-IDF features for headlines.

:class:`HeadlineVectorizer` computes the same matrix as the scikit-learn ``FeatureUnion`` of a word
1-2-gram ``TfidfVectorizer`` and a ``char_wb`` 2-5-gram ``TfidfVectorizer`` (same sorted columns, same
values up to float32 rounding), several times faster at prediction time.

Why it is faster: scikit-learn extracts every character n-gram of every document in Python and looks
each one up in a dict, about 150 look-ups per headline. But ``char_wb`` n-grams never cross whitespace
(each word is padded with one space on each side and cut into n-grams inside it), so a document's
character counts are the sum of its words' counts, and words repeat a lot. Here each distinct
whitespace token is analysed once and its feature columns are kept in a table (a sparse matrix ``T``
with one row per token); a batch of documents becomes a sparse document-by-token matrix ``D``, and
``D @ T`` (compiled sparse code) adds the rows up. Word n-grams of two or more words, which do cross
whitespace, are looked up with numpy (sorted integer keys and ``searchsorted``) and enter ``D`` as rows
of an identity block at the top of ``T``. The Python-level work left is one lowercasing per headline
and one dict look-up per token (a batch is split as one string); tokens never seen before are
analysed together, in one pass, when a batch first meets them.

``token_features`` maps columns back to whole words, for explanations.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

#: Attributes rebuilt on demand from the fitted ones: the token cache, feature names, char columns.
_DERIVED = ("_table", "_names", "_char_cols")

#: Headlines transformed at a time; the matrices of the chunks are stacked at the end.
_CHUNK = 16_384

#: scikit-learn's default ``token_pattern``: words of two or more word characters.
_WORD = re.compile(r"(?u)\b\w\w+\b")


def preprocess(text: str) -> str:
    """Lowercase and strip accents exactly as ``TfidfVectorizer(strip_accents="unicode")`` does.

    The ASCII test comes first because it is nearly free and most headlines pass it, which skips the
    costly NFKD normalisation.
    """
    text = text.lower()
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    return "".join([c for c in normalized if not unicodedata.combining(c)])


def char_wb_ngrams(token: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams of one whitespace token, as scikit-learn's ``char_wb`` analyzer makes them.

    The token is padded with one space on each side. A padded token no longer than ``n`` yields itself
    once and stops the loop over longer ``n`` (scikit-learn counts a short word only once), so this
    must not be "simplified" into plain slicing.
    """
    lo, hi = ngram_range
    w = f" {token} "
    size = len(w)
    out: list[str] = []
    for n in range(lo, hi + 1):
        if size <= n:
            out.append(w)
            break
        out.extend([w[i : i + n] for i in range(size - n + 1)])
    return out


def _gather(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices of the concatenation of the ranges ``starts[i] : starts[i] + lengths[i]``, without a loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts.astype(np.int64) - offsets, lengths) + np.arange(total, dtype=np.int64)


def _lookup(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Position of each key in ``sorted_keys``, or -1 where it is absent."""
    if len(sorted_keys) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    return np.where(sorted_keys[pos] == keys, pos, -1)


#: Marks the end of each document when a batch is split as one string. It is looked up like any
#: token (so a headline that really holds it is still analysed right); :func:`split_tokens` only
#: treats it as a boundary after checking that no headline of the batch contains it.
_SEP = "\x00"


def split_tokens(docs: Sequence[str], ids: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Preprocess and whitespace-split a batch; return each token's id and its document's index.

    The batch is joined with a separator token and split once: splitting each headline into its own
    list made a million small lists, and the garbage collector's passes over them tripled the time.
    Preprocessing stays per headline (the ASCII test is nearly free), because lowercasing after
    accent stripping would differ from scikit-learn on a few characters.

    Parameters
    ----------
    docs
        Raw headlines.
    ids
        Token -> id; looking up a token it lacks must add it (a dict with ``__missing__``).
    """
    pre = [d.lower() if d.isascii() else preprocess(d) for d in docs]
    joined = f" {_SEP} ".join(pre)
    if joined.count(_SEP) == len(docs) - 1:
        tokens = joined.split()
        tok = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        boundary = tok == ids[_SEP]
        doc = np.cumsum(boundary)
        return tok[~boundary], doc[~boundary]
    # A headline holds the separator itself: split one by one.
    split = [d.split() for d in pre]
    lens = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    tokens = [t for toks in split for t in toks]
    tok = np.fromiter(map(ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    return tok, np.repeat(np.arange(len(docs), dtype=np.int64), lens)


class _FirstSight(dict):
    """Token -> id in order of first sight (the fit's provisional ids)."""

    def __missing__(self, token: str) -> int:
        value = self[token] = len(self)
        return value


def _ngram_ids(
    words: np.ndarray, docs: np.ndarray, n: int, levels: Sequence[np.ndarray], base: int
) -> tuple[np.ndarray, np.ndarray]:
    """Find the known n-grams (n >= 2) in a flat sequence of word ids.

    An n-gram is identified one word at a time: a known prefix id times ``base`` plus the next word id
    is looked up in that level's sorted keys, and its position there is the next prefix id. Keys stay
    far below 2**63 whatever ``n`` is, unlike a single base-``base`` number of ``n`` digits.

    Parameters
    ----------
    words
        Word ids of all documents concatenated (-1 for words in no known n-gram).
    docs
        Document index of each word, to keep n-grams inside one document.
    n
        N-gram length.
    levels
        ``n - 1`` sorted key arrays; the position in the last one is the n-gram's id.
    base
        One more than the largest word id.

    Returns
    -------
    start, ngram
        Position of the first word of each n-gram found, and its id.
    """
    count = len(words) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    start = np.flatnonzero((docs[:count] == docs[n - 1 :]) & (words[:count] >= 0))
    prefix = words[start]
    for j in range(1, n):
        nxt = words[start + j]
        keep = nxt >= 0
        start, prefix, nxt = start[keep], prefix[keep], nxt[keep]
        prefix = _lookup(prefix * base + nxt, levels[j - 1])
        keep = prefix >= 0
        start, prefix = start[keep], prefix[keep]
    return start, prefix


class _TokenTable:
    """Per-token feature rows, filled on first sight of each token and reused afterwards.

    Row ``r`` of :meth:`matrix` holds the features a token carries on its own (its character
    n-grams and word unigrams), one entry per occurrence; rows ``0 .. n_word - 1`` are an identity
    block so that word n-grams found across tokens can be added through the same product. The
    ``seq_*`` arrays hold each token's word ids for the n-gram search.

    New tokens are only queued on look-up and analysed together in :meth:`flush`: one ``map`` of
    ``dict.get`` over all their n-grams is over twice as fast as analysing them one by one.
    """

    def __init__(self, vectorizer: HeadlineVectorizer) -> None:
        self.vec = vectorizer
        self.cache: _Cache = _Cache(self)
        n_word = vectorizer.n_word_features_
        self.base_rows = n_word
        self.indptr = np.arange(n_word + 1, dtype=np.int32)
        self.indices = np.arange(n_word, dtype=np.int32)
        self.data = np.ones(n_word, dtype=np.float32)
        self.rows = n_word
        self.nnz = n_word
        self.seq_ptr = np.zeros(1, dtype=np.int64)
        self.seq_len = np.zeros(0, dtype=np.int64)
        self.seq_data = np.zeros(0, dtype=np.int64)
        self.pending: list[str] = []

    def flush(self) -> None:
        """Analyse the tokens queued since the last flush and append their rows."""
        tokens = self.pending
        if not tokens:
            return
        vec = self.vec
        count = len(tokens)
        words = [_WORD.findall(t) for t in tokens]
        flat_words = [w for ws in words for w in ws]
        word_lens = np.fromiter(map(len, words), dtype=np.int64, count=count)
        rows, cols = [], []
        if vec._unigrams:
            rows.append(np.repeat(np.arange(count), word_lens))
            cols.append(_get_all(vec.word_vocabulary_, flat_words))
        if vec.char_ngrams:
            ngram_range: tuple[int, int] = tuple(vec.char_ngrams)  # type: ignore[assignment]
            grams = [char_wb_ngrams(t, ngram_range) for t in tokens]
            gram_lens = np.fromiter(map(len, grams), dtype=np.int64, count=count)
            rows.append(np.repeat(np.arange(count), gram_lens))
            cols.append(_get_all(vec._char_columns, [g for gs in grams for g in gs]))
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        if len(rows) > 1:
            order = np.argsort(row, kind="stable")
            row, col = row[order], col[order]
        known = col >= 0
        row, col = row[known], col[known]
        added = len(col)
        lens = np.bincount(row, minlength=count)
        self.indices = _append(self.indices, self.nnz, col.astype(np.int32))
        self.data = _append(self.data, self.nnz, np.ones(added, dtype=np.float32))
        self.indptr = _append(self.indptr, self.rows + 1, (self.nnz + np.cumsum(lens)).astype(np.int32))
        self.nnz += added
        self.rows += count
        if vec._ngram_levels:
            used = int(self.seq_ptr[-1])
            ids = _get_all(vec._ngram_words, flat_words)
            self.seq_data = np.concatenate([self.seq_data[:used], ids])
            self.seq_ptr = np.concatenate([self.seq_ptr, used + np.cumsum(word_lens)])
            self.seq_len = np.concatenate([self.seq_len, word_lens])
        tokens.clear()

    def matrix(self) -> sp.csr_matrix:
        """The table as a sparse matrix (views on the buffers, no copy)."""
        return sp.csr_matrix(
            (self.data[: self.nnz], self.indices[: self.nnz], self.indptr[: self.rows + 1]),
            shape=(self.rows, self.vec.n_features_),
            copy=False,
        )


class _Cache(dict):
    """Token -> token id; a miss queues the token for analysis (``dict.__getitem__`` stays in C)."""

    def __init__(self, table: _TokenTable) -> None:
        super().__init__()
        self.table = table

    def __missing__(self, token: str) -> int:
        table = self.table
        token_id = self[token] = table.rows - table.base_rows + len(table.pending)
        table.pending.append(token)
        return token_id


def _get_all(mapping: dict[str, int], keys: list[str]) -> np.ndarray:
    """``mapping[key]`` for each key, -1 where absent, looked up in one C-level loop."""
    return np.fromiter(map(mapping.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))


def _get_ids(ids: _FirstSight, keys: list[str]) -> np.ndarray:
    """Provisional id of each key, new keys numbered in order of first sight."""
    return np.fromiter(map(ids.__getitem__, keys), dtype=np.int64, count=len(keys))


def _append(buffer: np.ndarray, used: int, values: np.ndarray) -> np.ndarray:
    """Write ``values`` after the first ``used`` items, doubling the capacity when needed.

    Doubling keeps the cost of adding tokens one small batch at a time linear overall.
    """
    need = used + len(values)
    if need > len(buffer):
        grown = np.empty(max(need, 2 * len(buffer)), dtype=buffer.dtype)
        grown[:used] = buffer[:used]
        buffer = grown
    buffer[used:need] = values
    return buffer


class HeadlineVectorizer(TransformerMixin, BaseEstimator):
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
        for name in ("word_ngrams", "char_ngrams"):
            value = getattr(self, name)
            if value is None and name == "char_ngrams":
                continue
            if len(value) != 2 or not 1 <= value[0] <= value[1]:
                raise ValueError(
                    f"{name}={value!r}: expected (smallest, largest) with 1 <= smallest <= largest"
                )
        if isinstance(self.min_df, float) and not 0.0 <= self.min_df <= 1.0:
            raise ValueError(f"min_df={self.min_df!r}: a float must be a fraction of documents in [0, 1]")
        if not isinstance(self.min_df, float) and self.min_df < 0:
            raise ValueError(f"min_df={self.min_df!r}: a count must not be negative")

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
        token_ids = _FirstSight()
        tok, tok_doc = split_tokens(docs, token_ids)
        w_lo, w_hi = self.word_ngrams
        # Provisional ids: words and character n-grams in order of first sight, looked up for all
        # distinct tokens at once (one C-level map per kind, as in _TokenTable.flush).
        unique = list(token_ids)
        words = [_WORD.findall(t) for t in unique]
        word_ids = _FirstSight()
        seq_arr = _get_ids(word_ids, [w for ws in words for w in ws])
        seq_len = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        char_ids = _FirstSight()
        char_range = tuple(self.char_ngrams) if self.char_ngrams else None
        char_cols = char_lens = np.zeros(0, dtype=np.int64)
        if char_range:
            grams = [char_wb_ngrams(t, char_range) for t in unique]  # type: ignore[arg-type]
            char_cols = _get_ids(char_ids, [g for gs in grams for g in gs])
            char_lens = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
        seq_ptr = np.cumsum(seq_len) - seq_len
        # The word sequence of every document, concatenated.
        pick = _gather(seq_ptr[tok], seq_len[tok])
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
        table = _stack_rows(
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
        counts = _count(
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
        # sorted keys of each level (see _ngram_ids).
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
        # Derived look-ups of a previous fit would point at the old columns: drop them.
        for key in _DERIVED:
            self.__dict__.pop(key, None)
        return self

    # ---------------------------------------------------------------- transform

    @property
    def _unigrams(self) -> bool:
        return self.word_ngrams[0] == 1

    @property
    def _char_columns(self) -> dict[str, int]:
        """Character n-gram -> column in the whole matrix (built once, not pickled)."""
        cols = self.__dict__.get("_char_cols")
        if cols is None:
            n_word = self.n_word_features_
            cols = {g: c + n_word for g, c in self.char_vocabulary_.items()}
            self.__dict__["_char_cols"] = cols
        return cols

    def _tokens(self, docs: list[str]) -> tuple[_TokenTable, np.ndarray, np.ndarray]:
        """Token ids of all documents, concatenated, with the document index of each."""
        table = self.__dict__.get("_table")
        if table is None or len(table.cache) > self.cache_size:
            table = _TokenTable(self)
            self._table = table
        tok, tok_doc = split_tokens(docs, table.cache)
        table.flush()
        return table, tok, tok_doc

    def _long_ngrams(
        self, table: _TokenTable, tok: np.ndarray, tok_doc: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Word n-grams of two or more words: start position, column and length of each, and the
        token index of each word position."""
        if not self._ngram_levels:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        lens = table.seq_len[tok]
        words = table.seq_data[_gather(table.seq_ptr[tok], lens)]
        word_tok = np.repeat(np.arange(len(tok), dtype=np.int64), lens)
        starts, cols, lengths = [], [], []
        for n, (keys, final) in self._ngram_levels.items():
            start, gram = _ngram_ids(words, tok_doc[word_tok], n, keys, self._ngram_base)
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
        check_is_fitted(self, "idf_")
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
        start, cols, _, word_tok = self._long_ngrams(table, tok, tok_doc)
        counts = _count(
            len(docs), tok_doc, tok + table.base_rows, tok_doc[word_tok[start]], cols, table.matrix()
        )
        return self._weight(counts)

    def fit_transform(self, raw_documents: Iterable[str], y: Any = None, **fit_params: Any) -> sp.csr_matrix:
        """Fit, then transform the same headlines (read once into a list, so a generator works)."""
        docs = list(raw_documents) if not isinstance(raw_documents, str) else raw_documents
        return self.fit(docs).transform(docs)

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
        """Feature names, prefixed ``word__`` and ``char__`` as the ``FeatureUnion`` names them."""
        return self.feature_names_out

    @property
    def feature_names_out(self) -> np.ndarray:
        """Feature names in column order (computed once on first use, not stored in model files)."""
        check_is_fitted(self, "idf_")
        names = self.__dict__.get("_names")
        if names is None:
            names = np.asarray(
                [f"word__{t}" for t in self.word_vocabulary_] + [f"char__{g}" for g in self.char_vocabulary_],
                dtype=object,
            )
            self._names = names
        return names

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
        check_is_fitted(self, "idf_")
        table, tok, tok_doc = self._tokens([text])
        words = preprocess(text).split()
        start, cols, lengths, word_tok = self._long_ngrams(table, tok, tok_doc)
        matrix = table.matrix()
        extra: list[list[int]] = [[] for _ in words]
        for first, c, n in zip(start.tolist(), cols.tolist(), lengths.tolist(), strict=True):
            for t in set(word_tok[first : first + n].tolist()):
                extra[t].append(c)
        out = []
        for i, word in enumerate(words):
            r = table.base_rows + tok[i]
            own = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]].astype(np.int64)
            out.append((word, np.unique(np.concatenate([own, np.asarray(extra[i], dtype=np.int64)]))))
        return out

    def __sklearn_tags__(self) -> Any:
        """Declare text input, as scikit-learn's own vectorizers do."""
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags

    # ------------------------------------------------------------------ pickling

    def __getstate__(self) -> dict[str, Any]:
        """Leave the token cache and derived look-ups out of model files: they are rebuilt on use.

        The string-keyed dicts are stored packed (one string and two integer arrays each): joblib
        unpickles with pure-Python code, which takes a second or more for a few hundred thousand dict
        entries, but copies large strings and arrays in one step. This keeps ``classify predict``'s
        start-up short.
        """
        # A copy: object.__getstate__ may hand back the live __dict__, which must stay unpacked.
        state = dict(super().__getstate__())
        for key in _DERIVED:
            state.pop(key, None)
        for key in _PACKED:
            if isinstance(state.get(key), dict):
                state[key] = _pack(state[key])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key in _PACKED:
            if isinstance(state.get(key), tuple):
                state[key] = _unpack(state[key])
        super().__setstate__(state)


#: Vocabulary dicts (str -> int) that model files store packed.
_PACKED = ("word_vocabulary_", "char_vocabulary_", "_ngram_words")


def _pack(vocabulary: dict[str, int]) -> tuple[str, np.ndarray, np.ndarray]:
    """A str -> int dict as (all keys concatenated, key lengths, values)."""
    keys = list(vocabulary)
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    values = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(keys))
    return "".join(keys), lengths, values


def _unpack(packed: tuple[str, np.ndarray, np.ndarray]) -> dict[str, int]:
    """Inverse of :func:`_pack`."""
    text, lengths, values = packed
    ends = np.cumsum(lengths).tolist()
    starts = [0, *ends[:-1]] if ends else []
    return dict(zip([text[a:b] for a, b in zip(starts, ends, strict=True)], values.tolist(), strict=True))


def reference_union(
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] | None = (2, 5),
    min_df: float = 1,
    sublinear_tf: bool = True,
    char_weight: float = 1.0,
) -> Any:
    """The scikit-learn ``FeatureUnion`` that :class:`HeadlineVectorizer` reproduces.

    Kept as the specification of the features: the tests check the fast vectorizer against it and
    ``bench/speed.py`` times both.
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


def _stack_rows(parts: list[tuple[np.ndarray, np.ndarray] | None], n_rows: int, n_cols: int) -> sp.csr_matrix:
    """A count matrix whose row ``r`` holds the columns of row ``r`` of every part (ragged arrays)."""
    cols, rows = [], []
    for part in parts:
        if part is None:
            continue
        values, lens = part
        cols.append(values)
        rows.append(np.repeat(np.arange(n_rows, dtype=np.int64), lens))
    if not cols:
        return sp.csr_matrix((n_rows, n_cols), dtype=np.float32)
    row = np.concatenate(rows)
    col = np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(col), dtype=np.float32), (row, col)), shape=(n_rows, n_cols))


def _count(
    n_docs: int,
    tok_doc: np.ndarray,
    tok_rows: np.ndarray,
    gram_doc: np.ndarray,
    gram_rows: np.ndarray,
    table: sp.csr_matrix,
) -> sp.csr_matrix:
    """Documents x features counts as ``D @ T``: D counts each document's token rows and n-gram rows.

    The product is compiled sparse code that adds up duplicate columns, which is the per-document
    counting scikit-learn does with a Python dict. Its column indices are not sorted within rows;
    nothing downstream (``X @ coef``, l2 norms) needs them sorted.
    """
    row = np.concatenate([tok_doc, gram_doc])
    col = np.concatenate([tok_rows, gram_rows])
    if len(gram_doc):
        order = np.argsort(row, kind="stable")  # two sorted runs: timsort merges them in linear time
        row, col = row[order], col[order]
    index = np.int32 if table.shape[0] < 2**31 - 1 else np.int64
    indptr = np.zeros(n_docs + 1, dtype=index)
    np.cumsum(np.bincount(row, minlength=n_docs), out=indptr[1:])
    docs = sp.csr_matrix(
        (np.ones(len(col), dtype=np.float32), col.astype(index), indptr), shape=(n_docs, table.shape[0])
    )
    return sp.csr_matrix(docs @ table)
