"""Scoring a model against another label set: a label map, and labels that differ only in case.

A site's file may say ``Business`` where the model says ``business``, or ``Sports`` where the default
model says ``sport``; neither is a wrong prediction.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from classify.errors import DataError


def parse_label_map(spec: str) -> dict[str, str]:
    """``a=b,c=d``, or a file: JSON ``{"a": "b"}``, or CSV/TSV rows ``a,b`` (a header row is allowed).

    Raises
    ------
    DataError
        A pair without ``=``, an empty side, or a file that is neither.
    """
    path = Path(spec)
    if path.is_file():
        return _read_map_file(path)
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        source, sep, target = (s.strip() for s in pair.partition("="))
        if not sep or not source or not target:
            raise DataError(
                f"{{label_map}}: '{pair}' is not LABEL=TOPIC (and no file {spec} exists)",
                arguments=("label_map",),
            )
        out[source] = target
    if not out:
        raise DataError("{label_map}: empty; give LABEL=TOPIC pairs or a file", arguments=("label_map",))
    return out


def _read_map_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the label map ({exc})") from None
    if text.lstrip().startswith("{"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise DataError(f'{path}: a label map is a JSON object of strings, {{"Sports": "sport"}}')
        return dict(raw)
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    rows = [r for r in csv.reader(text.splitlines(), dialect=dialect) if any(c.strip() for c in r)]
    if any(len(r) != 2 for r in rows):
        raise DataError(f"{path}: a label map has two columns, label and topic, on every row")
    if rows and [c.strip().lower() for c in rows[0]] in (["label", "topic"], ["from", "to"]):
        rows = rows[1:]
    return {a.strip(): b.strip() for a, b in rows}


def match_labels(
    labels: Sequence[str], topics: Sequence[str], label_map: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Each label as the model's topic it stands for: through ``label_map`` first, then, for a label
    that is no topic, the one topic equal to it but for case. Returns the labels and the case matches
    made (for a note to the user)."""
    known = set(topics)
    folded: dict[str, list[str]] = {}
    for topic in topics:
        folded.setdefault(topic.casefold(), []).append(topic)
    mapping = dict(label_map or {})
    by_case: dict[str, str] = {}
    for label in set(labels):
        target = mapping.get(label, label)
        if target not in known and len(folded.get(target.casefold(), [])) == 1:
            by_case[label] = folded[target.casefold()][0]
            target = by_case[label]
        mapping[label] = target
    return [mapping[label] for label in labels], by_case
