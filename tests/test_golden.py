"""`classify predict` output, byte for byte, against golden files written before the batch writers.

The golden files in ``tests/golden/`` were written by the per-row code of v0.1 (``json.dumps`` and
``csv.DictWriter`` per row, ``round`` per value) from the inputs beside them, with the tiny model of
``conftest.py`` trained from a seeded generator. The batched writers must give exactly the same
bytes. The inputs hold quotes, commas, backslashes, non-ASCII text, duplicates, tickers,
pass-through values of every JSON type and columns named like the result's own fields, and none of
the characters the hostile-text rules change on purpose (formula prefixes, CR/LF inside fields, control
characters, rich markup, lone surrogates).

To rewrite them after a deliberate change of the output (or of the tiny model's training), run
``CLASSIFY_WRITE_GOLDEN=1 python -m pytest tests/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.test_cli import run

GOLDEN = Path(__file__).resolve().parent / "golden"

#: name -> (input file, options); the output is compared with ``GOLDEN / f"{name}.out"``.
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "plain_jsonl": ("plain.txt", ("-f", "jsonl")),
    "plain_csv": ("plain.txt", ("-f", "csv")),
    "plain_table": ("plain.txt", ("-f", "table")),
    "plain_jsonl_top3": ("plain.txt", ("-f", "jsonl", "-k", "3")),
    "plain_csv_top3": ("plain.txt", ("-f", "csv", "-k", "3")),
    "plain_jsonl_unsure": ("plain.txt", ("-f", "jsonl", "--min-confidence", "0.7", "-k", "2")),
    "plain_csv_unsure": ("plain.txt", ("-f", "csv", "--min-confidence", "0.7", "--uncertain-label", "?")),
    "plain_jsonl_explain": ("plain.txt", ("-f", "jsonl", "--explain")),
    "plain_csv_explain": ("plain.txt", ("-f", "csv", "--explain", "-k", "2")),
    "plain_table_all": ("plain.txt", ("-f", "table", "-k", "2", "--explain", "--min-confidence", "0.6")),
    "plain_jsonl_nosplit": ("plain.txt", ("-f", "jsonl", "--no-split")),
    "feed_csv_jsonl": ("feed.csv", ("-f", "jsonl", "-k", "2")),
    "feed_csv_csv": ("feed.csv", ("-f", "csv", "--explain")),
    "feed_jsonl_jsonl": ("feed.jsonl", ("-f", "jsonl", "--explain", "--min-confidence", "0.5")),
    "feed_jsonl_csv": ("feed.jsonl", ("-f", "csv", "-k", "3")),
    "page_jsonl": ("page.txt", ("-f", "jsonl", "--from-page")),
    "page_csv": ("page.txt", ("-f", "csv", "--from-page", "-k", "2")),
}


@pytest.fixture(scope="module")
def golden_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model, trained reproducibly (LinearSVC draws from numpy's global generator).

    Its settings are pinned to those the golden files were written with (without word vectors, the
    default until 0.2): the files check the output of ``predict``, not the pipeline's defaults.
    """
    import numpy as np

    from classify import load_labelled, save_model, train
    from tests.conftest import tiny_rows, write_csv

    folder = tmp_path_factory.mktemp("golden")
    data = write_csv(folder / "tiny.csv", ["headline", "topic"], tiny_rows())
    state = np.random.get_state()
    np.random.seed(0)
    try:
        model = train(load_labelled(data), params={"word_vectors": 0}).model
    finally:
        np.random.set_state(state)
    return save_model(model, folder / "tiny.joblib")


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed table width and no colours, whatever the terminal running the tests."""
    monkeypatch.setenv("COLUMNS", "120")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_matches_golden_file(name: str, golden_model: Path) -> None:
    source, options = CASES[name]
    result = run("predict", GOLDEN / source, "--model", golden_model, *options)
    assert result.exit_code == 0, result.output
    expected = GOLDEN / f"{name}.out"
    if os.environ.get("CLASSIFY_WRITE_GOLDEN"):
        expected.write_bytes(result.stdout_bytes)
    assert result.stdout_bytes == expected.read_bytes()
