"""Running on a Dask cluster: partitioned prediction, and the fits of evaluate and tune.

Dask is an optional extra (the dask extra: ``dask[dataframe]``, ``distributed``,
``pyarrow``). Without it every entry point here raises :class:`MissingExtraError` naming the extra.

- :func:`predict_partitions`: a glob of input files (CSV, TSV, JSON Lines, Parquet or plain text,
  one headline per line) is classified file by file (one file = one partition) on the workers; the
  model is scattered to the workers once. Each partition's output is written to its own file in the
  output folder atomically (a temporary file renamed into place), and a task is retried by Dask if
  its worker dies, so a lost worker neither loses nor duplicates rows: a partition's file is either
  absent or complete. Without an address the same function runs every partition in this process,
  which gives the same files.
- :func:`run_cross_validation`: the folds of ``classify evaluate`` are fitted on the cluster (the
  splits, grouping included, are made here first, so the folds are the local run's folds).
- :func:`joblib_on_dask`: a context in which joblib's ``Parallel`` (what ``classify tune`` uses for
  its fold fits) runs on the cluster through joblib's ``dask`` backend.

``address`` is a scheduler address (``tcp://host:8786``) or ``local`` for a LocalCluster of worker
processes on this machine (one per core, one thread each).
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.atomic import refuse_input_as_output
from classify.errors import ClassifyError, ClusterError, DataError, MissingExtraError
from classify.paths import install_hint

if TYPE_CHECKING:
    from classify.evaluation.evaluate import CrossValidation
    from classify.io.labelled import LabelledData
    from classify.pipeline.model import Model

#: The ``--dask`` value that starts a LocalCluster instead of connecting to a scheduler.
LOCAL = "local"
#: Dask retries a partition this many times (a dead worker, a node lost) before giving up.
RETRIES = 3
OUTPUT_FORMATS = ("jsonl", "csv")


def require_dask() -> None:
    """Raise :class:`MissingExtraError` unless dask, distributed and pyarrow import."""
    missing = []
    for module in ("dask", "distributed", "pyarrow"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MissingExtraError(
            f"{{dask}} needs {', '.join(missing)}: {install_hint('dask')}", arguments=("dask",)
        )


@contextlib.contextmanager
def dask_client(address: str, *, workers: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``address``, or on a new LocalCluster when it is ``local``.

    Parameters
    ----------
    address
        ``tcp://host:port`` of a running scheduler, or ``local``.
    workers
        Worker processes of a LocalCluster (default: one per core); ignored for a remote cluster.
    """
    require_dask()
    from distributed import Client, LocalCluster

    if address == LOCAL:
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({exc}); start one with 'dask scheduler' "
            "or use {dask} local",
            arguments=("dask",),
        ) from None
    try:
        yield client
    finally:
        client.close()


def worker_count(client: Any) -> int:
    """Threads the cluster offers (the number of fits worth running at once)."""
    info = client.scheduler_info()
    return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))


# Partitioned prediction -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PartitionedResult:
    """Files written by :func:`predict_partitions` and the rows in them."""

    rows: int
    files: list[Path]
    partitions: int


