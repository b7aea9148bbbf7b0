"""Auditing labelled data: rows whose label looks wrong, and near-duplicates labelled differently.

Likely label errors come from confident learning (Northcutt, Jiang & Chuang, "Confident Learning:
Estimating Uncertainty in Dataset Labels", JAIR 2021), done here in a few lines of numpy:

1. out-of-fold probabilities for every row from the grouped folds of ``classify evaluate``
   (:func:`classify.evaluation.evaluate.cross_validate`, on the splits of
   :mod:`classify.evaluation.splits`), so that no
   row, and no reworded copy of it, helped train the model that judges it;
2. a per-topic threshold: the mean probability of topic *k* over the rows labelled *k* (how sure the
   model is on its own turf; a topic the model finds hard gets a lower bar);
3. a row is flagged when the topic it is most confidently put in (the likeliest among the topics whose
   probability reaches their threshold) is not its given label, and the given label is not the
   likeliest topic either (cleanlab drops those rows too);
4. flagged rows are ranked by self-confidence, the probability of the given label, lowest first.

Why not cleanlab's ``find_label_issues``: it is installable here (cleanlab 2.9.0, Apache-2.0, pure
Python, adding cleanlab and termcolor to numpy, scikit-learn, pandas and tqdm, which it also needs), but
it would only replace steps 2-4: the out-of-fold probabilities are still ours, because they must come
from the grouped folds. What it adds over the above is the pruning variants (``prune_by_noise_rate``
keeps, per cell of the confident joint, as many rows as that cell's estimated count) and calibration
of the joint, which change which borderline rows make the list, not the order of the most suspicious
ones that a person reads. Checked on the shipped corpus (17,782 rows, same out-of-fold
probabilities): cleanlab's default flagged 731 rows and this 583, of which 581 are in cleanlab's list;
ranked by self-confidence, the top 15 and top 50 are the same rows and the top 100 share 98. For a list
that a person reviews top down, a new runtime dependency is not worth that; the method's core is small
enough to read in the function below.

The default pipeline's probabilities are temperature-scaled SVM scores and are sharp: the top of the
list often has ``p_label`` below 0.001. Read them as a ranking, not as calibrated chances.

Near-duplicates labelled differently come from :func:`classify.evaluation.groups.near_duplicate_groups`, the
grouping the folds use: two tellings of one story under two topics are either a label error or a
story that truly spans two topics, and either way a reader should look.

Library functions return an :class:`Audit` and print nothing; the CLI formats it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classify.pipeline.settings import Settings

from classify.evaluation.evaluate import CrossValidation, OutOfFoldRow
from classify.evaluation.splits import DEFAULT_FOLDS
from classify.io.labelled import LabelledData

#: Columns of :func:`records` (and so of :func:`write_csv`), in order.
CSV_COLUMNS = ("kind", "row", "group", "headline", "label", "suggested", "p_suggested", "p_label")
KIND_LABEL = "label_issue"
KIND_DUPLICATE = "near_duplicate"


@dataclass(frozen=True)
class Conflict:
    """A near-duplicate group whose rows carry more than one label.

    Attributes
    ----------
    group
        The group id.
    members
        Every row of the group, in file order, with the model's view of each.
    """

    group: int
    members: tuple[OutOfFoldRow, ...]

    @property
    def disputed(self) -> int:
        """Members whose label is not the model's likeliest topic."""
        return sum(m.suggested != m.label for m in self.members)

    @property
    def labels(self) -> list[str]:
        """The distinct labels in the group, most common first."""
        counts: dict[str, int] = {}
        for m in self.members:
            counts[m.label] = counts.get(m.label, 0) + 1
        return sorted(counts, key=lambda t: (-counts[t], t))


@dataclass(frozen=True)
class Audit:
    """What an audit found.

    Attributes
    ----------
    issues
        Likely label errors, most suspicious (lowest ``p_label``) first.
    conflicts
        Near-duplicate groups with different labels: those where the model disputes a label first,
        then smallest first.
    thresholds
        The per-topic confidence thresholds used (mean own-topic probability).
    n, folds, split, source
        Rows audited and how they were split.
    """

    issues: list[OutOfFoldRow]
    conflicts: list[Conflict]
    thresholds: dict[str, float]
    n: int
    folds: int | None
    split: str
    source: str


