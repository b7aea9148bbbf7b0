"""Splits: which rows train and which test, for cross-validation, tuning and audits.

Leakage-aware by default: headlines that tell the same story (see :mod:`classify.evaluation.groups`) are
kept in
one fold with ``StratifiedGroupKFold`` (or, above :data:`FAST_SPLIT_ROWS` rows, :func:`grouped_folds`,
its linear-time equivalent), so that a reworded copy of a test headline never sits in the training
folds. ``group=False`` gives plain ``StratifiedKFold``; a date split (train on the older rows,
test on the newest :data:`DATE_TEST_FRACTION`) replaces k-fold when the question is "how well will it
do on next month's news". Everything that cross-validates (``evaluate``, ``tune``, ``audit``, the
report) splits here, so their figures are on the same folds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from classify.errors import ClassifyWarning, DataError
from classify.evaluation.groups import DUPLICATE_THRESHOLD, Groups, near_duplicate_groups
from classify.io.formats import find_column
from classify.io.labelled import LabelledData, check_trainable, describe_topics

if TYPE_CHECKING:
    import numpy as np

#: Cross-validation folds unless asked otherwise.
DEFAULT_FOLDS = 5
#: Seed of every shuffled split, so that a run can be repeated.
RANDOM_STATE = 0

#: Up to this many rows, grouped k-fold is scikit-learn's ``StratifiedGroupKFold`` (the folds of
#: classify 0.x); above it, :func:`grouped_folds`, which makes folds of the same kind in linear time.
#: scikit-learn's greedy loop costs a few numpy calls per group and fold in Python: seconds at 50k
#: rows, minutes at 1M (32 s for 50k rows of mostly single-row groups on a loaded core, against
#: 12 s for 1M rows with :func:`grouped_folds`).
FAST_SPLIT_ROWS = 50_000

#: Column names recognised as the publication date, in order of preference (case-insensitive).
DATE_COLUMNS = ("date", "published", "published_at", "pubdate", "time", "timestamp", "datetime")
#: Share of rows, newest first, that a date split tests on. One fifth matches 5-fold cross-validation,
#: so the two modes train on similar amounts of data and their scores can be compared.
DATE_TEST_FRACTION = 0.2

#: How the rows were split, as recorded in :attr:`Evaluation.split`.
SPLIT_GROUPED = "grouped k-fold"
SPLIT_PLAIN = "stratified k-fold"
SPLIT_DATE = "date"


class SplitOptions(TypedDict, total=False):
    """How to split, as keyword arguments of :func:`make_splits` (for callers that pass them on)."""

    folds: int
    group: bool
    threshold: float
    split_by_date: bool
    date_col: str | None
    test_fraction: float


def check_folds(data: LabelledData, folds: int) -> None:
    """Raise :class:`DataError` unless at least two topics have ``folds`` rows or more.

    Topics with fewer rows are not an error: :func:`make_splits` keeps their rows in every training
    fold and tests none of them, as scikit-learn warns and carries on.
    """
    if folds < 2:
        raise DataError(f"{{folds}} must be at least 2, got {folds}", arguments=("folds",))
    check_trainable(data)
    counts = data.counts()
    tested = [t for t, n in counts.items() if n >= folds]
    if len(tested) < 2:
        small = [t for t, n in counts.items() if n < folds]
        raise DataError(
            f"{data.source}: {describe_topics(small, counts)} fewer rows than the {folds} folds asked; "
            "pass a smaller {folds} or add rows (fewer than 2 topics could be tested)",
            arguments=("folds",),
        )


def untested_topics(data: LabelledData, folds: int) -> dict[str, int]:
    """Topics with fewer rows than ``folds``: trained on in every fold, never tested (with their rows)."""
    return {t: n for t, n in data.counts().items() if n < folds}


@dataclass(frozen=True)
class Splits:
    """Train/test row indexes for an evaluation, and how they were made.

    Attributes
    ----------
    pairs
        ``(train, test)`` index arrays; k-fold tests every row once, a date split only the newest.
    split
        One of :data:`SPLIT_GROUPED`, :data:`SPLIT_PLAIN`, :data:`SPLIT_DATE`.
    groups
        The near-duplicate groups of all rows (computed in every mode, to report possible leakage).
    settings
        What a reader needs to repeat the split (folds, seed, threshold, date column and cut-off).
    """

    pairs: list[tuple[np.ndarray, np.ndarray]]
    split: str
    groups: Groups
    settings: dict[str, Any]

    @property
    def folds(self) -> int | None:
        """Number of folds, or ``None`` for a single date split."""
        return None if self.split == SPLIT_DATE else len(self.pairs)


def make_splits(
    data: LabelledData,
    *,
    folds: int = DEFAULT_FOLDS,
    group: bool = True,
    threshold: float = DUPLICATE_THRESHOLD,
    split_by_date: bool = False,
    date_col: str | None = None,
    test_fraction: float = DATE_TEST_FRACTION,
) -> Splits:
    """Decide which rows train and which test, in one of three ways.

    Parameters
    ----------
    data
        The labelled rows; a date split needs ``data.frame`` (as :func:`~classify.io.labelled.load_labelled`
        keeps it) with a date column.
    folds
        Number of cross-validation folds (ignored by a date split).
    group
        Keep near-duplicate headlines (similarity >= ``threshold``) in one fold
        (``StratifiedGroupKFold``); ``False`` gives plain ``StratifiedKFold``, which lets reworded
        copies of a story leak between training and test folds and so flatters the score.
    threshold
        Similarity for :func:`classify.evaluation.groups.near_duplicate_groups`.
    split_by_date
        Train on the older rows and test on the newest ``test_fraction`` instead of k-fold.
    date_col
        The date column; by default the first of :data:`DATE_COLUMNS`.
    test_fraction
        Share of rows tested by a date split.

    Raises
    ------
    DataError
        Too few rows or groups for the folds, or no usable date column for a date split.
    """
    import numpy as np

    if split_by_date:
        return _date_split(data, threshold=threshold, date_col=date_col, test_fraction=test_fraction)
    from sklearn.model_selection import StratifiedKFold

    check_folds(data, folds)  # the cheap checks first: grouping 100k rows takes a minute
    groups = near_duplicate_groups(data.texts, threshold=threshold)
    all_labels = np.asarray(data.labels, dtype=object)
    settings: dict[str, Any] = {"folds": folds, "random_state": RANDOM_STATE, "grouped": group}
    # Topics with fewer rows than folds are split out first: their rows join every training fold.
    untested = untested_topics(data, folds)
    rare = np.isin(all_labels, list(untested))
    testable, always = np.flatnonzero(~rare), np.flatnonzero(rare)
    labels, group_ids = all_labels[testable], groups.ids[testable]
    rows = np.arange(len(labels))
    if untested:
        settings["untested_topics"] = untested
        warnings.warn(
            f"{data.source}: {describe_topics(list(untested), untested)} fewer rows than the {folds} "
            f"folds; {'its' if len(untested) == 1 else 'their'} {sum(untested.values())} row(s) train "
            "every fold and are never tested",
            ClassifyWarning,
            stacklevel=2,
        )
    if group:
        settings["group_threshold"] = threshold
        n_groups = len(np.unique(group_ids))
        if n_groups < folds:
            raise DataError(
                f"{data.source}: only {n_groups} distinct stories (near-duplicate groups) for "
                f"{folds} folds; pass a smaller {{folds}}, or {{group=False}}",
                arguments=("folds", "group=False"),
            )
        largest = int(np.bincount(np.unique(group_ids, return_inverse=True)[1].ravel()).max())
        if largest > len(labels) / folds:
            # One chained group bigger than a fold: it fills one test fold (whose model then trains
            # on the few rows left) and the score means nothing. Seen on a synthetic archive whose
            # rows all share halves with others (99.9% in one group, macro-F1 0.08).
            raise DataError(
                f"{data.source}: near-duplicate grouping joined {largest:,} of {len(labels):,} "
                f"rows into one group, more than a fold holds, so the folds cannot be balanced; pass a "
                f"higher {{threshold}} (now {threshold}) or {{group=False}}",
                arguments=("threshold", "group=False"),
            )
        pairs = grouped_kfold(labels, group_ids, folds)
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
        pairs = list(splitter.split(rows, labels))
    for number, (train_idx, _) in enumerate(pairs, start=1):
        if len(set(labels[train_idx])) < 2:
            raise DataError(
                f"{data.source}: fold {number} would train on a single topic; pass a smaller {{folds}} "
                "or add rows",
                arguments=("folds",),
            )
    if untested:
        pairs = [(np.sort(np.concatenate([testable[tr], always])), testable[te]) for tr, te in pairs]
    return Splits(
        pairs=pairs, split=SPLIT_GROUPED if group else SPLIT_PLAIN, groups=groups, settings=settings
    )


def grouped_kfold(labels: np.ndarray, groups: np.ndarray, folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The grouped k-fold splits of :func:`make_splits`, chosen by size.

    scikit-learn's ``StratifiedGroupKFold`` up to :data:`FAST_SPLIT_ROWS` rows (the folds classify
    always made there), :func:`grouped_folds` above (same seed, the same kind of folds, linear time).
    """
    import numpy as np

    if len(labels) <= FAST_SPLIT_ROWS:
        from sklearn.model_selection import StratifiedGroupKFold

        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
        return list(splitter.split(np.zeros(len(labels)), labels, groups))
    return grouped_folds(labels, groups, folds, random_state=RANDOM_STATE)


