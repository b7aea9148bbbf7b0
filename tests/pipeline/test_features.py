"""HeadlineVectorizer must give the scikit-learn FeatureUnion's matrix, only faster."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from classify.pipeline import _ngrams as ngr
from classify.pipeline.features import HeadlineVectorizer, char_wb_ngrams, reference_union
from classify.pipeline.model import build_pipeline

TRAIN = [
    "Central bank raises interest rates by two points",
    "Bank shares lift the stock market",
    "Striker scores twice as United win the cup final",
    "Cup final tickets sell out in a day",
    "Café owners in São Paulo protest new tax",
    "Ministry launches a vaccination campaign against polio",
    "U.S. jobs report: 200,000 jobs added in May",
    "World-wide  chip\tshortage hits car makers",
    "A b c d e",
    "Oil prices climb; oil stocks climb too",
    # Final sigma, a compatibility capital that NFKD turns into "H", a curly quote, a ligature.
    "ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ: \u210cilbert\u2019s Ⅻ ﬁnal",
]

UNSEEN = [
    "Bank of England holds rates",
    "Pelé scores again in the final",
    "Zxqv unknown words only",
    "",
    "   ",
    "a",
    "ÉCOLE Ünïcödé naïve résumé",
    "cup final cup final",
    "The Fed's half-point cut (again)",
    "\u0301accent first, then ΟΔΟΣ",
    "a null\x00byte inside",
    "\x00",
]

SETTINGS: list[dict[str, Any]] = [
    {},
    {"min_df": 2},
    {"word_ngrams": (1, 1), "char_ngrams": None},
    {"word_ngrams": (2, 3), "char_ngrams": (1, 3), "sublinear_tf": False, "char_weight": 0.5},
    {"word_ngrams": (1, 4), "char_ngrams": (3, 6), "min_df": 0.15},
]


def both(settings: dict[str, Any]) -> tuple[HeadlineVectorizer, Any]:
    return HeadlineVectorizer(**settings), reference_union(**settings)


@pytest.mark.parametrize("settings", SETTINGS, ids=str)
def test_same_matrix_as_the_feature_union(settings: dict[str, Any]) -> None:
    fast, reference = both(settings)
    got = fast.fit_transform(TRAIN)
    want = reference.fit_transform(TRAIN)
    assert list(fast.get_feature_names_out()) == list(reference.get_feature_names_out())
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.toarray(), want.toarray(), atol=1e-5)
    np.testing.assert_allclose(
        fast.transform(UNSEEN).toarray(), reference.transform(UNSEEN).toarray(), atol=1e-5
    )


@pytest.mark.parametrize("token", ["a", "ab", "abc", "abcd", "bank", "interest"])
def test_char_ngrams_of_a_token_match_sklearn(token: str) -> None:
    for ngram_range in [(2, 5), (1, 1), (3, 6), (4, 4)]:
        analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range).build_analyzer()
        assert char_wb_ngrams(token, ngram_range) == analyzer(token)


def _dict_columns(
    tokens: list[str], columns: dict[str, int], ngram_range: tuple[int, int]
) -> list[list[int]]:
    """Each token's known n-gram columns the plain way: its n-grams as strings, looked up in a dict."""
    return [sorted(columns[g] for g in char_wb_ngrams(t, ngram_range) if g in columns) for t in tokens]


def _index_columns(index: ngr.CharIndex, count: int) -> Any:
    def columns(tokens: list[str]) -> list[list[int]]:
        rows, cols = index.find(tokens)
        return [sorted(cols[rows == i].tolist()) for i in range(count)]

    return columns


# Vocabulary words cover short tokens, repeats, accents-free Greek and a lone surrogate; the tokens
# add characters the vocabulary lacks, which must match nothing.
VOCAB_WORDS = ["a", "ab", "abc", "aaaa", "bank", "banks", "οδος", "x\ud800y", "7%", "'s"]
QUERY_TOKENS = [*VOCAB_WORDS, "", "b", "zzz", "bankz", "éa", "ab\ud800", "aaaaaaa", "οδοσ", "🙂a"]


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 3), (2, 5), (3, 6), (4, 4), (5, 7)])
@pytest.mark.parametrize("exact", [True, False], ids=["keys", "fallback"])
def test_char_index_finds_what_a_dict_finds(ngram_range: tuple[int, int], exact: bool) -> None:
    columns = {
        g: 100 + i
        for i, g in enumerate(sorted({g for w in VOCAB_WORDS for g in char_wb_ngrams(w, ngram_range)}))
    }
    index = ngr.CharIndex(columns, ngram_range)
    assert index.exact
    index.exact = exact
    tokens = [t for t in QUERY_TOKENS if t]
    got = _index_columns(index, len(tokens))(tokens)
    assert got == _dict_columns(tokens, columns, ngram_range)
    assert sum(map(len, got)) > len(tokens)  # the vocabulary is really hit
    # Characters the vocabulary lacks match nothing: "zzz" gets at most the padding's " " n-gram.
    assert set(got[tokens.index("zzz")]) <= {columns.get(" ", -1)}


def test_char_index_with_a_huge_alphabet_falls_back_to_strings() -> None:
    # 7,000 distinct characters: 5-digit keys in base 7,001 would overflow 63 bits.
    words = ["".join(chr(0x4E00 + i + j) for j in range(3)) for i in range(0, 7000, 3)]
    columns = {g: i for i, g in enumerate({g for w in words for g in char_wb_ngrams(w, (2, 5))})}
    index = ngr.CharIndex(columns, (2, 5))
    assert not index.exact
    tokens = [*words[:50], "abc"]
    assert _index_columns(index, len(tokens))(tokens) == _dict_columns(tokens, columns, (2, 5))


