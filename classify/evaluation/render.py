"""Text for people: evaluation summaries, the tuning leaderboard and the audit's tables.

Each result has one renderer here, in plain text (pipes, logs) and, where a terminal shows it, as a
rich table built from the same cells. Prediction rows are written by :mod:`classify.prediction.writers`, the
Markdown report by :mod:`classify.evaluation.report`. Nothing here reads argv or exits; the CLI decides
where the
text goes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from classify.evaluation.evaluate import Evaluation
from classify.evaluation.splits import SPLIT_DATE

if TYPE_CHECKING:
    from classify.evaluation.auditing import Audit
    from classify.evaluation.tuning import TuneResult


def passes_text(n: Any) -> str:
    """``1 pass`` or ``N passes``."""
    return "1 pass" if n == 1 else f"{n} passes"


def evaluation_text(result: Evaluation, *, source: str) -> str:
    """A readable report: headline figures, per-topic table, and the most common confusions."""
    lines = [f"{source}: {result.mode}" + (f", {result.folds} folds" if result.folds else "")]
    params = result.settings.get("params") or {}
    if params.get("method") == "stream":
        lines.append(
            f"model: streaming training, {passes_text(params.get('passes'))}, hashed features "
            "(as train builds it)"
        )
    lines.extend(split_lines(result))
    lines.append(
        f"rows {result.n}   accuracy {result.accuracy:.3f}   macro-F1 {result.macro_f1:.3f}   "
        f"weighted-F1 {result.weighted_f1:.3f}"
    )
    lines.append("")
    width = max([len("topic"), *(len(t) for t in result.per_topic)])
    lines.append(f"{'topic':<{width}}  precision  recall     f1  support")
    for topic, s in result.per_topic.items():
        lines.append(
            f"{topic:<{width}}  {s['precision']:9.3f}  {s['recall']:6.3f}  {s['f1']:5.3f}  {s['support']:7d}"
        )
    lines.extend(sets_lines(result))
    confusions = list(_top_confusions(result, 5))
    if confusions:
        lines.append("")
        lines.append("most confused (true -> predicted: rows)")
        lines.extend(f"  {t} -> {p}: {n}" for t, p, n in confusions)
    return "\n".join(lines) + "\n"


def sets_lines(result: Evaluation) -> list[str]:
    """Prediction sets and multi-label ``labels``, where they were scored."""
    lines: list[str] = []
    if result.sets:
        s = result.sets
        kind = "per-topic " if s.get("per_topic_coverage") else ""
        lines += [
            "",
            f"prediction sets at {kind}coverage {s['target_coverage']:g}: coverage {s['coverage']:.3f}   "
            f"mean size {s['mean_set_size']:.2f}   single topic {s['singleton_share']:.1%}",
            "  coverage per topic: " + ", ".join(f"{t} {c:.3f}" for t, c in s["coverage_per_topic"].items()),
        ]
    if result.multilabel:
        m = result.multilabel
        lines += [
            "",
            f"labels (every topic; the scores above are of the first): micro-F1 {m['micro_f1']:.3f}   "
            f"macro-F1 {m['macro_f1']:.3f}   subset accuracy {m['subset_accuracy']:.3f}   "
            f"Hamming loss {m['hamming_loss']:.4f}",
        ]
        width = max([len("topic"), *(len(t) for t in m["per_topic"])])
        lines.append(f"{'topic':<{width}}  precision  recall     f1  support  threshold")
        for topic, t in m["per_topic"].items():
            cut = m["thresholds"].get(topic)
            lines.append(
                f"{topic:<{width}}  {t['precision']:9.3f}  {t['recall']:6.3f}  {t['f1']:5.3f}  "
                f"{t['support']:7d}  " + (f"{cut:9.3f}" if cut is not None else "")
            )
        lines.append(f"  thresholds: {m['threshold_rule']} (of the last fold's model, on cross-validation)")
    return lines


def split_lines(result: Evaluation) -> list[str]:
    """How the rows were split and how many near-duplicates there were, for text and Markdown reports."""
    lines = []
    s = result.settings
    if result.split == SPLIT_DATE:
        lines.append(
            f"split by date ({s['date_col']}): trained on {s['train_rows']} rows up to "
            f"{s['train_until'][:10]}, tested on the newest {s['test_rows']} from {s['test_from'][:10]}"
        )
    elif result.split:
        lines.append(
            f"split: {result.split}"
            + (" (near-duplicates kept in one fold)" if result.split.startswith("grouped") else "")
        )
    dup = result.near_duplicates
    if dup is not None:
        if result.split == SPLIT_DATE:
            kept = f"; {s['test_rows_with_near_duplicate_in_train']} test rows retell a training story"
        elif result.split and result.split.startswith("grouped"):
            kept = ", each group in one fold"
        else:
            kept = ", free to straddle folds (--no-group)"
        if dup.get("method") == "minhash":
            kept += " (found by MinHash/LSH on this large input: a few pairs may be missed)"
        lines.append(
            f"near-duplicates (similarity >= {dup['threshold']:.2f}): {dup['rows_in_multi_row_groups']} "
            f"rows in {dup['multi_row_groups']} multi-row groups{kept}"
        )
    return lines


def _top_confusions(result: Evaluation, most: int) -> Iterator[tuple[str, str, int]]:
    pairs = [
        (result.labels[i], result.labels[j], count)
        for i, row in enumerate(result.confusion)
        for j, count in enumerate(row)
        if i != j and count
    ]
    yield from sorted(pairs, key=lambda x: -x[2])[:most]


# Tuning ----------------------------------------------------------------------------------------
#: Leaderboard columns: key and heading.
_LEADERBOARD = {"rank": "rank", "macro_f1": "macro-F1", "train_rows": "rows", "settings": "settings"}


def leaderboard_rows(result: TuneResult, top: int | None = None) -> list[dict[str, str]]:
    """The leaderboard as rows of text cells (rank, macro_f1, train_rows, settings), for tables."""
    rows = []
    for rank, trial in enumerate(result.leaderboard[:top] if top else result.leaderboard, start=1):
        rows.append(
            {
                "rank": str(rank),
                "macro_f1": f"{trial.mean:.3f} ± {trial.std:.3f}",
                "train_rows": str(trial.train_rows),
                "settings": trial.settings.describe() + (" (default)" if trial.is_default else ""),
            }
        )
    return rows


def leaderboard_text(result: TuneResult, top: int | None = None) -> str:
    """Plain-text leaderboard (for pipes and logs)."""
    rows = leaderboard_rows(result, top)
    heads = _LEADERBOARD
    widths = {k: max(len(heads[k]), *(len(r[k]) for r in rows)) for k in heads}
    lines = ["  ".join(f"{heads[k]:<{widths[k]}}" for k in heads).rstrip()]
    for r in rows:
        lines.append(
            f"{r['rank']:>{widths['rank']}}  {r['macro_f1']:<{widths['macro_f1']}}  "
            f"{r['train_rows']:>{widths['train_rows']}}  {r['settings']}"
        )
    return "\n".join(lines) + "\n"


def leaderboard_table(result: TuneResult, top: int | None = None, *, title: str = "") -> Any:
    """The leaderboard as a rich Table (same cells as :func:`leaderboard_text`)."""
    from rich.table import Table

    table = Table(title=_plain(title) if title else None)  # the title holds a file name: data too
    for key, head in _LEADERBOARD.items():
        table.add_column(head, justify="right" if key in ("rank", "train_rows") else "left")
    for row in leaderboard_rows(result, top):
        table.add_row(*(_plain(row[key]) for key in _LEADERBOARD))
    return table


# Auditing --------------------------------------------------------------------------------------
def audit_tables(result: Audit, top: int | None = None) -> list[Any]:
    """The audit as two rich Tables: likely label errors, and near-duplicates labelled differently."""
    from rich.table import Table

    shown = result.issues[:top] if top else result.issues
    issues = Table(
        title=_plain(f"Likely label errors: {len(shown)} of {len(result.issues)} ({result.n} rows)")
    )
    for name in ("row", "headline", "label", "p(label)", "suggested", "p"):
        issues.add_column(name, justify="right" if name in ("row", "p(label)", "p") else "left")
    for s in shown:
        issues.add_row(
            str(s.row),
            _plain(s.headline),
            _plain(s.label),
            f"{s.p_label:.3f}",
            _plain(s.suggested),
            f"{s.p_suggested:.3f}",
        )
    groups = result.conflicts[:top] if top else result.conflicts
    conflicts = Table(
        title=_plain(
            f"Near-duplicates with different labels: {len(groups)} of {len(result.conflicts)} group(s)"
        )
    )
    for name in ("group", "row", "headline", "label", "suggested"):
        conflicts.add_column(name, justify="right" if name in ("group", "row") else "left")
    for conflict in groups:
        for m in conflict.members:
            conflicts.add_row(
                str(conflict.group), str(m.row), _plain(m.headline), _plain(m.label), _plain(m.suggested)
            )
        conflicts.add_section()
    return [issues, conflicts]


def _plain(text: object) -> Any:
    """Data shown in a rich table as it is: a ``Text``, never parsed as markup or emoji codes.

    Control characters are dropped (white space ones become a space) and so are the bidirectional
    overrides, so that a headline cannot move the cursor, clear the screen, set a terminal link or
    reorder what a reviewer reads; rich's ``Text`` keeps ESC and most of them as they are.
    """
    from rich.text import Text

    return Text(printable(str(text)))


#: Characters a cell never shows: C0 and C1 controls, DEL, and the bidirectional embeddings,
#: overrides and isolates (U+202A-U+202E, U+2066-U+2069).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile("[\t\n\r]")


def printable(text: str) -> str:
    """``text`` safe to show on a terminal: tabs and line breaks as spaces, other controls dropped."""
    return _UNPRINTABLE.sub("", _BREAKS.sub(" ", text))
