"""Near-duplicate groups: headlines that tell the same story, so evaluation can keep them together.

News repeats itself: one story comes back reworded ("Egypt, Sudan sign water deal" / "Sudan and Egypt
sign deal on Nile water"). If one copy is in a training fold and another in the test fold,
cross-validation measures memory rather than generalisation. :func:`near_duplicate_groups` links every
pair of headlines whose text similarity reaches a threshold and returns the connected components as
group ids, ready for grouped k-fold (:mod:`classify.evaluation.splits`).

Similarity is the cosine of a TF-IDF vector that gives equal weight to word unigrams and to character
3-5-grams within word bounds, i.e. the mean of the word cosine and the character cosine. Words catch
shared names and numbers; character n-grams catch inflections, reordering and small spelling changes.
How the pairs are found (``method``):

- ``"exact"``: scikit-learn's brute-force radius search over all pairs (quadratic time: about 150 s
  and 1.8 GB at 100k headlines). Kept as the reference.
- ``"blocked"``: first, headlines that are the same text once lowercased,
  stripped of accents and whitespace-collapsed are merged by hashing (their similarity is 1); then the
  distinct texts are compared only within *blocks* that can hold a pair at the threshold, found by
  prefix filtering (Bayardo et al., "Scaling up all pairs similarity search", WWW 2007): with the
  features of each vector ordered rarest first, a pair with cosine >= t must share a feature among
  the first ones of each vector whose remaining norm is still >= t. Every candidate pair's
  similarity is then computed exactly, so no pair at the threshold is missed and no pair below it is
  added. The vectors are the exact method's own (:func:`similarity_vectors` over every row, copies
  included, one row kept per distinct text), so the groups are the same as the exact method's, which
  ``tests/test_groups.py`` checks. (Hashed features were tried first to save the vocabulary's memory:
  they moved a pair on the shipped corpus from 0.50002 to 0.49996, across the threshold.)
  Only connectivity matters, so the groups grow in a union-find forest and a candidate pair already
  joined through other pairs is not checked; the rest get their exact similarity, one sparse product
  per block of rows. Memory is bounded by the block. On real headlines the candidates are a small
  fraction of all pairs (AG News test: 3x faster than the exact search), but it is not linear: the
  candidates grow faster than the rows where many rows share mid-frequency n-grams, and on the
  synthetic archive of ``bench/scale.py`` (recombined halves of a few thousand headlines, hundreds of
  true pairs per row) 100k rows take minutes and 1.8 GB.
- ``"minhash"``: approximate, for large inputs. Exact copies are merged by hashing as above. Each
  distinct text's *set* of features (the similarity's own: word unigrams and character 3-5-grams,
  leaving out those in more than :data:`MINHASH_MAX_DF` of the rows) gets a MinHash signature of
  ``MINHASH_BANDS x MINHASH_ROWS`` values; texts that agree on all values of one band share an LSH
  bucket. Within a bucket each text is compared with its :data:`MINHASH_WINDOW` next neighbours in a
  random order (not with every member: the buckets of an archive of near-copies hold thousands, and
  only connectivity matters), pairs already joined or whose signatures agree on less than
  :data:`MINHASH_MIN_AGREEMENT` of the values are skipped, and the rest get their **exact** similarity
  (the reference's vectors, rebuilt per batch of pairs from per-token tables) against the same
  threshold, joined in a union-find forest. So it never joins a pair below the threshold: its groups
  are the exact groups or pieces of them (precision exact), and what it may miss is pairs that LSH does
  not bring together (recall). The banding is chosen for a recall target at the threshold (see
  :data:`MINHASH_BANDS`); measured against ``"blocked"`` (``bench/results/scale.md``): of the rows that
  ``blocked`` puts in a multi-row group, 99.5% (shipped corpus), 99.8% (AG News test), 99.7%
  (HuffPost) and 99.7% (synthetic archive, 100k rows) are in one here; of the pairs of rows sharing a
  group, 96.6%, 99.9%, 99.96% and 95.9%. Cost grows with the rows (signatures one block of rows at a
  time, one sort per band, at most ``MINHASH_WINDOW`` checks per text and band), memory with the
  signatures (400 bytes per distinct text) and one batch of vectors.
- ``"auto"`` (the default): ``"blocked"`` up to :data:`AUTO_BLOCKED_ROWS` headlines (exact, and
  seconds to a minute on real headlines), ``"minhash"`` above. On small data the default therefore
  gives exactly the groups it always gave; on an archive the groups can miss a few near-duplicate
  pairs, which makes the cross-validation score a little optimistic, by at most the share of missed
  pairs that straddle folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: Similarity (mean of the word and the character TF-IDF cosine) from which two headlines count as one
#: story. Chosen by reading random pairs in bands of 0.05 on AG News (7,600 wire headlines) and on the
#: drafted corpus: from 0.5 up, AG News pairs are mostly one event reworded ("Cayman Islands hit by
#: hurricane" / "Hurricane Ivan Batters Grand Cayman", 0.52); between 0.4 and 0.5 they are about half
#: different events of a routine kind ("Sudan peace talks resume" / "N Korea crisis talks set to
#: resume"), and below 0.4 mostly so. Erring towards grouping only makes the score a little
#: pessimistic, while missing a copy flatters it, so the cut sits at the low end of the same-story band;
#: lower, chains start to join unrelated stories (largest AG News group: 13 rows at 0.5, 78 at 0.4).
DUPLICATE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Groups:
    """Group ids of near-duplicate headlines.

    Attributes
    ----------
    ids
        One integer per headline; headlines with the same id are (chains of) near-duplicates.
    threshold
        The similarity used to link two headlines.
    method
        How the pairs were found: ``"blocked"`` or ``"exact"`` (every pair at the threshold), or
        ``"minhash"`` (approximate: a few pairs may be missed, none below the threshold added).
    """

    ids: np.ndarray
    threshold: float
    method: str = "blocked"

    @property
    def n_groups(self) -> int:
        """Number of groups, singletons included."""
        return len(set(self.ids.tolist()))

    def sizes(self) -> np.ndarray:
        """Size of each group, indexed by group id."""
        import numpy as np

        return np.bincount(self.ids) if len(self.ids) else np.zeros(0, dtype=int)

    @property
    def multi_groups(self) -> int:
        """Groups of two or more headlines."""
        return int((self.sizes() >= 2).sum())

    @property
    def multi_rows(self) -> int:
        """Headlines that share their group with at least one other headline."""
        sizes = self.sizes()
        return int(sizes[sizes >= 2].sum())

    @property
    def largest(self) -> int:
        """Size of the largest group (a large one would mean the threshold chains unrelated stories)."""
        sizes = self.sizes()
        return int(sizes.max()) if len(sizes) else 0

    def summary(self) -> dict[str, Any]:
        """JSON-ready counts for reports."""
        return {
            "threshold": self.threshold,
            "method": self.method,
            "groups": self.n_groups,
            "multi_row_groups": self.multi_groups,
            "rows_in_multi_row_groups": self.multi_rows,
            "largest_group": self.largest,
        }


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
        TfidfVectorizer(lowercase=True, strip_accents="unicode", sublinear_tf=True, dtype=np.float32),
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


METHODS = ("auto", "blocked", "minhash", "exact")


def near_duplicate_groups(
    texts: Sequence[str], *, threshold: float = DUPLICATE_THRESHOLD, method: str = "auto"
) -> Groups:
    """Group headlines whose similarity (see :func:`similarity_vectors`) is at least ``threshold``.

    Grouping is transitive: if A is like B and B like C, all three share a group, because a story
    that drifts through rewordings is still one story.

    Parameters
    ----------
    texts
        The headlines.
    threshold
        Cosine similarity in ``(0, 1]``; 1 groups only exact (case- and accent-insensitive) copies.
    method
        ``"blocked"``: exact-copy hashing then prefix-filtered blocks (exact); ``"minhash"``: exact-copy
        hashing, MinHash/LSH candidates, exact similarity of each (approximate recall, exact
        precision; for large inputs); ``"auto"``: blocked up to :data:`AUTO_BLOCKED_ROWS` headlines,
        minhash above; ``"exact"``: the all-pairs radius search (quadratic; the reference). See the
        module docstring.

    Returns
    -------
    Groups
        Group ids numbered in order of first appearance.
    """
    import numpy as np

    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "auto":
        method = "blocked" if len(texts) <= AUTO_BLOCKED_ROWS else "minhash"
    if len(texts) == 0:
        return Groups(ids=np.zeros(0, dtype=int), threshold=threshold, method=method)
    if method == "exact":
        labels = _exact_labels(texts, threshold)
    elif method == "minhash":
        labels = _minhash_labels(texts, threshold)
    else:
        labels = _blocked_labels(texts, threshold)
    return Groups(ids=_by_first_appearance(labels), threshold=threshold, method=method)


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    """Renumber component labels by first appearance, so ids do not depend on traversal order."""
    import numpy as np

    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return np.asarray(order[inverse.ravel()], dtype=int)


def _exact_labels(texts: Sequence[str], threshold: float) -> np.ndarray:
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    vectors = similarity_vectors(texts)
    # The radius is a cosine distance; a hair of slack so that float32 rounding keeps exact copies.
    radius = max(1.0 - threshold, 0.0) + 1e-6
    search = NearestNeighbors(radius=radius, metric="cosine", algorithm="brute").fit(vectors)
    graph = search.radius_neighbors_graph(vectors, mode="connectivity")
    _, labels = connected_components(graph, directed=False)
    return labels


#: Rows per block of the candidate search (memory of one block's candidate matrix).
BLOCK_ROWS = 512
#: Rows per block when choosing each row's prefix features (memory of one sort).
PREFIX_ROWS = 65_536


def _blocked_labels(texts: Sequence[str], threshold: float) -> np.ndarray:
    import numpy as np
    import scipy.sparse as sp

    from classify.text import preprocess as _preprocess

    # 1. Exact copies (same text up to case, accents and spacing) have similarity 1: merge them.
    keys: dict[str, int] = {}
    first_of = np.fromiter(
        (keys.setdefault(" ".join(_preprocess(t).split()), len(keys)) for t in texts),
        dtype=np.int64,
        count=len(texts),
    )
    del keys
    # The reference's own vectors (vocabulary, idf over every row, copies included), one per distinct
    # text: the first row of each.
    _, representatives = np.unique(first_of, return_index=True)
    vectors = similarity_vectors(texts)[representatives].tocsr()
    n = vectors.shape[0]
    # 2. Prefix filtering: order features rarest first; keep each row's leading features while the
    #    norm of what remains (that feature included) is still >= t, and so is the sum of its values times
    #    each feature's largest value anywhere. A pair with dot >= t shares a kept feature (the first
    #    shared feature in this order is kept in both rows, else the rest of one row could not reach t).
    t = max(threshold - 1e-6, 0.0)  # the exact method's float32 slack
    df = np.bincount(vectors.indices, minlength=vectors.shape[1])
    # The largest value of each feature over all rows: a second, often much tighter, bound on what a
    # row's remaining features can add to any dot product (common n-grams have small weights).
    top = np.zeros(vectors.shape[1], dtype=np.float64)
    np.maximum.at(top, vectors.indices, vectors.data)
    parts = []
    for start in range(0, n, PREFIX_ROWS):  # in blocks of rows, to bound the sort's memory
        block = vectors[start : start + PREFIX_ROWS]
        rows = np.repeat(np.arange(block.shape[0], dtype=np.int32), np.diff(block.indptr))
        order = np.lexsort((block.indices, df[block.indices], rows))
        squares = block.data[order].astype(np.float64) ** 2
        cum = np.concatenate([[0.0], np.cumsum(squares)])
        row_start = block.indptr[:-1]
        row_end = block.indptr[1:]
        # Mass from this entry to the end of its row (entries are grouped by row after the sort).
        remaining = cum[row_end][rows] - cum[:-1]
        bound = block.data[order].astype(np.float64) * top[block.indices[order]]
        cum_bound = np.concatenate([[0.0], np.cumsum(bound)])
        # Keep an entry while both bounds on the rest of the row (this entry included) reach t.
        keep = (remaining >= t * t - 1e-9) & (cum_bound[row_end][rows] - cum_bound[:-1] >= t - 1e-9)
        del row_start
        parts.append(
            sp.csr_matrix(
                (np.ones(int(keep.sum()), dtype=np.float32), (rows[order][keep], block.indices[order][keep])),
                shape=block.shape,
            )
        )
    prefix = sp.vstack(parts, format="csr") if parts else sp.csr_matrix(vectors.shape, dtype=np.float32)
    del parts
    prefix_t = prefix.T.tocsr()
    # 3. Per block of rows: candidates share a prefix feature. Only connectivity matters, so a pair
    #    already joined (through other pairs) is not checked; the others get their exact similarity.
    parent = np.arange(n)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        candidates = (prefix[start:stop] @ prefix_t).tocoo()
        ci, cj = candidates.row.astype(np.int64) + start, candidates.col.astype(np.int64)
        del candidates
        later = cj > ci  # each pair once
        ci, cj = ci[later], cj[later]
        apart = _find(parent, ci) != _find(parent, cj)
        if not apart.any():
            continue
        rows, cols = np.unique(ci[apart]), np.unique(cj[apart])
        # Exact similarities of those rows against those columns, in one sparse product (faster than
        # pair by pair); any pair at the threshold is a true edge, candidate or not.
        sims = (vectors[rows] @ vectors[cols].T).tocoo()
        hit = sims.data >= t
        for x, y in zip(rows[sims.row[hit]].tolist(), cols[sims.col[hit]].tolist(), strict=True):
            _union(parent, x, y)
    return _find(parent, np.arange(n))[first_of]


def _find(parent: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Roots of ``items`` in the union-find forest ``parent`` (vectorised, with path halving)."""
    import numpy as np

    roots = parent[items]
    while True:
        up = parent[roots]
        if np.array_equal(up, roots):
            return roots
        parent[roots] = parent[up]  # halve the paths walked
        roots = up


