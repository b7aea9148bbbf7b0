"""Where ``classify predict``'s time goes, step by step, in CPU seconds (one process, one core).

    python -m bench.speed_steps [--size 200000]

Complements ``bench/speed.py`` (whole processes): the same recombined AG News + HuffPost headlines
and AG-trained model, with each stage of the command timed alone in one process pinned to one core,
so that each change can be measured before and after:

- startup: importing the CLI and loading the model file;
- reading: ``classify.io.records.iter_records`` on the file (``--no-split`` and with ticker splitting);
- the model: ``predict_proba`` in batches of 4,096 (the old fixed size) and as
  ``predict_record_batches`` grows them (1,024 doubling to 16,384), with the duplicate cache;
- writing: the per-row writers (``result_row`` dicts, ``json.dumps`` / ``csv.DictWriter`` per row,
  as v0.1 wrote them) against the batch writers, for jsonl, csv and jsonl with ``--top-k 3``.

Prints a markdown table; nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any


def cpu(fn: Callable[[], Any], repeats: int = 2) -> float:
    """The smallest CPU time (process) of ``repeats`` calls: other jobs only ever add time."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


def old_rows(batches: list[Any], fmt: str) -> None:
    """v0.1's writers: one dict, one ``json.dumps`` or ``DictWriter.writerow`` and one write per row."""
    with open(os.devnull, "w", encoding="utf-8") as out:
        _old_rows(batches, fmt, out)


def _old_rows(batches: list[Any], fmt: str, out: Any) -> None:
    from classify.prediction.writers import _flatten

    writer: Any = None
    for batch in batches:
        for row in batch.rows():
            if fmt == "jsonl":
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                continue
            flat = _flatten(row)
            if writer is None:
                writer = csv.DictWriter(
                    out, fieldnames=list(flat), lineterminator="\n", extrasaction="ignore"
                )
                writer.writeheader()
            writer.writerow(flat)


def startup(model_path: Path) -> float:
    """CPU seconds (user + system) of a fresh process that imports the CLI and loads the model."""
    code = "import sys, classify.cli\nfrom classify.pipeline.model import load_model\nload_model(sys.argv[1])"
    best = float("inf")
    for _ in range(3):
        before = os.times()
        subprocess.run([sys.executable, "-c", code, str(model_path)], check=True)
        after = os.times()
        best = min(
            best, after.children_user - before.children_user + after.children_system - before.children_system
        )
    return best


def new_batches(batches: list[Any], fmt: str) -> None:
    """The batch writers (CSV with its formula guard on, as by default)."""
    from classify.prediction.writers import get_writer

    with open(os.devnull, "w", encoding="utf-8") as sink:
        writer = get_writer(fmt, sink)
        for batch in batches:
            writer.write_batch(batch)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=200_000)
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    from bench.speed import make_headlines, train_models

    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        folder = Path(tmp)
        model_path, _ = train_models(folder)
        data = folder / "big.txt"
        data.write_text("".join(h + "\n" for h in make_headlines(args.size)), encoding="utf-8")

        rows.append(("startup: a process that imports classify.cli and loads the model", startup(model_path)))
        from classify.pipeline.model import load_model

        model = load_model(model_path)

        from classify.io.records import iter_records
        from classify.prediction.predictor import PredictOptions, predict_record_batches

        rows.append(("read, --no-split", cpu(lambda: sum(1 for _ in iter_records([data], split=False)))))
        rows.append(("read, ticker splitting", cpu(lambda: sum(1 for _ in iter_records([data], split=True)))))
        records = list(iter_records([data], split=False))
        headlines = [r.headline for r in records]

        def fixed_batches(size: int) -> None:
            fresh = load_model(model_path)  # an empty token cache, as in a new process
            for i in range(0, len(headlines), size):
                fresh.predict_proba(headlines[i : i + size])

        def growing_batches() -> None:
            list(predict_record_batches(load_model(model_path), records))

        rows.append(("model: predict_proba, batches of 4,096", cpu(partial(fixed_batches, 4096))))
        rows.append(("model: predict_proba, batches of 16,384", cpu(partial(fixed_batches, 16_384))))
        rows.append(("predict_record_batches (1,024 -> 16,384, cache, top-k)", cpu(growing_batches)))
        cases = (
            ("jsonl", "jsonl", PredictOptions()),
            ("csv", "csv", PredictOptions()),
            ("jsonl --top-k 3", "jsonl", PredictOptions(top_k=3)),
        )
        for name, fmt, options in cases:
            batches = list(predict_record_batches(model, records, options))
            rows.append((f"write {name}: per row (v0.1)", cpu(partial(old_rows, batches, fmt))))
            rows.append((f"write {name}: per batch", cpu(partial(new_batches, batches, fmt))))
    print(f"# classify predict, step by step: CPU seconds for {args.size:,} headlines, one core\n")
    print("| step | CPU s |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
