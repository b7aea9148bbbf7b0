"""The one read -> predict -> write loop: input files in, result rows written out.

``classify predict`` (to standard output), each Dask partition (to its own file, atomically) and the
service (a request's headlines, a batch at a time) all classify through :func:`predict_record_batches`
and write through :func:`classify.prediction.writers.get_writer`; this module is the loop that joins
reading, prediction and writing, so that none of them has a copy of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from classify.io.reading import InputReport
from classify.io.records import iter_records
from classify.pipeline.model import Model
from classify.prediction.predictor import predict_record_batches
from classify.prediction.results import PredictOptions
from classify.prediction.writers import get_writer
from classify.progress import report


@dataclass(frozen=True)
class PredictRun:
    """What a prediction run wrote and met on the way.

    Attributes
    ----------
    rows
        Result rows written.
    counts
        Rows per topic (the uncertain label included).
    warnings
        What the readers and writers changed (bad bytes, cut headlines, unencodable text), to tell the
        user once, after the rows.
    """

    rows: int
    counts: Counter[str]
    warnings: tuple[str, ...] = field(default=())


def predict_files(
    model: Model,
    sources: Sequence[Path | str],
    out: IO[str],
    *,
    fmt: str = "jsonl",
    options: PredictOptions | None = None,
    text_col: str | None = None,
    split: bool = True,
    pattern: str | None = None,
    from_page: bool = False,
    formula_guard: bool = True,
) -> PredictRun:
    """Classify every headline of ``sources`` in input order and write the rows to ``out``.

    Parameters
    ----------
    model
        A trained model.
    sources
        Files (plain lines, tickers, pages, CSV/TSV/JSON Lines tables, Parquet) or ``-`` for stdin.
    out
        Where the rows go, in format ``fmt`` (``jsonl``, ``csv`` or ``table``).
    options
        Top-k, abstention and explanations.
    text_col, split, pattern, from_page
        How the input is read (:func:`classify.io.records.iter_records`).
    formula_guard
        Guard CSV cells that spreadsheets would run as formulas.
    """
    issues = InputReport()
    records = iter_records(
        sources, text_col=text_col, split=split, pattern=pattern, from_page=from_page, report=issues
    )
    writer = get_writer(fmt, out, formula_guard=formula_guard)
    counts: Counter[str] = Counter()
    rows = 0
    for batch in predict_record_batches(model, records, options):
        writer.write_batch(batch)
        counts.update(batch.topic_names())
        rows += len(batch)
        report(f"classified {rows:,} headlines")
    writer.close()
    warnings = list(issues.warnings())
    if writer.replaced:
        warnings.append(
            f"{writer.replaced} row(s) held text that cannot be written as {writer.encoding} (such as a "
            f"lone surrogate from a JSON escape); written with U+FFFD instead, first in output row "
            f"{writer.first_replaced}"
        )
    return PredictRun(rows=rows, counts=counts, warnings=tuple(warnings))


def predict_to_file(
    model: Model,
    source: Path,
    target: Path,
    *,
    fmt: str = "jsonl",
    options: PredictOptions | None = None,
    text_col: str | None = None,
) -> PredictRun:
    """Classify one input file (one headline per line, or a table) into ``target``, atomically.

    A partition is an archive, not a feed: plain lines are not split as tickers.
    """
    from classify.atomic import atomic_path, refuse_input_as_output

    refuse_input_as_output(target, [source], what="output file")
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="") as out:
        return predict_files(model, [source], out, fmt=fmt, options=options, text_col=text_col, split=False)
