"""Splits: which rows train and which test, for cross-validation, tuning and audits.

Leakage-aware by default: headlines that tell the same story (see :mod:`classify.groups`) are kept in
one fold with ``StratifiedGroupKFold``, so that a reworded copy of a test headline never sits in the
training folds. ``group=False`` gives plain ``StratifiedKFold``; a date split (train on the older rows,
test on the newest :data:`DATE_TEST_FRACTION`) replaces k-fold when the question is "how well will it
do on next month's news". Everything that cross-validates (``evaluate``, ``tune``, ``audit``, the
report) splits here, so their figures are on the same folds.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from classify.data import LabelledData, check_trainable, describe_topics
from classify.errors import DataError
from classify.formats import find_column
from classify.groups import DUPLICATE_THRESHOLD, Groups, near_duplicate_groups

if TYPE_CHECKING:
    import numpy as np

#: Cross-validation folds unless asked otherwise.
DEFAULT_FOLDS = 5
#: Seed of every shuffled split, so that a run can be repeated.
RANDOM_STATE = 0

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
    """Raise :class:`DataError` unless every topic has at least ``folds`` rows."""
    if folds < 2:
        raise DataError(f"{{folds}} must be at least 2, got {folds}", arguments=("folds",))
    check_trainable(data)
    counts = data.counts()
    small = [t for t, n in counts.items() if n < folds]
    if small:
        raise DataError(
            f"{data.source}: {describe_topics(small, counts)} fewer rows than the {folds} folds asked; "
            "pass a smaller {folds} or add rows",
            arguments=("folds",),
        )


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
        The labelled rows; a date split needs ``data.frame`` (as :func:`~classify.data.load_labelled`
        keeps it) with a date column.
    folds
        Number of cross-validation folds (ignored by a date split).
    group
        Keep near-duplicate headlines (similarity >= ``threshold``) in one fold
        (``StratifiedGroupKFold``); ``False`` gives plain ``StratifiedKFold``, which lets reworded
        copies of a story leak between training and test folds and so flatters the score.
    threshold
        Similarity for :func:`classify.groups.near_duplicate_groups`.
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
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    check_folds(data, folds)  # the cheap checks first: grouping 100k rows takes a minute
    groups = near_duplicate_groups(data.texts, threshold=threshold)
    labels = np.asarray(data.labels, dtype=object)
    rows = np.arange(len(labels))
    settings: dict[str, Any] = {"folds": folds, "random_state": RANDOM_STATE, "grouped": group}
    if group:
        settings["group_threshold"] = threshold
        if groups.n_groups < folds:
            raise DataError(
                f"{data.source}: only {groups.n_groups} distinct stories (near-duplicate groups) for "
                f"{folds} folds; pass a smaller {{folds}}, or {{group=False}}",
                arguments=("folds", "group=False"),
            )
        splitter: Any = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
        pairs = list(splitter.split(rows, labels, groups.ids))
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
    return Splits(
        pairs=pairs, split=SPLIT_GROUPED if group else SPLIT_PLAIN, groups=groups, settings=settings
    )


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