def test_cache_does_not_change_results() -> None:
    vec = HeadlineVectorizer().fit(TRAIN)
    once = vec.transform(UNSEEN + TRAIN).toarray()
    again = vec.transform(UNSEEN + TRAIN).toarray()
    one_by_one = np.vstack([vec.transform([text]).toarray() for text in UNSEEN + TRAIN])
    tiny_cache = HeadlineVectorizer(cache_size=3).fit(TRAIN)
    texts = UNSEEN + TRAIN
    chunks = np.vstack([tiny_cache.transform(texts[i : i + 2]).toarray() for i in range(0, len(texts), 2)])
    for other in (again, one_by_one, chunks):
        np.testing.assert_allclose(other, once, atol=1e-6)


def test_cache_is_bounded() -> None:
    vec = HeadlineVectorizer(cache_size=5).fit(TRAIN)
    for text in TRAIN:
        vec.transform([text])
    assert len(vec._table.cache) <= 5 + max(len(t.split()) for t in TRAIN)


def test_pickle_round_trip_leaves_the_cache_out() -> None:
    vec = HeadlineVectorizer().fit(TRAIN)
    fresh = len(pickle.dumps(vec))
    want = vec.transform(UNSEEN).toarray()
    assert len(pickle.dumps(vec)) == fresh
    loaded = pickle.loads(pickle.dumps(vec))
    np.testing.assert_allclose(loaded.transform(UNSEEN).toarray(), want, atol=1e-6)


def test_refitting_forgets_the_old_vocabulary() -> None:
    vec = HeadlineVectorizer().fit(TRAIN)
    vec.transform(UNSEEN)
    vec.fit(TRAIN[:3])
    want = reference_union().fit(TRAIN[:3]).transform(UNSEEN).toarray()
    np.testing.assert_allclose(vec.transform(UNSEEN).toarray(), want, atol=1e-5)


def test_clone_keeps_the_settings() -> None:
    vec = HeadlineVectorizer(word_ngrams=(1, 3), char_ngrams=None, min_df=2, char_weight=0.3)
    assert clone(vec).get_params() == vec.get_params()


def test_token_features_attribute_every_feature_to_words() -> None:
    vec = HeadlineVectorizer().fit(TRAIN)
    names = vec.get_feature_names_out()
    text = "Cup final: Bank shares climb"
    per_word = vec.token_features(text)
    assert [word for word, _ in per_word] == ["cup", "final:", "bank", "shares", "climb"]
    cup = set(names[per_word[0][1]])
    final = set(names[per_word[1][1]])
    assert {"word__cup", "char__ cup ", "char__up"} <= cup
    assert "word__cup final" in cup and "word__cup final" in final  # a bigram belongs to both words
    assert "char__: " in final and "word__final" in final
    assert all(
        not n.startswith("char__") or n[6:].strip(" ") in w for w, cols in per_word for n in names[cols]
    )
    nonzero = set(vec.transform([text]).indices.tolist())
    assert nonzero <= set(np.concatenate([cols for _, cols in per_word]).tolist())


def test_a_batch_holding_the_separator_still_matches() -> None:
    vec = HeadlineVectorizer().fit(TRAIN)
    texts = ["Cup final", "x \x00 y", "Bank shares"]
    one_by_one = np.vstack([vec.transform([t]).toarray() for t in texts])
    np.testing.assert_allclose(vec.transform(texts).toarray(), one_by_one, atol=1e-6)


def test_token_features_of_empty_text() -> None:
    assert HeadlineVectorizer().fit(TRAIN).token_features("  ") == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"word_ngrams": (2, 1)}, "word_ngrams"),
        ({"char_ngrams": (0, 3)}, "char_ngrams"),
        ({"min_df": 1.5}, "min_df"),
        ({"min_df": 99}, "no terms remain"),
    ],
)
def test_bad_settings_rejected(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HeadlineVectorizer(**settings).fit(TRAIN)


def test_empty_vocabulary_and_single_string_rejected() -> None:
    with pytest.raises(ValueError, match="empty vocabulary"):
        HeadlineVectorizer().fit(["", "  "])
    with pytest.raises(ValueError, match="string object received"):
        HeadlineVectorizer().fit("one headline")


def test_pipeline_uses_it_with_the_pipeline_settings() -> None:
    features = build_pipeline({"char_ngrams": None, "min_df": 2}).named_steps["features"]
    assert isinstance(features, HeadlineVectorizer)
    assert features.char_ngrams is None and features.min_df == 2


@pytest.mark.parametrize("count", [0, 1, 7, 5000])
def test_key_index_finds_what_bisection_finds(count: int) -> None:
    rng = np.random.default_rng(count)
    # Small and huge keys, and a dense run that collides in the hash table.
    keys = np.unique(np.concatenate([rng.integers(0, 2**62, count), np.arange(min(count, 300))]))
    queries = np.concatenate([keys, rng.integers(0, 2**62, 1000), np.arange(400), keys[::-1]])
    want = ngr.lookup(queries, keys)
    got = ngr.KeyIndex(keys).find(queries)
    np.testing.assert_array_equal(got, want)
    assert (got >= 0).sum() >= 2 * len(keys)