def audit(
    data: LabelledData,
    *,
    folds: int = DEFAULT_FOLDS,
    params: Settings | Mapping[str, Any] | None = None,
    run: CrossValidation | None = None,
) -> Audit:
    """Find likely label errors and differently labelled near-duplicates in ``data``.

    Parameters
    ----------
    data
        Labelled headlines.
    folds
        Grouped cross-validation folds, as in ``classify evaluate``.
    params
        Pipeline settings (e.g. from ``classify tune``).
    run
        A cross-validation of ``data`` made before (default:
        :func:`classify.evaluation.evaluate.cross_validate`
        with ``folds`` and ``params``).

    Returns
    -------
    Audit

    Raises
    ------
    DataError
        Too few rows or topics for the folds.
    """
    import numpy as np

    from classify.evaluation.evaluate import cross_validate

    if run is None:
        run = cross_validate(data, params=params, folds=folds)
    splits, oof = run.splits, run.oof
    topics = oof.topics
    proba = np.zeros((len(data), len(topics)))
    proba[oof.rows] = oof.proba
    given = np.asarray([topics.index(t) for t in data.labels])
    rows = np.arange(len(data))
    tested = np.zeros(len(data), dtype=bool)
    tested[oof.rows] = True

    p_label = proba[rows, given]
    thresholds = np.asarray(
        [
            p_label[(given == k) & tested].mean() if ((given == k) & tested).any() else 1.0
            for k in range(len(topics))
        ]
    )
    # The confident label: the likeliest topic among those whose probability reaches their threshold.
    passing = np.where(proba >= thresholds, proba, -1.0)
    confident = passing.argmax(axis=1)
    has_confident = passing.max(axis=1) >= 0
    # As cleanlab does, a row the model still puts in its given topic is not flagged, whatever the
    # thresholds say: a suggestion equal to the label would help nobody.
    best = proba.argmax(axis=1)
    flagged = np.flatnonzero(tested & has_confident & (confident != given) & (best != given))
    # Most suspicious first; ties (equal probability) by row, so the order is stable.
    flagged = flagged[np.lexsort((flagged, p_label[flagged]))]

    group_ids = splits.groups.ids

    def suspect(i: int) -> OutOfFoldRow:
        return OutOfFoldRow.of(data, i, proba[i], topics, group=int(group_ids[i]))

    members: dict[int, list[int]] = {}
    for i, g in enumerate(group_ids.tolist()):
        members.setdefault(g, []).append(i)
    conflicts = [
        Conflict(group=g, members=tuple(suspect(i) for i in idx))
        for g, idx in members.items()
        if len(idx) > 1 and len({data.labels[i] for i in idx}) > 1
    ]
    # Groups where the model disputes a label first: when each row's label is also the model's
    # choice, the "duplicates" are usually two stories about one name ("Mexico's peso hit by tariff
    # threat" / "Mexico, US agree on border security after tariff threat"). Within each half, small
    # groups first: a pair retold under two topics is the likeliest slip, while a large group is a
    # chain of similar stories ("parliament approves ... law") that spans topics.
    conflicts.sort(key=lambda c: (c.disputed == 0, len(c.members), -c.disputed, c.members[0].row))
    return Audit(
        issues=[suspect(int(i)) for i in flagged],
        conflicts=conflicts,
        thresholds={t: float(v) for t, v in zip(topics, thresholds, strict=True)},
        n=len(data),
        folds=splits.folds,
        split=splits.split,
        source=data.source,
    )


def records(result: Audit, top: int | None = None) -> Iterable[dict[str, Any]]:
    """Rows for output: the ``top`` likeliest label errors, then the members of the first ``top``
    near-duplicate conflicts (``None`` or 0: all), with the columns of :data:`CSV_COLUMNS`."""
    for kind, suspects in (
        (KIND_LABEL, result.issues[:top] if top else result.issues),
        (
            KIND_DUPLICATE,
            [m for c in (result.conflicts[:top] if top else result.conflicts) for m in c.members],
        ),
    ):
        for s in suspects:
            yield {
                "kind": kind,
                "row": s.row,
                "group": s.group,
                "headline": s.headline,
                "label": s.label,
                "suggested": s.suggested,
                # Significant figures, not decimals: the top of the list has p_label near 1e-5,
                # and rounding that to 0.0 would hide the order it is sorted by.
                "p_suggested": float(f"{s.p_suggested:.4g}"),
                "p_label": float(f"{s.p_label:.4g}"),
            }


def write_csv(result: Audit, out: IO[str], top: int | None = None) -> None:
    """The audit as CSV (one row per flagged row; ``kind`` says which list it is from)."""
    from classify.prediction.writers import CsvWriter

    CsvWriter(out).write_all(records(result, top))
