"""The order of questions in `classify label`: uncertainty with diversity, and the cold start."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from classify.labelling import sampling

# Written for this test: three themes with their own words, and a story told three times.
SPORT = [
    "Football club wins football derby",
    "Football striker scores in football final",
    "Football coach sacked",
]
ECONOMY = [
    "Bank raises bank interest rates",
    "Bank rates hold as bank profits rise",
    "Bank shares lift bank index",
]
HEALTH = [
    "Hospital patients wait for hospital beds",
    "Hospital opens unit for patients",
    "Patients sue hospital",
]
STORY = [
    "Nile dam talks resume in Cairo on Monday",
    "Nile dam talks resume in Cairo Monday",
    "Nile dam talks to resume in Cairo on Monday",
]


def test_margins_are_the_gap_between_the_two_best() -> None:
    proba = np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [0.34, 0.33, 0.33]])
    assert sampling.margins(proba) == pytest.approx([0.2, 0.85, 0.01])


def test_margins_single_topic_and_bad_shape() -> None:
    assert sampling.margins(np.ones((2, 1))).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="2-dimensional"):
        sampling.margins(np.ones(3))


def test_uncertainty_order_puts_the_smallest_margin_first() -> None:
    texts = SPORT + ECONOMY
    vecs = sampling.vectors(texts)
    rng = np.random.default_rng(0)
    top = rng.uniform(0.5, 1.0, len(texts))
    proba = np.column_stack([top, 1 - top])
    order = sampling.uncertainty_order(proba, vecs, range(len(texts)), window=0)
    assert order == list(np.argsort(top))  # margin 2*top-1 grows with top
    assert sorted(order) == list(range(len(texts)))


def test_uncertainty_order_keeps_near_duplicates_apart() -> None:
    texts = [*STORY, *SPORT]
    vecs = sampling.vectors(texts)
    # The three copies of the story are the most uncertain: by margin alone they come first, in a row.
    margin = np.array([0.01, 0.02, 0.03, 0.5, 0.6, 0.7])
    proba = np.column_stack([(1 + margin) / 2, (1 - margin) / 2])
    by_margin = sampling.uncertainty_order(proba, vecs, range(6), window=0)
    assert by_margin[:3] == [0, 1, 2]
    order = sampling.uncertainty_order(proba, vecs, range(6), window=1)
    assert order[0] == 0  # the most uncertain still leads
    assert order == [0, 3, 1, 4, 2, 5]  # no two copies in a row, otherwise by margin
    # A wider window keeps the copies further apart while there is something else to ask.
    wide = sampling.uncertainty_order(proba, vecs, range(6), window=3)
    assert wide[:4] == [0, 3, 4, 5]


def test_uncertainty_order_only_orders_the_candidates() -> None:
    texts = SPORT + ECONOMY
    proba = np.full((len(texts), 2), 0.5)
    order = sampling.uncertainty_order(proba, sampling.vectors(texts), [5, 1, 3])
    assert sorted(order) == [1, 3, 5]
    assert order == [1, 3, 5]  # equal margins keep pool order
    assert sampling.uncertainty_order(proba, sampling.vectors(texts), []) == []


def test_diverse_order_starts_with_one_headline_per_theme() -> None:
    texts = SPORT + ECONOMY + HEALTH
    theme = [0] * 3 + [1] * 3 + [2] * 3
    order = sampling.diverse_order(sampling.vectors(texts), range(len(texts)), limit=9, clusters=3)
    assert sorted(order) == list(range(len(texts)))
    assert {theme[i] for i in order[:3]} == {0, 1, 2}


def test_diverse_order_skips_copies_of_what_it_picked() -> None:
    texts = [*STORY, *SPORT, *ECONOMY]
    order = sampling.diverse_order(sampling.vectors(texts), range(len(texts)), limit=5, clusters=1, seed=3)
    first = order[:5]
    assert len(set(first) & {0, 1, 2}) <= 1  # at most one copy of the story among the first picks


def test_diverse_order_is_deterministic_and_respects_candidates() -> None:
    texts = SPORT + ECONOMY + HEALTH
    vecs = sampling.vectors(texts)
    a = sampling.diverse_order(vecs, [8, 2, 4, 6], limit=3, clusters=2, seed=1)
    b = sampling.diverse_order(vecs, [8, 2, 4, 6], limit=3, clusters=2, seed=1)
    assert a == b
    assert sorted(a) == [2, 4, 6, 8]


def test_cold_start_ends_when_every_topic_has_two_labels() -> None:
    topics = ["a", "b", "c"]
    assert not sampling.cold_start_over({"a": 2, "b": 2, "c": 1}, topics, answered=5)
    assert sampling.cold_start_over({"a": 2, "b": 2, "c": 2}, topics, answered=6)


def test_cold_start_ends_for_a_rare_topic_after_three_answers_per_topic() -> None:
    topics = ["a", "b", "c"]
    assert not sampling.cold_start_over({"a": 5, "b": 3}, topics, answered=8)
    assert sampling.cold_start_over({"a": 6, "b": 3}, topics, answered=9)
    assert not sampling.cold_start_over({"a": 9}, topics, answered=9)  # one topic cannot be trained


def test_a_batch_spreads_over_kinds_of_doubt() -> None:
    themes = [
        ["Football club wins derby", "Football coach sacked", "Football striker scores", "Football cup"],
        ["Bank raises rates", "Bank profits rise", "Bank shares fall", "Bank cuts jobs"],
        ["Hospital opens unit", "Hospital patients wait", "Hospital staff strike", "Hospital beds short"],
    ]
    texts = [t for theme in themes for t in theme]
    theme_of = [n for n, theme in enumerate(themes) for _ in theme]
    margin = np.linspace(0.01, 0.12, len(texts))  # the whole first theme is the most uncertain
    proba = np.column_stack([(1 + margin) / 2, (1 - margin) / 2])
    vecs = sampling.vectors(texts)
    plain = sampling.uncertainty_order(proba, vecs, range(len(texts)), window=0)
    assert {theme_of[i] for i in plain[:3]} == {0}
    batched = sampling.uncertainty_order(proba, vecs, range(len(texts)), window=0, batch=3)
    assert {theme_of[i] for i in batched[:3]} == {0, 1, 2}
    assert batched[:3] == sorted(batched[:3])  # most uncertain first within the batch
    assert sorted(batched) == list(range(len(texts)))


def test_selection_proba_ranks_with_the_pool_vocabulary() -> None:
    texts = SPORT + ECONOMY + HEALTH
    vecs = sampling.vectors(texts)
    topics = ["economy", "health", "sport"]
    # One labelled headline per theme; the model must place the other headlines of each theme.
    proba = sampling.selection_proba(vecs, [0, 3, 6], ["sport", "economy", "health"], topics)
    assert proba.shape == (len(texts), 3)
    assert proba.sum(axis=1) == pytest.approx(np.ones(len(texts)))
    predicted = [topics[j] for j in proba.argmax(axis=1)]
    assert predicted == ["sport"] * 3 + ["economy"] * 3 + ["health"] * 3
    again = sampling.selection_proba(vecs, [0, 3, 6], ["sport", "economy", "health"], topics)
    assert np.array_equal(proba, again)  # deterministic


def test_selection_proba_topic_without_labels_never_wins() -> None:
    texts = SPORT + ECONOMY
    vecs = sampling.vectors(texts)
    proba = sampling.selection_proba(
        vecs, [0, 1, 3, 4], ["sport", "sport", "economy", "economy"], ["sport", "x", "economy"]
    )
    assert proba[:, 1].max() < 1e-6
    assert sampling.margins(proba).shape == (len(texts),)  # two topics: a real margin, not 1


def test_selection_proba_refuses_bad_labels() -> None:
    vecs = sampling.vectors(SPORT + ECONOMY)
    with pytest.raises(ValueError, match="two topics"):
        sampling.selection_proba(vecs, [0, 1], ["sport", "sport"], ["sport", "economy"])
    with pytest.raises(ValueError, match="not among the topics"):
        sampling.selection_proba(vecs, [0, 3], ["sport", "culture"], ["sport", "economy"])
    with pytest.raises(ValueError, match="labelled indices"):
        sampling.selection_proba(vecs, [0], ["sport", "economy"], ["sport", "economy"])


# Written for this test: headlines that mix two themes' words, which a model taught only the pure
# themes cannot decide between.
MIXED = [
    "Football club bank shares rise",
    "Bank buys football club",
]


def test_the_selection_models_doubt_ranks_mixed_headlines_first() -> None:
    texts = SPORT + ECONOMY + MIXED
    vecs = sampling.vectors(texts)
    labelled = [0, 1, 3, 4]
    proba = sampling.selection_proba(
        vecs, labelled, ["sport", "sport", "economy", "economy"], ["sport", "economy"]
    )
    candidates = [2, 5, 6, 7]
    order = sampling.uncertainty_order(proba, vecs, candidates, window=0)
    assert set(order[:2]) == {6, 7}  # the mixed headlines: the smallest margins
    assert sorted(order) == candidates


def test_labelling_order_is_deterministic_and_asks_every_candidate_once() -> None:
    texts = SPORT + ECONOMY + HEALTH + MIXED + STORY
    vecs = sampling.vectors(texts)
    topics = ["economy", "health", "sport"]
    proba = sampling.selection_proba(vecs, [0, 3, 6], ["sport", "economy", "health"], topics)
    candidates = [i for i in range(len(texts)) if i not in (0, 3, 6)]
    first = sampling.labelling_order(proba, vecs, candidates, refit_every=3)
    again = sampling.labelling_order(
        sampling.selection_proba(vecs, [0, 3, 6], ["sport", "economy", "health"], topics), vecs, candidates, 3
    )
    assert first == again
    assert sorted(first) == candidates
    copies = {len(SPORT + ECONOMY + HEALTH + MIXED) + k for k in range(len(STORY))}
    for a, b in itertools.pairwise(first):
        assert not (a in copies and b in copies)  # no two copies of the story in a row


def _skewed_doubt() -> tuple[list[str], np.ndarray]:
    """Twelve headlines: the eight most uncertain all look like topic 0, four clearly like topic 1."""
    texts = [
        "Football club wins derby",
        "Football coach sacked",
        "Football striker scores",
        "Football cup draw made",
        "Tennis star reaches final",
        "Cricket side loses series",
        "Rugby captain injured",
        "Golf open delayed by rain",
        "Bank raises rates",
        "Bank profits rise",
        "Bank shares fall",
        "Bank cuts jobs",
    ]
    margin = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.3, 0.35, 0.4, 0.45])
    first = (1 + margin) / 2
    proba = np.column_stack([first, 1 - first])
    proba[8:] = proba[8:, ::-1]  # the bank headlines: topic 1 ahead by the same margin
    return texts, proba


def test_a_batch_shares_places_with_the_topic_that_has_few_labels() -> None:
    texts, proba = _skewed_doubt()
    vecs = sampling.vectors(texts)
    plain = sampling.labelling_order(proba, vecs, range(12), refit_every=4)
    assert all(i < 8 for i in plain[:4])  # by doubt alone: topic 0's headlines only
    # Topic 0 has 10 labels, topic 1 none: half the batch (2 places) goes by predicted-topic quota,
    # in proportion to 1 / (1 + labels), which gives both to topic 1.
    shared = sampling.labelling_order(proba, vecs, range(12), refit_every=4, counts=[10, 0])
    assert sum(i >= 8 for i in shared[:4]) == 2
    assert sum(i < 8 for i in shared[:4]) == 2  # the other half still by doubt
    # Balanced counts share the quota places alike, so topic 1 gets one.
    even = sampling.labelling_order(proba, vecs, range(12), refit_every=4, counts=[5, 5])
    assert sum(i >= 8 for i in even[:4]) == 1
    for order in (shared, even):
        assert sorted(order) == list(range(12))


def test_quota_order_is_repeatable_and_keeps_near_duplicates_apart() -> None:
    texts = [*STORY, *SPORT, *ECONOMY]
    vecs = sampling.vectors(texts)
    # The story's three copies are the most uncertain and predicted as topic 1, which has no labels.
    margin = np.array([0.01, 0.02, 0.03, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75])
    first = (1 + margin) / 2
    proba = np.column_stack([1 - first, first])
    proba[3:] = proba[3:, ::-1]
    order = sampling.labelling_order(proba, vecs, range(9), refit_every=4, counts=[6, 0], seed=3)
    assert order == sampling.labelling_order(proba, vecs, range(9), refit_every=4, counts=[6, 0], seed=3)
    assert sorted(order) == list(range(9))
    for a, b in itertools.pairwise(order):
        assert not (a < 3 and b < 3)  # no two copies of the story in a row
    with pytest.raises(ValueError, match="counts has 3 entries for 2 topics"):
        sampling.labelling_order(proba, vecs, range(9), refit_every=4, counts=[1, 2, 3])