def _union(parent: np.ndarray, x: int, y: int) -> None:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    while parent[y] != y:
        parent[y] = parent[parent[y]]
        y = parent[y]
    if x != y:
        parent[max(x, y)] = min(x, y)


# The approximate method: MinHash/LSH candidates, exact similarities --------------------------------------
#: Up to this many headlines ``method="auto"`` uses the blocked method (exact, seconds to a minute on
#: real headlines); above it, MinHash/LSH. See the module docstring for the measurements behind it.
AUTO_BLOCKED_ROWS = 50_000
#: LSH banding: ``MINHASH_BANDS`` bands of ``MINHASH_ROWS`` MinHash values each. A pair whose feature
#: sets have Jaccard similarity ``J`` shares at least one band with probability
#: ``1 - (1 - J**MINHASH_ROWS)**MINHASH_BANDS`` (:func:`lsh_collision_probability`). Pairs at the
#: threshold are not very alike as sets: on AG News and the shipped corpus, 1% of the pairs with
#: similarity >= 0.5 have Jaccard below 0.23-0.25 and half below 0.42 (the cosine weighs rare n-grams
#: up, Jaccard counts every n-gram alike). So the target is set low: a pair with Jaccard
#: :data:`MINHASH_RECALL_JACCARD` is a candidate with probability >= :data:`MINHASH_RECALL_TARGET`
#: (50 bands of 2 give 0.96; at Jaccard 0.42, 0.9999), while unrelated headlines (Jaccard about 0.05)
#: share a band with probability 0.12.
MINHASH_BANDS = 50
MINHASH_ROWS = 2
MINHASH_RECALL_JACCARD = 0.25
MINHASH_RECALL_TARGET = 0.95
#: Features in more than this share of the rows are left out of the MinHash sets (each token keeps its
#: rarest feature): they weigh little in the TF-IDF cosine, and a set minimum that falls on " th" or
#: "the" would put most headlines in one bucket. It raises the Jaccard of the pairs at the threshold.
MINHASH_MAX_DF = 0.02
#: Each headline is compared with this many neighbours in its bucket (in a random order), per band.
MINHASH_WINDOW = 2
#: A candidate pair is checked only if its signatures agree on at least this share of the values
#: (an estimate of their Jaccard, standard error about 0.04): pairs at the threshold have Jaccard
#: >= 0.23 (see above), and most pairs that share a band by chance have much less. On the shipped
#: corpus it spares a third of the exact checks and loses no pair (0.2 would spare 60% and lose some).
MINHASH_MIN_AGREEMENT = 0.15
#: Seed of the MinHash permutations, so that a run can be repeated.
MINHASH_SEED = 0
#: Distinct texts per block when computing signatures (memory of one gather of token signatures).
SIGNATURE_ROWS = 32_768
#: Largest number of stored values (8 bytes each) for which the vectors of all distinct texts are
#: computed once and kept, rather than per batch of candidate pairs (about 200 per headline).
VECTOR_BUDGET_NNZ = 50_000_000
#: Candidate pairs whose exact similarity is computed at once (memory of one batch of vectors).
PAIR_BATCH = 65_536