def list_partitions(pattern: str | Sequence[str]) -> list[Path]:
    """The files one or more globs name, sorted (a plain path is a one-file glob).

    Raises
    ------
    DataError
        If nothing matches, or two inputs would write the same output file.
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    found = {Path(p) for each in patterns for p in glob.glob(each, recursive=True) if Path(p).is_file()}
    paths = sorted(found)
    if not paths:
        raise DataError(f"{', '.join(patterns)}: no files match")
    stems: dict[str, Path] = {}
    for path in paths:
        if path.stem in stems:
            raise DataError(
                f"{path} and {stems[path.stem]}: two inputs named '{path.stem}' would write the same "
                "output file; give a glob of files with distinct names"
            )
        stems[path.stem] = path
    return paths


def output_path(source: Path, output_dir: Path, fmt: str) -> Path:
    """Where the predictions of one input partition go."""
    return Path(output_dir) / f"{source.stem}.{fmt}"


def predict_partition(
    model: Model,
    source: Path,
    target: Path,
    *,
    text_col: str | None = None,
    top_k: int = 1,
    fmt: str = "jsonl",
    die_once: str | None = None,
) -> int:
    """Classify one input file and write its rows to ``target`` atomically; the number of rows.

    Runs on a worker (or locally). ``die_once`` is for tests of worker loss: if that file does not
    exist yet, it is created and the worker process ends abruptly before writing anything.
    """
    from classify.prediction.files import predict_to_file
    from classify.prediction.results import PredictOptions

    if die_once is not None and not Path(die_once).exists():
        Path(die_once).write_text("died\n", encoding="utf-8")
        os._exit(1)  # a worker lost mid-partition, as a killed process or a lost node would be
    run = predict_to_file(
        model, source, target, fmt=fmt, options=PredictOptions(top_k=top_k), text_col=text_col
    )
    return run.rows


def predict_partitions(
    model: Model,
    pattern: str | Sequence[str],
    output_dir: Path,
    *,
    address: str | None = None,
    workers: int | None = None,
    text_col: str | None = None,
    top_k: int = 1,
    fmt: str = "jsonl",
    on_done: Callable[[Path, int], None] | None = None,
    _die_once: str | None = None,
) -> PartitionedResult:
    """Classify every file of ``pattern`` into ``output_dir``, one output file per input file.

    Parameters
    ----------
    model
        The model; sent to the workers once (``client.scatter``).
    pattern
        Glob(s) of input files (quote a glob on the command line so classify expands it).
    output_dir
        Folder for the outputs (``<input stem>.jsonl`` or ``.csv``); created if missing.
    address
        Dask scheduler address, ``local`` for a LocalCluster, or ``None`` to run in this process.
    workers
        Worker processes of a LocalCluster.
    text_col, top_k, fmt
        As for ``classify predict``.
    on_done
        Called with each output file and its rows as partitions finish (progress for the CLI).
    """
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
    sources = list_partitions(pattern)
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise DataError(f"{output_dir}: exists and is not a folder")
    output_dir.mkdir(parents=True, exist_ok=True)
    targets = [output_path(s, output_dir, fmt) for s in sources]
    for target in targets:
        refuse_input_as_output(target, sources, what="output file")
    kwargs = {"text_col": text_col, "top_k": top_k, "fmt": fmt}
    total = 0
    if address is None:
        for source, target in zip(sources, targets, strict=True):
            n = predict_partition(model, source, target, **kwargs)  # type: ignore[arg-type]
            total += n
            if on_done:
                on_done(target, n)
        return PartitionedResult(rows=total, files=targets, partitions=len(sources))
    with dask_client(address, workers=workers) as client:
        from distributed import as_completed

        shared = client.scatter(model, broadcast=True)
        futures = {
            client.submit(
                predict_partition,
                shared,
                source,
                target,
                **kwargs,
                die_once=_die_once,
                retries=RETRIES,
                pure=False,
                key=f"classify-predict-{i}-{os.getpid()}-{id(shared)}",
            ): target
            for i, (source, target) in enumerate(zip(sources, targets, strict=True))
        }
        for future in as_completed(futures):
            try:
                n = future.result()
            except ClassifyError:
                raise
            except Exception as exc:  # KilledWorker and friends: name the partition
                raise ClusterError(
                    f"{futures[future]}: the partition failed on the cluster ({exc})"
                ) from None
            total += n
            if on_done:
                on_done(futures[future], n)
    return PartitionedResult(rows=total, files=targets, partitions=len(sources))


# Evaluate and tune ----------------------------------------------------------------------------------
def run_cross_validation(
    data: LabelledData,
    address: str,
    *,
    workers: int | None = None,
    params: Any = None,
    stream: bool = False,
    **split_options: Any,
) -> CrossValidation:
    """:func:`classify.evaluation.evaluate.cross_validate` with the fold fits on a Dask cluster.

    The splits (near-duplicate grouping included) are made in this process, exactly as a local run
    makes them; each fold's fit and prediction is one task, so the scores equal the local ones.
    """
    from classify.evaluation.evaluate import cross_validate

    require_dask()
    with dask_client(address, workers=workers) as client:
        return cross_validate(data, params=params, run=_on_cluster(client), stream=stream, **split_options)


def _on_cluster(client: Any) -> Callable[[Callable[..., Any], Any], list[Any]]:
    """A :data:`classify.evaluation.evaluate.FoldRunner` that runs each fold as a task on the cluster."""

    def run(task: Callable[..., Any], arguments: Any) -> list[Any]:
        futures = [client.submit(task, *args, retries=RETRIES, pure=False) for args in arguments]
        return list(client.gather(futures))

    return run


@contextlib.contextmanager
def joblib_on_dask(address: str, *, workers: int | None = None) -> Iterator[int]:
    """Run joblib's ``Parallel`` on the cluster inside the block; yields the cluster's thread count.

    ``classify tune`` fits its folds with ``joblib.Parallel``; passing the yielded count as its
    ``n_jobs`` sends one fold fit per worker thread.
    """
    import joblib

    with dask_client(address, workers=workers) as client, joblib.parallel_backend("dask"):
        yield worker_count(client)