def grouped_folds(
    labels: np.ndarray, groups: np.ndarray, folds: int, *, random_state: int = RANDOM_STATE
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified group k-fold in linear time: groups stay whole, each label spread evenly over folds.

    The same aim as scikit-learn's ``StratifiedGroupKFold(shuffle=True)``, whose greedy loop (each
    group, largest spread of labels first, goes to the fold where it best evens out the label shares)
    costs a few numpy calls per group and fold in Python: minutes for a million rows. Here:

    - groups of two or more rows go through the same greedy rule, in the same order (shuffled, then by
      decreasing standard deviation of their label counts), each group's choice among the folds made
      in one array operation;
    - single rows, most rows of an archive, need no search: for each label, its single rows are
      shuffled and dealt so that the label's count per fold becomes as even as possible ("water
      filling" the folds that have fewest of that label; a remainder goes to the folds with fewest
      rows).

    Parameters
    ----------
    labels
        One label per row (any comparable values).
    groups
        One group id per row; rows with the same id are never split between folds.
    folds
        Number of folds.
    random_state
        Seed of the shuffles.

    Returns
    -------
    list of (train, test)
        Sorted row indexes per fold; every row is tested exactly once.
    """
    import numpy as np

    rng = np.random.default_rng(random_state)
    _, y = np.unique(labels, return_inverse=True)
    y = y.ravel()
    n_classes = int(y.max()) + 1 if len(y) else 0
    _, g = np.unique(groups, return_inverse=True)
    g = g.ravel()
    sizes = np.bincount(g)
    fold_of_row = np.empty(len(y), dtype=np.int64)
    per_fold = np.zeros((folds, n_classes), dtype=np.float64)
    class_total = np.bincount(y, minlength=n_classes).astype(np.float64)
    class_total[class_total == 0] = 1.0
    # 1. Groups of two or more rows: scikit-learn's greedy rule, one group at a time.
    multi = np.flatnonzero(sizes >= 2)
    if len(multi):
        in_multi = sizes[g] >= 2
        rows = np.flatnonzero(in_multi)
        local = np.searchsorted(multi, g[rows])
        counts = np.zeros((len(multi), n_classes), dtype=np.float64)
        np.add.at(counts, (local, y[rows]), 1.0)
        order = rng.permutation(len(multi))
        order = order[np.argsort(-counts[order].std(axis=1), kind="stable")]
        fold_of_group = np.empty(len(multi), dtype=np.int64)
        eye = np.eye(folds)[:, :, None]
        for i in order.tolist():
            # Label shares per fold if the group went to fold f (axis 0), for every f at once.
            trial = (per_fold[None, :, :] + eye * counts[i][None, None, :]) / class_total
            score = trial.std(axis=1).mean(axis=1)
            best = np.flatnonzero(np.isclose(score, score.min()))
            fold = int(best[np.argmin(per_fold[best].sum(axis=1))])
            fold_of_group[i] = fold
            per_fold[fold] += counts[i]
        fold_of_row[rows] = fold_of_group[local]
    # 2. Single rows, label by label: fill the folds with fewest of that label first.
    single = np.flatnonzero(sizes[g] == 1)
    single = single[rng.permutation(len(single))]
    single = single[np.argsort(y[single], kind="stable")]
    bounds = np.searchsorted(y[single], np.arange(n_classes + 1))
    for c in range(n_classes):
        members = single[bounds[c] : bounds[c + 1]]
        if not len(members):
            continue
        add = _water_fill(per_fold[:, c], len(members), per_fold.sum(axis=1))
        fold_of_row[members] = np.repeat(np.arange(folds), add)
        per_fold[:, c] += add
    rows_all = np.arange(len(y))
    return [(rows_all[fold_of_row != f], rows_all[fold_of_row == f]) for f in range(folds)]


def _water_fill(have: np.ndarray, n: int, totals: np.ndarray) -> np.ndarray:
    """How many of ``n`` new items each bin gets so that the counts end as even as possible.

    Bins below the final level are raised to it; a remainder that cannot be spread evenly goes to
    the bins with the smallest ``totals`` (the least populated folds, as scikit-learn breaks ties).
    """
    import numpy as np

    have = have.astype(np.int64)
    order = np.argsort(have, kind="stable")
    level_of = have[order]
    k = len(have)
    for m in range(1, len(have) + 1):  # raise the m lowest bins; stop when the next is not reached
        if m == len(have) or m * level_of[m] - level_of[:m].sum() >= n:
            k = m
            break
    level, extra = divmod(int(level_of[:k].sum()) + n, k)
    add = np.zeros(len(have), dtype=np.int64)
    add[order[:k]] = level - level_of[:k]
    if extra:
        lowest = order[:k][np.argsort(totals[order[:k]], kind="stable")[:extra]]
        add[lowest] += 1
    return add


def find_date_column(data: LabelledData, date_col: str | None = None) -> str:
    """The date column of ``data``: ``date_col`` if given, else the first of :data:`DATE_COLUMNS`."""
    columns = [] if data.frame is None else [str(c) for c in data.frame.columns]
    return find_column(columns, date_col, DATE_COLUMNS, "date", "date_col", data.source)


def parse_dates(data: LabelledData, column: str) -> Any:
    """The column as UTC timestamps (a pandas Series); every row must have a readable date."""
    import pandas as pd

    assert data.frame is not None  # find_date_column found the column in it
    values = data.frame[column].astype(str).str.strip()
    with warnings.catch_warnings():
        # pandas warns when it cannot infer one format and parses element by element: that is fine.
        warnings.simplefilter("ignore", UserWarning)
        try:
            dates = pd.to_datetime(values, utc=True)
        except (ValueError, TypeError, OverflowError):
            dates = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        first = values[bad].iloc[0]
        raise DataError(
            f"{data.source}: {int(bad.sum())} row(s) have no readable date in column '{column}' "
            f"(first: {first!r}); fix or remove them, or pass another {{date_col}}",
            arguments=("date_col",),
        )
    return dates


def _date_split(
    data: LabelledData, *, threshold: float, date_col: str | None, test_fraction: float
) -> Splits:
    import numpy as np

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    check_trainable(data)
    column = find_date_column(data, date_col)
    dates = parse_dates(data, column)
    ordered = np.sort(dates.to_numpy())
    # Rows sharing the cut-off timestamp all go to the test side, so one moment (one day, for a column
    # of plain dates) is never split between training and test.
    cutoff = ordered[len(ordered) - max(1, math.ceil(len(ordered) * test_fraction))]
    is_test = (dates >= cutoff).to_numpy()
    train_idx, test_idx = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    if not len(train_idx):
        raise DataError(
            f"{data.source}: every row has the same date in column '{column}', so there is nothing "
            "older to train on; use cross-validation instead of {split_by_date}",
            arguments=("split_by_date",),
        )
    labels = np.asarray(data.labels, dtype=object)
    if len(set(labels[train_idx])) < 2:
        raise DataError(
            f"{data.source}: the older {len(train_idx)} rows hold a single topic; a date split needs "
            "at least two topics before the cut-off"
        )
    groups = near_duplicate_groups(data.texts, threshold=threshold)
    # Stories that straddle the cut-off are what a deployed model meets too (old news retold), so
    # they are not removed; they are counted so that a reader can judge.
    seen = set(groups.ids[train_idx].tolist())
    retold = int(sum(1 for g in groups.ids[test_idx].tolist() if g in seen))
    settings = {
        "date_col": column,
        "test_fraction": test_fraction,
        "train_rows": len(train_idx),
        "test_rows": len(test_idx),
        "train_from": _iso(dates.iloc[train_idx].min()),
        "train_until": _iso(dates.iloc[train_idx].max()),
        "test_from": _iso(dates.iloc[test_idx].min()),
        "test_until": _iso(dates.iloc[test_idx].max()),
        "test_rows_with_near_duplicate_in_train": retold,
        "group_threshold": groups.threshold,
    }
    return Splits(pairs=[(train_idx, test_idx)], split=SPLIT_DATE, groups=groups, settings=settings)


def _iso(timestamp: Any) -> str:
    return str(timestamp.isoformat())
