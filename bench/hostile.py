"""Hostile input, measured: a huge cell in training data, and the reader's speed.

Two questions, each answered for this checkout and, with ``--old DIR``, for another copy of classify
(e.g. ``git archive <commit> | tar -x -C DIR``) in the same run, so the figures are ratios on one
noisy machine:

1. Training on the shipped corpus with one extra row whose headline is a ``--cell-mb`` MB cell (of
   the corpus' words, or of random letters: ``--cells``): peak memory (max RSS of the child
   process), time, model file size, each against training on the corpus alone. The issue's report:
   3.4 GB and a model 90x larger, with no warning.
2. Reading speed of prediction input (plain lines and CSV, ``--rows`` each, built from the corpus'
   headlines): records per second through ``classify.io.records.iter_records``, on one core.

Every measurement runs in a fresh child process pinned to one core (``taskset``-like affinity).

Usage::

    python bench/hostile.py [--cell-mb 50] [--cells words,random] [--rows 1000000] [--old DIR]
                            [--out bench/results]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "headlines.csv"

TRAIN = """
import sys, time
from pathlib import Path
from classify import load_labelled, save_model
from classify import train
started = time.perf_counter()
data = load_labelled(sys.argv[1])
model = train(data).model
save_model(model, Path(sys.argv[2]))
import classify
assert Path(classify.__file__).parent.parent == Path(sys.argv[3]), classify.__file__
print(time.perf_counter() - started, getattr(data, "truncated", None), max(len(t) for t in data.texts))
"""

READ = """
import sys, time
from pathlib import Path
import classify
from classify.io.records import iter_records
assert Path(classify.__file__).parent.parent == Path(sys.argv[2]), classify.__file__
started = time.perf_counter()
n = sum(1 for _ in iter_records([sys.argv[1]], split=False))
print(n / (time.perf_counter() - started))
"""


#: Address-space cap of each child: a run that would take more fails (and is reported) instead of
#: squeezing the other jobs on a shared machine.
MEMORY_CAP = 12 * 2**30


def _one_core_bounded() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def child(code: str, args: list[str], package: Path) -> tuple[str, float]:
    """Run ``code`` with ``package`` first on the path, on one core; its stdout and max RSS in MB."""
    env = dict(os.environ, PYTHONPATH=str(package), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=package,  # `python -c` puts the working folder first on the path
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_one_core_bounded,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    return out.strip(), usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def corpus_rows() -> list[list[str]]:
    with CORPUS.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def huge_cell(kind: str, size: int, body: list[str]) -> str:
    """``size`` characters: the corpus' own headlines over and over (``words``: a pasted article or a
    broken export), or random letter strings (``random``: an encoded blob, where nearly every
    character n-gram is new, which is what grows a model's vocabulary)."""
    if kind == "words":
        words = " ".join(body)
        return ((words + " ") * (size // (len(words) + 1) + 1))[:size]
    rng = random.Random(12)
    letters = "abcdefghijklmnopqrstuvwxyz"
    parts, total = [], 0
    while total < size:
        word = "".join(rng.choices(letters, k=rng.randint(3, 9)))
        parts.append(word)
        total += len(word) + 1
    return " ".join(parts)[:size]


def write_training_files(folder: Path, cell_mb: int, kinds: list[str]) -> dict[str, Path]:
    """The corpus as is, and with one extra row (the 101st) holding a ``cell_mb`` MB cell of each kind."""
    rows = corpus_rows()
    files = {"corpus": folder / "corpus.csv"}
    with files["corpus"].open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    header, body = rows[0], rows[1:]
    text_at, label_at = header.index("headline"), header.index("topic")
    for kind in kinds:
        extra = [""] * len(header)
        extra[text_at] = huge_cell(kind, cell_mb * 2**20, [r[text_at] for r in body])
        extra[label_at] = body[0][label_at]
        path = files[f"corpus + {cell_mb} MB cell of {kind}"] = folder / f"corpus_{kind}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([header, *body[:100], extra, *body[100:]])
    return files


def write_reading_files(folder: Path, n: int) -> tuple[Path, Path]:
    headlines = [r[1] for r in corpus_rows()[1:]]
    lines = folder / "lines.txt"
    table = folder / "table.csv"
    with lines.open("w", encoding="utf-8") as fh:
        fh.writelines(headlines[i % len(headlines)] + "\n" for i in range(n))
    with table.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "headline", "url"])
        writer.writerows([i, headlines[i % len(headlines)], f"https://example.org/{i}"] for i in range(n))
    return lines, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-mb", type=int, default=50)
    parser.add_argument("--cells", default="words,random", help="kinds of huge cell: words, random")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--old", type=Path, help="another copy of classify to compare with")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    versions = {"this checkout": ROOT} | ({"old": args.old.resolve()} if args.old else {})
    results: dict[str, object] = {"cell_mb": args.cell_mb, "rows": args.rows, "training": {}, "reading": {}}
    lines_md = [
        "# Hostile input: a huge cell in training data, and reading speed",
        "",
        f"`python bench/hostile.py --cell-mb {args.cell_mb} --cells {args.cells} --rows {args.rows}"
        + (" --old DIR`" if args.old else "`")
        + f" ({time.strftime('%Y-%m-%d')}; one core per child process; shipped corpus, {CORPUS.name}).",
        "",
        "## Training with one extra row holding a huge cell",
        "",
        "| code | data | seconds | peak RSS MB | model KB | longest headline kept | truncated |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_training_files(folder, args.cell_mb, args.cells.split(","))
        for label, package in versions.items():
            for data_name, data in files.items():
                model = folder / f"{label}-{data.stem}.joblib".replace(" ", "_")
                try:
                    out, rss = child(TRAIN, [str(data), str(model), str(package)], package)
                except RuntimeError as exc:
                    lines_md.append(f"| {label} | {data_name} | failed: {exc} | | | | |")
                    continue
                seconds, truncated, longest = out.split()
                size = model.stat().st_size / 1024
                results["training"][f"{label} / {data_name}"] = {  # type: ignore[index]
                    "seconds": float(seconds),
                    "peak_rss_mb": rss,
                    "model_kb": size,
                    "longest": int(longest),
                    "truncated": truncated,
                }
                lines_md.append(
                    f"| {label} | {data_name} | {float(seconds):.1f} | {rss:.0f} | {size:.0f} | {longest} | "
                    f"{truncated} |"
                )
        lines_md += [
            "",
            f"## Reading prediction input ({args.rows:,} records, `iter_records`, no classification)",
            "",
            "| code | input | records/s |",
            "|---|---|---|",
        ]
        text_file, table_file = write_reading_files(folder, args.rows)
        for label, package in versions.items():
            for kind, path in (("plain lines", text_file), ("CSV, 3 columns", table_file)):
                out, _ = child(READ, [str(path), str(package)], package)
                results["reading"][f"{label} / {kind}"] = float(out)  # type: ignore[index]
                lines_md.append(f"| {label} | {kind} | {float(out):,.0f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from classify.atomic import write_text_atomic

    write_text_atomic(args.out / "hostile.md", "\n".join(lines_md) + "\n")
    write_text_atomic(args.out / "hostile.json", json.dumps(results, indent=2) + "\n")
    print("\n".join(lines_md))


if __name__ == "__main__":
    main()
