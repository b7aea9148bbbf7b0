"""How long ``classify predict`` takes from a cold start, against an older checkout, in the same run.

    python -m bench.cold_start --old DIR [--runs 30]    # writes bench/results/cold_start.md

DIR is a checkout of an earlier classify (e.g. ``git worktree add /tmp/before e46d087``). Both
versions classify one headline from standard input with the same small model file (trained here by
this checkout; the model file format is the same), in turns, so that machine noise falls on both
alike. Reported: min and median wall time of the whole command, and the modules it imported.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = "Central bank holds rates as inflation eases\n"
ROWS = [
    ("Central bank raises interest rates", "economy"),
    ("Stocks fall as oil prices climb", "economy"),
    ("Striker scores twice in cup final", "sport"),
    ("Coach sacked after heavy defeat", "sport"),
    ("Hospital opens new cancer ward", "health"),
    ("Vaccine campaign reaches rural clinics", "health"),
]


def run_once(checkout: Path, model: Path) -> tuple[float, int]:
    """Wall seconds of one ``python -m classify predict`` and how many modules it imported."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONDONTWRITEBYTECODE": "0"}
    code = (
        "import sys, runpy, atexit; "
        f"sys.argv = ['classify', 'predict', '-m', {str(model)!r}, '-f', 'jsonl']; "
        "atexit.register(lambda: sys.stderr.write(f'MODULES {len(sys.modules)}\\n')); "
        "runpy.run_module('classify', run_name='__main__')"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], input=HEADLINE, capture_output=True, text=True, env=env, check=True
    )
    seconds = time.perf_counter() - started
    modules = int(done.stderr.rsplit("MODULES ", 1)[1].split()[0])
    return seconds, modules


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="checkout of the earlier version")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cold_start.md")
    args = parser.parse_args(argv)

    from classify import load_labelled, save_model, train
    from classify.atomic import write_text_atomic

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "tiny.csv"
        with data.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([("headline", "topic"), *ROWS])
        model = save_model(train(load_labelled(data)).model, Path(tmp) / "tiny.joblib")
        versions = {"before": args.old.resolve(), "after": ROOT}
        for path in versions.values():  # warm the file cache and the bytecode
            run_once(path, model)
        times: dict[str, list[float]] = {name: [] for name in versions}
        modules: dict[str, int] = {}
        for _ in range(args.runs):
            for name, path in versions.items():
                seconds, n = run_once(path, model)
                times[name].append(seconds)
                modules[name] = n
    lines = [
        "# Cold start of `classify predict`",
        "",
        f"`python -m bench.cold_start --old {args.old} --runs {args.runs}`: one headline on stdin, a "
        "6-row model, whole command, the two versions in turns.",
        "",
        "| version | checkout | min (s) | median (s) | modules imported |",
        "|---|---|---|---|---|",
    ]
    for name, path in versions.items():
        t = times[name]
        lines.append(
            f"| {name} | `{path.name}` | {min(t):.3f} | {statistics.median(t):.3f} | {modules[name]} |"
        )
    ratio = statistics.median(times["after"]) / statistics.median(times["before"])
    lines += ["", f"after / before (median): {ratio:.3f}", ""]
    write_text_atomic(args.out, "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
