"""Dask: partitioned prediction, evaluate and tune on a real LocalCluster (2 worker processes).

The cluster tests are marked ``dask`` (deselect with ``-m 'not dask'``); they start one LocalCluster
for the module and reach it by its scheduler address, as a user reaches an existing cluster.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from classify.cli import app
from classify.cluster.jobs import (
    list_partitions,
    predict_partitions,
    require_dask,
)
from classify.errors import DataError, MissingExtraError
from classify.io.labelled import LabelledData
from classify.paths import install_hint
from classify.pipeline.model import load_model
from tests.conftest import tiny_rows, write_csv

runner = CliRunner()
# A loaded machine makes distributed warn about slow start-up; that is not a failure of ours.
SLOW = "ignore:Creating scratch directories is taking a surprisingly long time:UserWarning"


def partitions(folder: Path) -> Path:
    """Four partitions in four formats, with an id column that must pass through."""
    rows = tiny_rows()
    folder.mkdir()
    write_csv(folder / "p0.csv", ["id", "headline"], [(f"a{i}", t) for i, (t, _) in enumerate(rows[0::4])])
    (folder / "p1.tsv").write_text(
        "id\theadline\n" + "".join(f"b{i}\t{t}\n" for i, (t, _) in enumerate(rows[1::4])), encoding="utf-8"
    )
    (folder / "p2.jsonl").write_text(
        "".join(json.dumps({"id": f"c{i}", "headline": t}) + "\n" for i, (t, _) in enumerate(rows[2::4])),
        encoding="utf-8",
    )
    (folder / "p3.txt").write_text("".join(f"{t}\n" for t, _ in rows[3::4]), encoding="utf-8")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        texts = [t for t, _ in rows[:5]]
        pq.write_table(
            pa.table({"id": [f"d{i}" for i in range(5)], "headline": texts}), folder / "p4.parquet"
        )
    except ImportError:
        pass
    return folder


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Creating scratch directories", UserWarning)
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local:
            yield local.scheduler_address


@pytest.mark.dask
@pytest.mark.filterwarnings(SLOW)
def test_cluster_output_equals_local_even_when_a_worker_dies(
    cluster: str, tiny_model_path: Path, tmp_path: Path
) -> None:
    model = load_model(tiny_model_path)
    inputs = partitions(tmp_path / "in")
    local = predict_partitions(model, str(inputs / "*"), tmp_path / "local")
    marker = tmp_path / "died-once"
    remote = predict_partitions(
        model, str(inputs / "*"), tmp_path / "remote", address=cluster, _die_once=str(marker)
    )
    assert marker.exists()  # a worker process really ended mid-run; Dask retried its partition
    assert remote.rows == local.rows == 24 + (5 if (inputs / "p4.parquet").exists() else 0)
    assert [p.name for p in remote.files] == [p.name for p in local.files]
    for mine, theirs in zip(local.files, remote.files, strict=True):
        assert theirs.read_text(encoding="utf-8") == mine.read_text(encoding="utf-8")
    # Every input row exactly once, ids passed through, nothing left half-written.
    rows = [json.loads(line) for p in remote.files for line in p.read_text(encoding="utf-8").splitlines()]
    ids = [r["id"] for r in rows if "id" in r]
    assert len(ids) == len(set(ids)) == remote.rows - 6
    assert not [p for p in (tmp_path / "remote").iterdir() if p.name.startswith(".")]
    # The nanny restarts the lost worker; the tests after this one expect both workers again.
    import distributed

    with distributed.Client(cluster) as client:
        client.wait_for_workers(2, timeout=300)


@pytest.mark.dask
@pytest.mark.filterwarnings(SLOW)
def test_cli_predict_on_a_cluster(cluster: str, tiny_model_path: Path, tmp_path: Path) -> None:
    inputs = partitions(tmp_path / "in")
    out = tmp_path / "out"
    args = ["predict", str(inputs / "p[0-2].*"), "-m", str(tiny_model_path), "--output", str(out)]
    result = runner.invoke(app, [*args, "--dask", cluster, "-f", "csv"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["p0.csv", "p1.csv", "p2.csv"]
    assert "classified 18 rows from 3 partition(s)" in result.stderr
    header = (out / "p0.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,headline,topic,confidence"


@pytest.mark.dask
@pytest.mark.filterwarnings(SLOW)
def test_evaluate_folds_on_the_cluster_equal_local(cluster: str) -> None:
    from classify.cluster.jobs import run_cross_validation
    from classify.evaluation.evaluate import cross_validate as local_run

    texts, labels = zip(*tiny_rows(), strict=True)
    data = LabelledData(texts=list(texts), labels=list(labels), source="tiny")
    remote = run_cross_validation(data, cluster, folds=3)
    local = local_run(data, folds=3)
    assert remote.oof.predicted == local.oof.predicted
    assert remote.evaluation.macro_f1 == local.evaluation.macro_f1
    # Workers run BLAS on one thread, this process on several: sums differ in the last bits.
    np.testing.assert_allclose(remote.oof.proba, local.oof.proba, atol=1e-4)


@pytest.mark.dask
@pytest.mark.filterwarnings(SLOW)
def test_tune_fits_on_the_cluster(cluster: str) -> None:
    from classify.cluster.jobs import joblib_on_dask
    from classify.evaluation import tuning as tune

    texts, labels = zip(*tiny_rows(), strict=True)
    data = LabelledData(texts=list(texts), labels=list(labels), source="tiny")
    space = {"C": [0.25, 1.0]}
    local = tune.tune(data, budget=600, folds=2, space=space, max_rounds=1)
    from distributed import Client

    with Client(cluster) as client:  # a worker killed by an earlier test may still be restarting
        client.wait_for_workers(2, timeout=120)
    with joblib_on_dask(cluster) as threads:
        assert threads == 2
        remote = tune.tune(data, budget=600, folds=2, space=space, max_rounds=1, n_jobs=threads)
    assert {t.settings.describe(): t.scores for t in remote.leaderboard} == {
        t.settings.describe(): t.scores for t in local.leaderboard
    }


def test_partitions_need_matching_distinct_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nothing\*\.csv: no files match"):
        list_partitions(str(tmp_path / "nothing*.csv"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.csv").write_text("headline\nOne\n", encoding="utf-8")
    (tmp_path / "b" / "x.csv").write_text("headline\nTwo\n", encoding="utf-8")
    with pytest.raises(DataError, match="two inputs named 'x' would write the same output file"):
        list_partitions(str(tmp_path / "*" / "x.csv"))


def _without_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_without_the_extra_dask_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_csv: Path, tiny_model_path: Path
) -> None:
    _without_dask(monkeypatch)
    with pytest.raises(MissingExtraError, match=re.escape(install_hint("dask"))):
        require_dask()
    expected = f"Error: --dask needs dask, distributed: {install_hint('dask')}\n"
    for args in (
        ["predict", str(tiny_csv), "-m", str(tiny_model_path), "--dask", "local", "--output", str(tmp_path)],
        ["evaluate", str(tiny_csv), "--dask", "local", "--folds", "2"],
        ["tune", str(tiny_csv), "--dask", "local", "--budget", "10s"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert result.stderr == expected


def test_dask_predict_needs_an_output_folder(tiny_csv: Path, tiny_model_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(tiny_csv), "-m", str(tiny_model_path), "--dask", "local"])
    assert result.exit_code == 2
    assert "give --output DIR" in result.stderr


def test_output_without_dask_writes_the_same_partitioned_files(tiny_model_path: Path, tmp_path: Path) -> None:
    inputs = partitions(tmp_path / "in")
    result = runner.invoke(
        app,
        [
            "predict",
            str(inputs / "p0.csv"),
            str(inputs / "p3.txt"),
            "-m",
            str(tiny_model_path),
            "--output",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["p0.jsonl", "p3.jsonl"]
    first = json.loads((tmp_path / "o" / "p0.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == "a0" and first["topic"] == "sport"
