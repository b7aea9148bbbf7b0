"""BERT's WordPiece, written out: the pieces ``tokenizers`` gives, without ``tokenizers``."""

from __future__ import annotations

import importlib.util

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classify.pipeline.wordpiece import MAX_CHARS, WordPiece, normalise, pre_tokens

VOCAB = [
    "[UNK]",
    "bank",
    "banks",
    "rate",
    "##s",
    "##ie",
    "goal",
    "'",
    "t",
    "don",
    "-",
    "东",
    "cafe",
    "a",
    "##b",
]


def ids(*pieces: str) -> list[int]:
    return [VOCAB.index(p) for p in pieces]


def test_longest_piece_first_then_inner_pieces() -> None:
    wp = WordPiece(VOCAB)
    assert wp.known_pieces("banks") == ids("banks")  # not bank + ##s
    assert wp.known_pieces("rates") == ids("rate", "##s")
    assert wp.known_pieces("goalie") == ids("goal", "##ie")
    assert wp.known_pieces("abbb") == ids("a", "##b", "##b", "##b")


def test_a_word_with_an_unmatched_part_is_left_out_whole() -> None:
    wp = WordPiece(VOCAB)
    # "goalx": goal matches, "##x" does not: the whole pre-token is [UNK], not "goal".
    assert wp.known_pieces("goalx rates") == ids("rate", "##s")
    assert wp.known_pieces("a" + "b" * (MAX_CHARS - 1)) == ids("a") + ids("##b") * (MAX_CHARS - 1)
    assert wp.known_pieces("a" + "b" * MAX_CHARS) == []  # past the length limit: unknown


def test_punctuation_is_a_pre_token_of_its_own() -> None:
    assert pre_tokens("don't  bank-rates$") == ["don", "'", "t", "bank", "-", "rates", "$"]
    assert WordPiece(VOCAB).known_pieces("don't") == ids("don", "'", "t")


def test_normalising_strips_accents_lowercases_and_cleans() -> None:
    assert normalise("CAFÉ") == "cafe"
    assert normalise("İstanbul") == "istanbul"
    assert normalise("a\x00b\u200bc\td") == "abc d"  # NUL and format characters go, tabs are spaces
    assert normalise("东京") == " 东  京 "  # CJK ideographs are words of their own
    assert normalise("ΟΔΟΣ") == "οδοσ"  # per character, as tokenizers lowercases
    assert WordPiece(VOCAB).known_pieces("Café 东") == ids("cafe", "东")


_tokenizers = pytest.mark.skipif(
    importlib.util.find_spec("tokenizers") is None, reason="needs tokenizers (the test extra)"
)


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    """Hugging Face's BERT tokenizer over the shipped vocabulary: all-MiniLM-L6-v2's tokenizer.json.

    The same normaliser, pre-tokeniser and model settings as that file, built here so that the
    test needs ``tokenizers`` only, not the encoder package.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece as Reference

    from classify.pipeline.embeddings import wordpiece_vectors

    ours = wordpiece_vectors()[0]
    tok = Tokenizer(Reference(vocab=dict(ours.ids), unk_token="[UNK]", max_input_chars_per_word=MAX_CHARS))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok, ours


def _same(reference, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    tok, ours = reference
    unk = tok.token_to_id("[UNK]")
    for word, enc in zip(words, tok.encode_batch(words, add_special_tokens=False), strict=True):
        assert ours.known_pieces(word) == [i for i in enc.ids if i != unk], word


@_tokenizers
def test_the_shipped_vocabulary_cuts_words_as_tokenizers_does(reference) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import tiny_rows

    words = sorted({w for text, _ in tiny_rows() for w in text.split()})
    words += [
        "goalkeeper",
        "policymakers",
        "ceasefire",
        "£5bn",
        "u.s.",
        "covid-19",
        "naïve",
        "Zürich",
        "ﬁnance",
    ]
    words += [
        "東京タワー",
        "Σίσυφος",
        "x\x1cy",
        "e\u0301",
        "ǅ",
        "straße",
        "a\u00a0b",
        "\u2018quoted\u2019",
        "1,000",
    ]
    _same(reference, words)


@_tokenizers
@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdeéüßİΣ\u03c3ς東ﬁ'-.,$£€1 \u00a0\u2019\u200b\x00\t", min_size=1, max_size=14),
        min_size=1,
        max_size=20,
    )
)
def test_random_words_cut_as_tokenizers_does(reference, words: list[str]) -> None:  # type: ignore[no-untyped-def]
    _same(reference, words)
