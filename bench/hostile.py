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

3. ``--model-files``: hostile model files (a zip bomb behind an array, a 7 GiB member, an ``.npy``
   header claiming 10^12 elements, settings edited with every checksum made anew), each loaded and
   asked to predict: time, peak memory and outcome. This replaces the "Model files" section of
   ``hostile.md`` and leaves the rest.

Every measurement runs in a fresh child process pinned to one core (``taskset``-like affinity).

Usage::

    python bench/hostile.py [--cell-mb 50] [--cells words,random] [--rows 1000000] [--old DIR]
                            [--out bench/results]
    python bench/hostile.py --model-files [--old DIR]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _one_core_bounded(cap: int = MEMORY_CAP) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def child(
    code: str, args: list[str], package: Path, cap: int = MEMORY_CAP, timeout: float | None = None
) -> tuple[str, float]:
    """Run ``code`` with ``package`` first on the path, on one core; its stdout and max RSS in MB."""
    env = dict(os.environ, PYTHONPATH=str(package), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=package,  # `python -c` puts the working folder first on the path
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: _one_core_bounded(cap),
    )
    assert proc.stdout is not None and proc.stderr is not None
    import threading

    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer:
        timer.start()
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if timer:
        timer.cancel()
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


LOAD = """
import sys, time
from pathlib import Path
import classify
assert Path(classify.__file__).parent.parent == Path(sys.argv[2]), classify.__file__
from classify import ModelError, load_model
started = time.perf_counter()
try:
    model = load_model(Path(sys.argv[1]))
    model.predict_proba(["Central bank raises rates as inflation climbs"] * 100)
    outcome = "loaded and predicted"
except ModelError as exc:
    outcome = "ModelError: " + str(exc).split(": ", 1)[1][:100]
except BaseException as exc:
    outcome = "unexpected " + type(exc).__name__
print(f"{time.perf_counter() - started:.2f}\t{outcome}")
"""

#: Address-space cap of each model-file child: the old code's zip bomb fits (4.2 GB), the old 7 GiB
#: member and million-character n-grams fail at it instead of taking the machine.
MODEL_CAP = 6 * 2**30
#: Seconds a model-file child may run.
MODEL_TIMEOUT = 120


def forge_model(source: Path, target: Path, edit: Callable[[dict[str, Any], dict[str, Any]], None]) -> Path:
    """Copy a model file, letting ``edit(manifest, members)`` change it; members are bytes or a pair
    (header bytes, count of zero bytes after it), streamed into the zip and through their checksum,
    and every checksum and the digest are made anew, as an attacker would."""
    import hashlib
    import zipfile

    from classify.pipeline.modelfile import MANIFEST, _digest

    with zipfile.ZipFile(source) as archive:
        members: dict[str, Any] = {n: archive.read(n) for n in archive.namelist()}
    manifest = json.loads(members.pop(MANIFEST))
    edit(manifest, members)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for name, blob in members.items():
            head, zeros = (blob, 0) if isinstance(blob, bytes) else blob
            sha = hashlib.sha256(head)
            with out.open(name, "w", force_zip64=zeros > 0) as fh:
                fh.write(head)
                chunk = bytes(2**24)
                while zeros > 0:
                    piece = chunk[: min(zeros, len(chunk))]
                    fh.write(piece)
                    sha.update(piece)
                    zeros -= len(piece)
            key = name[len("arrays/") : -len(".npy")]
            if key in manifest["arrays"]:
                manifest["arrays"][key]["sha256"] = sha.hexdigest()
        manifest["digest"] = _digest(manifest)
        out.writestr(MANIFEST, json.dumps(manifest))
    return target


