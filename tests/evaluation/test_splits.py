"""Grouped k-fold: the linear-time splitter used on large data, against what grouped k-fold must do."""

from __future__ import annotations

import numpy as np
import pytest

from classify.evaluation.splits import _water_fill, grouped_folds, grouped_kfold


def _rows(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels with a skew (three common, five rare) and groups: most rows alone, some in 2-6."""
    rng = np.random.default_rng(seed)
    labels = rng.choice([f"t{i}" for i in range(8)], size=n, p=[0.3, 0.2, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05])
    groups = np.arange(n)
    together = rng.random(n) < 0.2
    groups[together] = n + rng.integers(0, together.sum() // 3, size=together.sum())
    return labels, groups


@pytest.mark.parametrize("folds", [2, 5])
def test_grouped_folds_test_every_row_once_and_keep_groups_whole(folds: int) -> None:
    labels, groups = _rows()
    pairs = grouped_folds(labels, groups, folds)
    assert len(pairs) == folds
    tested = np.concatenate([test for _, test in pairs])
    assert sorted(tested.tolist()) == list(range(len(labels)))
    fold = np.empty(len(labels), dtype=int)
    for number, (train, test) in enumerate(pairs):
        assert not set(train.tolist()) & set(test.tolist())
        assert len(train) + len(test) == len(labels)
        fold[test] = number
    for g in np.unique(groups):
        assert len(set(fold[groups == g].tolist())) == 1


def test_grouped_folds_balance_labels_and_sizes() -> None:
    labels, groups = _rows()
    pairs = grouped_folds(labels, groups, 5)
    per_fold = np.array([[np.sum(labels[test] == t) for t in np.unique(labels)] for _, test in pairs])
    # Groups of up to six rows make exact balance impossible; single rows even out the rest.
    assert (per_fold.max(axis=0) - per_fold.min(axis=0)).max() <= 2
    sizes = [len(test) for _, test in pairs]
    assert max(sizes) - min(sizes) <= 3


def test_grouped_folds_are_repeatable_and_seeded() -> None:
    labels, groups = _rows()
    first = grouped_folds(labels, groups, 5, random_state=0)
    again = grouped_folds(labels, groups, 5, random_state=0)
    other = grouped_folds(labels, groups, 5, random_state=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=True))


def test_only_singletons_give_per_label_counts_within_one() -> None:
    labels = np.array(["a"] * 23 + ["b"] * 7 + ["c"] * 11)
    pairs = grouped_folds(labels, np.arange(len(labels)), 4)
    for label in "abc":
        counts = [int(np.sum(labels[test] == label)) for _, test in pairs]
        assert max(counts) - min(counts) <= 1


def test_water_fill_raises_the_lowest_bins_first() -> None:
    assert _water_fill(np.array([5, 0, 2]), 4, np.zeros(3)).tolist() == [0, 3, 1]
    assert _water_fill(np.array([1, 1, 1]), 2, np.array([9, 3, 5])).tolist() == [0, 1, 1]
    assert _water_fill(np.array([0, 0]), 0, np.zeros(2)).tolist() == [0, 0]
    assert _water_fill(np.array([3, 1]), 10, np.zeros(2)).tolist() == [4, 6]


def test_grouped_kfold_is_scikit_learns_on_small_data_and_ours_above(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.model_selection import StratifiedGroupKFold

    from classify.evaluation import splits

    labels, groups = _rows(600)
    ours = grouped_kfold(labels, groups, 5)
    theirs = list(
        StratifiedGroupKFold(5, shuffle=True, random_state=splits.RANDOM_STATE).split(labels, labels, groups)
    )
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(ours, theirs, strict=True))
    monkeypatch.setattr(splits, "FAST_SPLIT_ROWS", 100)
    fast = grouped_kfold(labels, groups, 5)
    assert all(
        np.array_equal(a[1], b[1]) for a, b in zip(fast, grouped_folds(labels, groups, 5), strict=True)
    )