_WORD = r"(?u)\b\w\w+\b"  # scikit-learn's default token_pattern, as in similarity_vectors


def lsh_collision_probability(jaccard: float, bands: int = MINHASH_BANDS, rows: int = MINHASH_ROWS) -> float:
    """Probability that LSH banding makes a pair with this Jaccard similarity a candidate."""
    return 1.0 - (1.0 - jaccard**rows) ** bands


@dataclass
class _TokenTables:
    """Headlines as sums of their whitespace tokens' features, for vectors and signatures.

    Both halves of the similarity decompose over whitespace tokens: ``char_wb`` n-grams never cross
    white space, and neither does a ``\\b\\w\\w+\\b`` word. So a headline's count vector is the sum of
    its tokens' count vectors, and its feature *set* the union of theirs; each distinct token is
    analysed once (in Python), everything else is sparse products and numpy over integer ids.
    """

    first_of: np.ndarray  # row -> distinct text
    docs: Any  # distinct text x token counts (CSR, int32)
    halves: list[tuple[Any, np.ndarray, np.ndarray]]  # per half: token x feature counts (CSR), idf, df
    n_rows: int  # rows, copies included
    n_tokens_of: np.ndarray  # tokens per distinct text


def _token_tables(texts: Sequence[str]) -> _TokenTables:
    import re
    from array import array

    import numpy as np
    import scipy.sparse as sp

    from classify.text import char_wb_ngrams
    from classify.text import preprocess as _preprocess

    # 1. Distinct texts (same text up to case, accents and spacing) and their token ids.
    keys: dict[str, int] = {}
    token_ids: dict[str, int] = {}
    first_of = np.empty(len(texts), dtype=np.int64)
    # Compact arrays, not lists: a million headlines hold ten million token ids.
    doc_tokens = array("q")
    lengths = array("q")
    for i, text in enumerate(texts):
        tokens = _preprocess(text).split()
        key = " ".join(tokens)
        d = keys.get(key)
        if d is None:
            d = keys[key] = len(keys)
            doc_tokens.extend([token_ids.setdefault(w, len(token_ids)) for w in tokens])
            lengths.append(len(tokens))
        first_of[i] = d
    del keys
    n_docs, n_tokens = len(lengths), len(token_ids)
    n_tokens_of = np.frombuffer(lengths, dtype=np.int64).copy()
    indptr = np.concatenate([[0], np.cumsum(n_tokens_of)])
    docs = sp.csr_matrix(
        (
            np.ones(len(doc_tokens), dtype=np.int32),
            np.frombuffer(doc_tokens, dtype=np.int64).astype(np.int32),
            indptr,
        ),
        shape=(n_docs, n_tokens),
    )
    del doc_tokens
    docs.sum_duplicates()  # a token twice in a headline counts twice
    multiplicity = np.bincount(first_of, minlength=n_docs)

    # 2. Each distinct token's features: word unigrams, character 3-5-grams within word bounds.
    word = re.compile(_WORD)
    analysers = (word.findall, lambda token: char_wb_ngrams(token, (3, 5)))
    halves = []
    for analyse in analysers:
        vocabulary: dict[str, int] = {}
        feats: list[int] = []
        per_token = np.zeros(n_tokens, dtype=np.int64)
        for t, token in enumerate(token_ids):
            grams = analyse(token)
            per_token[t] = len(grams)
            feats.extend([vocabulary.setdefault(g, len(vocabulary)) for g in grams])
        if not vocabulary:  # as similarity_vectors: a half with no features at all is left out
            continue
        # Columns in name order, as scikit-learn numbers its vocabulary.
        rank = np.empty(len(vocabulary), dtype=np.int32)
        rank[np.asarray(sorted(range(len(vocabulary)), key=list(vocabulary).__getitem__))] = np.arange(
            len(vocabulary), dtype=np.int32
        )
        table = sp.csr_matrix(
            (
                np.ones(len(feats), dtype=np.int32),
                rank[np.asarray(feats, dtype=np.int64)],
                np.concatenate([[0], np.cumsum(per_token)]),
            ),
            shape=(n_tokens, len(vocabulary)),
        )
        table.sum_duplicates()
        del feats, vocabulary
        # Document frequency over every row, copies included (the reference's idf), in blocks.
        df = np.zeros(table.shape[1], dtype=np.int64)
        for start in range(0, n_docs, SIGNATURE_ROWS):
            block = (docs[start : start + SIGNATURE_ROWS] @ table).tocsr()
            df += np.bincount(
                block.indices,
                weights=np.repeat(multiplicity[start : start + SIGNATURE_ROWS], np.diff(block.indptr)),
                minlength=table.shape[1],
            ).astype(np.int64)
        # scikit-learn's smooth idf, in its float32 steps (TfidfTransformer.fit).
        idf = np.full(table.shape[1], len(texts) + 1, dtype=np.float32)
        idf /= df.astype(np.float32) + np.float32(1.0)
        np.log(idf, out=idf)
        idf += np.float32(1.0)
        halves.append((table, idf, df))
    return _TokenTables(
        first_of=first_of, docs=docs, halves=halves, n_tokens_of=n_tokens_of, n_rows=len(texts)
    )