def model_cases(folder: Path, model: Path) -> dict[str, Path]:
    """The hostile model files of the probe, made from ``model``."""
    import io

    import numpy as np

    def bomb(manifest: dict[str, Any], members: dict[str, Any]) -> None:
        members["arrays/clf/coef.npy"] = (members["arrays/clf/coef.npy"], 2 * 2**30)

    def big(manifest: dict[str, Any], members: dict[str, Any]) -> None:
        size = 7 * 2**30
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "|u1", "fortran_order": False, "shape": (size,)}
        )
        members["arrays/features/word_terms_utf8.npy"] = (header.getvalue(), size)
        manifest["arrays"]["features/word_terms_utf8"]["shape"] = [size]

    def trillion(manifest: dict[str, Any], members: dict[str, Any]) -> None:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
        )
        members["arrays/features/idf.npy"] = header.getvalue() + bytes(64)

    def settings(**params: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
        return lambda manifest, members: manifest["steps"][0]["params"].update(params)

    edits = {
        "the model as trained": lambda manifest, members: None,
        "2 GiB of deflated zeros after the weights": bomb,
        "a 7 GiB member (word_terms_utf8)": big,
        "an .npy header claiming 10^12 elements": trillion,
        "settings edited: char_ngrams [1, 1000000]": settings(char_ngrams=[1, 1_000_000]),
        'settings edited: cache_size "x"': settings(cache_size="x"),
    }
    return {
        name: forge_model(model, folder / f"case{i}.model", edit)
        for i, (name, edit) in enumerate(edits.items())
    }


def model_files(versions: dict[str, Path], out: Path) -> None:
    """Load each hostile model file with each copy of classify; replace the section in hostile.md."""
    lines = [
        "## Model files",
        "",
        f"`python bench/hostile.py --model-files --old DIR` ({time.strftime('%Y-%m-%d')}): a model "
        "trained on 3,000 rows of the shipped corpus (every n-th), then each file below loaded and asked "
        "to predict 100 headlines in a fresh child process on one core, with "
        f"{MODEL_CAP / 2**30:.0f} GiB of address space and "
        f"{MODEL_TIMEOUT} s at most.",
        "",
        "| code | file | seconds | peak RSS MB | outcome |",
        "|---|---|---|---|---|",
    ]
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "corpus.csv"
        with data.open("w", newline="", encoding="utf-8") as fh:
            rows = corpus_rows()
            csv.writer(fh).writerows([rows[0], *rows[1 :: max(1, len(rows) // 3000)]])
        model = folder / "model.model"
        child(TRAIN, [str(data), str(model), str(ROOT)], ROOT)
        cases = model_cases(folder, model)
        for label, package in versions.items():
            for name, path in cases.items():
                try:
                    output, rss = child(
                        LOAD, [str(path), str(package)], package, cap=MODEL_CAP, timeout=MODEL_TIMEOUT
                    )
                    seconds, outcome = output.split("\t", 1)
                except RuntimeError as exc:
                    seconds, outcome, rss = "", f"failed: {exc}", 0.0
                results[f"{label} / {name}"] = {"seconds": seconds, "peak_rss_mb": rss, "outcome": outcome}
                lines.append(f"| {label} | {name} | {seconds} | {rss:.0f} | {outcome.replace('|', '/')} |")
                print(lines[-1], flush=True)
    sys.path.insert(0, str(ROOT))
    from classify.atomic import write_text_atomic

    md, js = out / "hostile.md", out / "hostile.json"
    text = md.read_text(encoding="utf-8") if md.exists() else ""
    text = text.split("\n## Model files\n")[0].rstrip("\n")
    write_text_atomic(md, text + "\n\n" + "\n".join(lines) + "\n")
    record = json.loads(js.read_text(encoding="utf-8")) if js.exists() else {}
    record["model_files"] = results
    write_text_atomic(js, json.dumps(record, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-mb", type=int, default=50)
    parser.add_argument("--cells", default="words,random", help="kinds of huge cell: words, random")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--old", type=Path, help="another copy of classify to compare with")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--model-files", action="store_true", help="only the hostile model files")
    args = parser.parse_args()
    versions = {"this checkout": ROOT} | ({"old": args.old.resolve()} if args.old else {})
    if args.model_files:
        model_files(versions, args.out)
        return
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
