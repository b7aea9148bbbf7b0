"""The MinHash/LSH method of near-duplicate grouping: approximate recall, exact precision, for archives.

Exact copies are merged by hashing. Each distinct text's *set* of features (the similarity's own: word
unigrams and character 3-5-grams, leaving out those in more than :data:`MINHASH_MAX_DF` of the rows)
gets a MinHash signature of ``MINHASH_BANDS x MINHASH_ROWS`` values; texts that agree on all values of
one band share an LSH bucket. Within a bucket each text is compared with its :data:`MINHASH_WINDOW`
next neighbours in a random order (buckets of an archive of near-copies hold thousands, and only
connectivity matters); pairs already joined, or whose signatures agree on less than
:data:`MINHASH_MIN_AGREEMENT` of the values, are skipped, and the rest get their **exact** similarity
(the reference's vectors, rebuilt from per-token tables) against the same threshold. So no pair below
the threshold is ever joined: the groups are the exact groups or pieces of them, and what may be missed
is pairs LSH does not bring together. Recall against the blocked method is in
``bench/results/scale.md``. Cost grows with the rows; memory with the signatures (400 bytes per
distinct text) and one batch of vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from classify.evaluation._similarity import WORD_PATTERN
from classify.evaluation._unionfind import find, union

if TYPE_CHECKING:
    import numpy as np

#: LSH banding: ``MINHASH_BANDS`` bands of ``MINHASH_ROWS`` values; a pair with Jaccard ``J`` shares a
#: band with probability ``1 - (1 - J**MINHASH_ROWS)**MINHASH_BANDS`` (:func:`lsh_collision_probability`).
#: Pairs at the similarity threshold can have a low Jaccard (the cosine weighs rare n-grams up, Jaccard
#: counts every n-gram alike), so the target is low: Jaccard :data:`MINHASH_RECALL_JACCARD` is a
#: candidate with probability >= :data:`MINHASH_RECALL_TARGET`, unrelated headlines rarely.
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
#: A candidate pair is checked only if its signatures agree on at least this share of the values (an
#: estimate of their Jaccard): pairs at the threshold agree on more, most chance band-sharers on less,
#: so it spares exact checks without losing pairs on the shipped corpus.
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
    word = re.compile(WORD_PATTERN)
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
                apart = find(parent, a) != find(parent, b)
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
                    union(parent, x, y)
    return find(parent, np.arange(n))[tables.first_of]