def _table_vectors(tables: _TokenTables, rows: np.ndarray) -> Any:
    """:func:`similarity_vectors` of the distinct texts ``rows``, from the token tables.

    The same steps as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` per half (log counts + 1,
    times idf, L2-normalised), then the same combination; values agree with :func:`similarity_vectors`
    up to float32 rounding in the order of summation (checked by ``tests/test_groups.py``).
    """
    import numpy as np
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    counts = tables.docs[rows]
    blocks = []
    for table, idf, _ in tables.halves:
        half = (counts @ table).tocsr().astype(np.float32)
        half.sort_indices()
        np.log(half.data, out=half.data)
        half.data += np.float32(1.0)
        half.data *= idf[half.indices]
        blocks.append(normalize(half, norm="l2", copy=False))
    if not blocks:
        return sp.csr_matrix((len(rows), 1), dtype=np.float32)
    matrix = sp.hstack(blocks, format="csr") * np.float32(np.sqrt(1 / len(blocks)))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1 / norms) @ matrix)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A 64-bit mixer (splitmix64's finaliser): spreads integer ids into well-mixed hash values."""
    import numpy as np

    x = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _signatures(tables: _TokenTables, n_perm: int, seed: int, max_df: float = 1.0) -> np.ndarray:
    """MinHash signatures (``n_perm`` ``uint32`` values) of the distinct texts' feature sets.

    Hand-written rather than datasketch's ``MinHash`` (one Python object and a Python loop per
    headline, about a minute per million at best): a headline's feature set is the union of its
    tokens' sets, and a minimum over a union is the minimum of the minima, so each distinct token's
    signature is computed once (one vectorised multiply-shift hash per permutation over all its
    features) and a block of headlines' signatures is one gather plus ``np.minimum.reduceat``.
    The feature set is the similarity's own (word unigrams and character 3-5-grams, words and
    n-grams kept apart), unweighted.
    """
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    multipliers = rng.integers(1, 2**63, size=n_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    n_tokens = tables.docs.shape[1]
    top = np.iinfo(np.uint32).max
    # Every token's features as one id space (the halves side by side), then hashed once.
    table = sp.hstack([t for t, _, _ in tables.halves], format="csr") if tables.halves else None
    token_sig = np.full((n_tokens, n_perm), top, dtype=np.uint32)
    if table is not None and table.nnz:
        if max_df < 1.0:
            # Leave out features in more than max_df of the rows (they weigh little in the cosine
            # and make huge buckets), except each token's rarest, so that no headline's set is empty.
            df = np.concatenate([d for _, _, d in tables.halves])[table.indices]
            has = np.flatnonzero(np.diff(table.indptr))
            rarest = np.zeros(n_tokens, dtype=np.int64)
            rarest[has] = np.minimum.reduceat(df, table.indptr[has])
            owner = np.repeat(np.arange(n_tokens), np.diff(table.indptr))
            keep = (df <= max_df * tables.n_rows) | (df == rarest[owner])
            counts = np.bincount(owner[keep], minlength=n_tokens)
            table = sp.csr_matrix(
                (table.data[keep], table.indices[keep], np.concatenate([[0], np.cumsum(counts)])),
                shape=table.shape,
            )
        base = _splitmix64(table.indices.astype(np.uint64) + np.uint64(seed) * np.uint64(0x100000000))
        has = np.flatnonzero(np.diff(table.indptr))
        for start in range(0, n_perm, 8):  # permutations in blocks: memory of entries x 8
            mult = multipliers[start : start + 8]
            hashed = ((base[:, None] * mult[None, :]) >> np.uint64(32)).astype(np.uint32)
            token_sig[has, start : start + len(mult)] = np.minimum.reduceat(hashed, table.indptr[has], axis=0)
            del hashed
    # Per block of distinct texts: the minimum over their tokens (a token's repeats change nothing).
    n_docs = tables.docs.shape[0]
    sig = np.full((n_docs, n_perm), top, dtype=np.uint32)
    docs = tables.docs
    for start in range(0, n_docs, SIGNATURE_ROWS):
        stop = min(start + SIGNATURE_ROWS, n_docs)
        ptr = docs.indptr[start : stop + 1]
        tokens = docs.indices[ptr[0] : ptr[-1]]
        filled = np.flatnonzero(np.diff(ptr))
        if len(tokens):
            sig[start + filled] = np.minimum.reduceat(token_sig[tokens], (ptr[:-1] - ptr[0])[filled], axis=0)
    return sig


def _minhash_labels(
    texts: Sequence[str],
    threshold: float,
    *,
    bands: int = MINHASH_BANDS,
    rows_per_band: int = MINHASH_ROWS,
    seed: int = MINHASH_SEED,
    max_df: float = MINHASH_MAX_DF,
    window: int = MINHASH_WINDOW,
    min_agreement: float = MINHASH_MIN_AGREEMENT,
    stats: dict[str, int] | None = None,
) -> np.ndarray:
    """Group ids of the MinHash/LSH method (see the module docstring); ``stats`` gets pair counts."""
    import numpy as np

    tables = _token_tables(texts)
    n = tables.docs.shape[0]
    t = max(threshold - 1e-6, 0.0)  # the exact method's float32 slack
    sig = _signatures(tables, bands * rows_per_band, seed, max_df)
    # Texts without a token have no features (similarity 0 with everything): no candidates.
    live = np.flatnonzero(tables.n_tokens_of > 0)
    parent = np.arange(n)
    rng = np.random.default_rng(seed + 1)
    combine = rng.integers(1, 2**63, size=rows_per_band, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    stats = {} if stats is None else stats
    stats.update(candidates=0, checked=0, joined=0)
    # The vectors of every distinct text, computed once, when they fit in VECTOR_BUDGET_NNZ stored
    # values; otherwise each batch of candidate pairs computes its own rows' vectors.
    per_token = np.zeros(tables.docs.shape[1], dtype=np.int64)
    for table, _, _ in tables.halves:
        per_token += np.diff(table.indptr)
    estimate = int(np.asarray(tables.docs @ per_token).sum())  # an upper bound (repeats counted)
    cached = None
    if estimate <= VECTOR_BUDGET_NNZ:
        import scipy.sparse as sp

        cached = sp.vstack(
            [
                _table_vectors(tables, np.arange(start, min(start + PAIR_BATCH, n)))
                for start in range(0, n, PAIR_BATCH)
            ],
            format="csr",
        )
    for band in range(bands):
        key = np.zeros(len(live), dtype=np.uint64)
        for c in range(rows_per_band):  # the band's values folded into one 64-bit key
            key = (key ^ sig[live, band * rows_per_band + c].astype(np.uint64)) * combine[c]
        # A bucket is a run of equal keys. Only connectivity matters, so instead of every pair in a
        # bucket (hundreds of thousands in the buckets of a synthetic archive) each text is compared
        # with its next ``window`` neighbours in a random order of the bucket.
        perm = np.lexsort((rng.permutation(len(live)), key))
        order, key = live[perm], key[perm]
        for step in range(1, window + 1):
            same = key[step:] == key[:-step]
            ci, cj = order[:-step][same], order[step:][same]
            stats["candidates"] += len(ci)
            for start in range(0, len(ci), PAIR_BATCH):
                a, b = ci[start : start + PAIR_BATCH], cj[start : start + PAIR_BATCH]
                apart = _find(parent, a) != _find(parent, b)
                a, b = a[apart], b[apart]
                if min_agreement > 0 and len(a):
                    agree = (sig[a] == sig[b]).mean(axis=1) >= min_agreement
                    a, b = a[agree], b[agree]
                if not len(a):
                    continue
                stats["checked"] += len(a)
                if cached is not None:
                    rows, inverse = np.concatenate([a, b]), np.arange(2 * len(a))
                    vectors = cached[rows]
                else:
                    rows, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
                    vectors = _table_vectors(tables, rows)
                sims = np.asarray(
                    vectors[inverse[: len(a)]].multiply(vectors[inverse[len(a) :]]).sum(axis=1)
                ).ravel()
                hit = sims >= t
                stats["joined"] += int(hit.sum())
                for x, y in zip(a[hit].tolist(), b[hit].tolist(), strict=True):
                    _union(parent, x, y)
    return _find(parent, np.arange(n))[tables.first_of]


def similar_pairs(texts: Sequence[str], *, low: float, high: float = 1.0) -> list[tuple[float, int, int]]:
    """Pairs ``(similarity, i, j)`` with ``low <= similarity < high``, most similar first.

    A tool for choosing and checking the threshold by reading the pairs around it.
    """
    from sklearn.neighbors import NearestNeighbors

    vectors = similarity_vectors(texts)
    search = NearestNeighbors(radius=1.0 - low + 1e-6, metric="cosine", algorithm="brute").fit(vectors)
    distances, neighbours = search.radius_neighbors(vectors)
    pairs = []
    for i, (dist, idx) in enumerate(zip(distances, neighbours, strict=True)):
        for d, j in zip(dist, idx, strict=True):
            sim = 1.0 - float(d)
            if j > i and low <= sim < high:
                pairs.append((sim, i, int(j)))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return pairs
