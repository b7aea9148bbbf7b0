"""`classify label` as a real server process: answers over HTTP survive a SIGKILL; a restart resumes."""

from __future__ import annotations

import csv
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify.cli import app
from tests.conftest import tiny_rows
from tests.label_server import label_client, label_server

pytest.importorskip("fastapi", reason="classify label needs the serve extra")
pytest.importorskip("uvicorn", reason="classify label needs the serve extra")

TRUTH = dict(tiny_rows())


def file_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_answers_survive_sigkill_and_restart_resumes(tmp_path: Path) -> None:
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TRUTH) + "\n", encoding="utf-8")
    args = ["pool.txt", "--topics", "sport,economy,health", "-o", "labels.csv", "--refit-every", "2"]
    acknowledged: list[tuple[str, str]] = []
    with label_server(args, tmp_path) as (url, proc), label_client(url) as http:
        state = http.get("/api/state").json()
        assert state["topics"] == ["sport", "economy", "health"]
        for n in range(9):
            item = state["item"]
            topic = None if n == 4 else TRUTH[item["headline"]]
            response = http.post("/api/answer", json={"id": item["id"], "topic": topic, "seconds": 0.5})
            assert response.status_code == 200, response.text
            acknowledged.append((item["headline"], topic or ""))
            state = response.json()
            assert state["item"]["headline"] not in {h for h, _ in acknowledged}
        assert state["progress"]["labelled"] == 8 and state["progress"]["skipped"] == 1
        # Kill it hard mid-session (refits run every 2 answers, so one may be in progress).
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
    saved = [(r["headline"], r["topic"]) for r in file_rows(tmp_path / "labels.csv")]
    assert saved == acknowledged  # every acknowledged answer, in order, nothing else

    with label_server(args, tmp_path) as (url, _), label_client(url) as http:
        state = http.get("/api/state").json()
        assert state["progress"]["labelled"] == 8 and state["progress"]["skipped"] == 1
        assert state["progress"]["remaining"] == len(TRUTH) - 9
        asked = []
        while state["item"] is not None:
            item = state["item"]
            asked.append(item["headline"])
            state = http.post("/api/answer", json={"id": item["id"], "topic": TRUTH[item["headline"]]}).json()
        assert set(asked) == set(TRUTH) - {h for h, _ in acknowledged}  # never re-shown
        # Errors are JSON with the right status.
        again = http.post("/api/answer", json={"id": 0, "topic": "sport"})
        assert again.status_code == 409 and "answered already" in again.json()["error"]
        bad = http.post("/api/answer", json={"id": "x"})
        assert bad.status_code == 422 and "id" in bad.json()["error"]
    assert len(file_rows(tmp_path / "labels.csv")) == len(TRUTH)
    # It says how to train on the answers and the pool.
    log = (tmp_path / f"label-{url.rsplit(':', 1)[1]}.log").read_text(encoding="utf-8")
    assert "classify train labels.csv --unlabelled pool.txt --threshold 0.7" in log, log


runner = CliRunner()


def test_label_cli_errors(tmp_path: Path, tiny_csv: Path) -> None:
    result = runner.invoke(app, ["label", str(tiny_csv), "--topics", "a,b", "--model", "m.joblib"])
    assert result.exit_code == 2 and "Error: give --model or --topics, not both" in result.stderr
    result = runner.invoke(app, ["label", str(tiny_csv), "--topics", "a"])
    assert result.exit_code == 2 and "--topics: give at least two" in result.stderr
    result = runner.invoke(app, ["label", str(tmp_path / "nope.txt"), "--topics", "a,b"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.txt'}: no such file"
    other = tmp_path / "other.csv"
    other.write_text("headline,topic\nx,y\n", encoding="utf-8")
    result = runner.invoke(app, ["label", str(tiny_csv), "--topics", "a,b", "-o", str(other)])
    assert result.exit_code == 1 and "not a 'classify label' answers file" in result.stderr
