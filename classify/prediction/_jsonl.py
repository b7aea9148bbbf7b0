"""JSON Lines of a whole batch, built column by column instead of a ``json.dumps`` per row.

Private to :mod:`classify.prediction.writers`: the bytes are exactly those of ``json.dumps(row,
ensure_ascii=False)`` for each result row, which the golden files check.
"""

from __future__ import annotations

import functools
import json
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C encoder json uses
from typing import TYPE_CHECKING, cast

from classify.prediction.results import RESULT_KEYS

if TYPE_CHECKING:
    import numpy as np

    from classify.prediction.results import ResultBatch

#: ``repr(round(p, 4))`` for every ``round(p, 4) * 10**4`` (0 ... 10,000): how ``json`` and ``csv``
#: print a rounded probability.
_DECIMALS = [repr(k / 10_000) for k in range(10_001)]


def _jsonl_lines(batch: ResultBatch) -> list[str]:
    """The JSON lines of a batch, as ``json.dumps`` of each result row."""
    options, preds = batch.options, batch.predictions
    names = [encode_basestring(t) for t in preds.topics]
    best = preds.ranked[:, 0].tolist()
    confidence = [_DECIMALS[q] for q in batch.rounded[:, 0].tolist()]
    # The text after the input's fields, built column by column.
    if options.min_confidence is None:
        # One prefix per topic, so a row's tail is one concatenation.
        prefix = [f', "topic": {name}, "confidence": ' for name in names]
        tails = [prefix[j] + c for j, c in zip(best, confidence, strict=True)]
    else:
        unsure_name = encode_basestring(options.uncertain_label)
        tails = [
            f', "topic": {unsure_name if u else names[j]}, "confidence": {c}, "best_guess": {names[j]}'
            for j, u, c in zip(best, batch.unsure.tolist(), confidence, strict=True)
        ]
    if options.top_k > 1:
        # Every "[topic, p]" pair is taken from a table of them all (numpy's take on an object
        # array), one column per rank, then joined row by row: 0.08 s for 200k rows with three
        # ranks, against 0.13 s formatting each pair.
        k = batch.rounded.shape[1]
        at = preds.ranked[:, :k] * len(_DECIMALS) + batch.rounded
        pairs = _pair_table(tuple(names))[at.T].tolist()
        joined = map(", ".join, zip(*pairs, strict=True))
        tails = [t + ', "topics": [' + p + "]" for t, p in zip(tails, joined, strict=True)]
    for kind, key in (("labels", "labels"), ("sets", "set")):
        lists = preds.member_lists(kind)
        if lists is not None and (kind == "labels" or options.coverage is not None):
            # Each distinct list encoded once (most headlines share a handful of them).
            encoded = [
                f', "{key}": [' + ", ".join(names[preds.topics.index(t)] for t in ts) + "]" for ts in lists[0]
            ]
            tails = [t + encoded[i] for t, i in zip(tails, lists[1], strict=True)]
    if batch.why is not None:
        tails = [
            t + ', "why": ' + json.dumps(w, ensure_ascii=False) for t, w in zip(tails, batch.why, strict=True)
        ]
    if batch.plain:  # lines of text: the headline is the only input field
        heads = map(encode_basestring, preds.headlines)
        return [f'{{"headline": {h}{t}}}\n' for h, t in zip(heads, tails, strict=True)]
    opened = _uniform_text_objects([r.cells for r in batch.records])
    if opened is not None:  # table rows of text cells under the same columns (CSV, TSV)
        return [f"{o}{t}}}\n" for o, t in zip(opened, tails, strict=True)]
    lines = []
    for record, tail in zip(batch.records, tails, strict=True):
        fields = record.fields
        if len(fields) == 1 and "headline" in fields and isinstance(fields["headline"], str):
            lines.append('{"headline": ' + encode_basestring(fields["headline"]) + tail + "}\n")
        elif not fields:
            lines.append("{" + tail[2:] + "}\n")
        elif RESULT_KEYS.isdisjoint(fields):
            lines.append(json.dumps(fields, ensure_ascii=False)[:-1] + tail + "}\n")
        else:  # a pass-through column named like a result field: the row dict decides
            lines.append(None)  # type: ignore[arg-type]  # filled below
    if None in lines:
        rows = batch.rows()
        lines = [
            line if line is not None else json.dumps(row, ensure_ascii=False) + "\n"
            for line, row in zip(lines, rows, strict=True)
        ]
    return lines


def _uniform_text_objects(rows: list[dict[str, object] | None]) -> list[str] | None:
    """``json.dumps(row, ensure_ascii=False)`` without its closing brace, for rows that all have the
    same columns in the same order, none named like a result field, and only text in them (a CSV or
    TSV table's rows); None for any other batch.

    Built a column at a time (each column's text encoded with one ``map`` of json's own C string
    encoder) instead of a ``json.dumps`` per row, which took 0.45 s of a 200k-row table's 3.4 s.
    """
    first = rows[0] if rows else None
    if not first or not RESULT_KEYS.isdisjoint(first):
        return None
    keys = list(first)
    if any(row is None or list(row) != keys for row in rows):
        return None
    tables = cast(list[dict[str, object]], rows)
    columns = [[row[k] for row in tables] for k in keys]
    if not all(type(v) is str for column in columns for v in column):
        return None
    parts = [
        [f"{encode_basestring(k)}: {v}" for v in map(encode_basestring, cast(list[str], column))]
        for k, column in zip(keys, columns, strict=True)
    ]
    return ["{" + ", ".join(row) for row in zip(*parts, strict=True)]


@functools.lru_cache(maxsize=8)
def _pair_table(names: tuple[str, ...]) -> np.ndarray:
    """``"[name, p]"`` for every topic (JSON-encoded ``names``) and every written probability,
    topic ``j`` and ``p = q / 10**4`` at ``j * 10_001 + q`` (an object array, built once per topic set)."""
    import numpy as np

    return np.array([f"[{name}, {d}]" for name in names for d in _DECIMALS], dtype=object)
