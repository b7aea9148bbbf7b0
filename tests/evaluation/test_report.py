"""The --report folder: four files, written whole or not at all."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify import load_labelled
from classify.cli import app
from classify.evaluation import report as rep
from classify.evaluation.evaluate import cross_validate
from classify.evaluation.report import (
    REPORT_FILES,
    ReportError,
    build_report,
    expected_calibration_error,
    top_features,
    write_report,
)
from classify.paths import install_hint
from classify.pipeline.model import fit_pipeline
from tests.conftest import TINY, tiny_rows, write_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> rep.Report:
    path = write_csv(tmp_path_factory.mktemp("data") / "tiny.csv", ["headline", "topic"], tiny_rows())
    data = load_labelled(path)
    return build_report(data, cross_validate(data, folds=3))


def test_report_folder_holds_the_four_files(tiny_report: rep.Report, tmp_path: Path) -> None:
    folder = tmp_path / "out" / "report"
    written = write_report(tiny_report, folder)
    assert sorted(p.name for p in written) == sorted(REPORT_FILES)
    assert sorted(p.name for p in folder.iterdir()) == sorted(REPORT_FILES)  # no temporary files left
    for name in ("confusion.png", "calibration.png"):
        assert (folder / name).read_bytes().startswith(PNG_MAGIC)


def test_metrics_json_keys(tiny_report: rep.Report, tmp_path: Path) -> None:
    write_report(tiny_report, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert {"n", "accuracy", "macro_f1", "weighted_f1", "per_topic", "confusion", "mode", "folds"} <= set(
        metrics
    )
    assert {"settings", "near_duplicates", "baselines", "calibration", "data_hash", "versions"} <= set(
        metrics
    )
    assert metrics["settings"]["folds"] == 3 and metrics["settings"]["grouped"] is True
    assert "params" in metrics["settings"]
    assert set(metrics["baselines"]) == {"majority class", "naive Bayes (word unigrams)"}
    assert len(metrics["data_hash"]) == 64
    assert {"classify", "scikit-learn", "numpy"} <= set(metrics["versions"])


def test_baselines_use_the_same_folds(tiny_csv: Path) -> None:
    from classify.evaluation.evaluate import predict_splits
    from classify.evaluation.splits import make_splits

    data = load_labelled(tiny_csv)
    splits = make_splits(data, folds=3)
    oof = predict_splits(data, splits, lambda t, y: rep._fit_baseline("majority class", t, y))
    for fold in range(3):
        # The majority baseline answers one topic for a whole fold: the commonest in its training part.
        assert len({p for p, f in zip(oof.predicted, oof.fold, strict=True) if f == fold}) == 1
    nb = predict_splits(data, splits, lambda t, y: rep._fit_baseline("naive Bayes (word unigrams)", t, y))
    assert nb.rows.tolist() == oof.rows.tolist() and nb.fold.tolist() == oof.fold.tolist()


def test_report_markdown_sections(tiny_report: rep.Report) -> None:
    text = rep.report_markdown(tiny_report)
    for heading in (
        "## Scores",
        "## Per topic",
        "## Topics most confused with each other",
        "most confident mistakes",
        "## Calibration",
        "## Heaviest n-grams per topic",
    ):
        assert heading in text
    assert "| **macro average** |" in text and "| **weighted average** |" in text
    assert "naive Bayes (word unigrams)" in text and "majority class" in text
    assert "(confusion.png)" in text and "(calibration.png)" in text


def test_mistakes_are_wrong_and_most_confident_first(tiny_report: rep.Report) -> None:
    probabilities = [m.p_suggested for m in tiny_report.mistakes]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(m.label != m.suggested for m in tiny_report.mistakes)
    assert len(tiny_report.mistakes) == sum(not c for c in tiny_report.correct)


def test_markdown_escapes_table_cells() -> None:
    assert rep._cell("a | b") == "a \\| b"


def test_expected_calibration_error() -> None:
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([1.0, 1.0], [False, False]) == 1.0
    # Says 80%, right 4 times in 5: calibrated.
    assert expected_calibration_error([0.8] * 5, [True, True, True, True, False]) == pytest.approx(0.0)
    assert expected_calibration_error([], []) == 0.0


def test_top_features_name_topic_words() -> None:
    texts = [t for t, _ in tiny_rows()]
    labels = [topic for _, topic in tiny_rows()]
    features = top_features(fit_pipeline(texts, labels))
    assert set(features) == set(TINY)
    assert all(0 < len(f) <= rep.MOST_FEATURES for f in features.values())
    assert all(weight > 0 for f in features.values() for _, weight in f)
    # Logistic regression (no calibration wrapper) works the same way.
    assert set(top_features(fit_pipeline(texts, labels, {"classifier": "logreg"}))) == set(TINY)


def test_top_features_two_topics() -> None:
    rows = [r for r in tiny_rows() if r[1] != "health"]
    features = top_features(fit_pipeline([t for t, _ in rows], [topic for _, topic in rows]))
    assert set(features) == {"economy", "sport"}
    assert not {n for n, _ in features["economy"]} & {n for n, _ in features["sport"]}


def test_top_features_without_feature_names() -> None:
    from sklearn.feature_extraction.text import HashingVectorizer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    pipeline = Pipeline([("features", HashingVectorizer(n_features=64)), ("clf", LinearSVC())])
    pipeline.fit([t for t, _ in tiny_rows()], [topic for _, topic in tiny_rows()])
    assert top_features(pipeline) == {}


def test_failed_render_leaves_an_old_report_alone(
    tiny_report: rep.Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_report(tiny_report, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(rep, "calibration_figure", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_report(tiny_report, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_full_disk_leaves_the_old_report_whole(
    tiny_report: rep.Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    folder = tmp_path / "report"
    write_report(tiny_report, folder)
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for name in ("metrics.json", "report.md"):  # an old report, told apart from the new one
        (folder / name).write_bytes(b"old " + before[name])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if "calibration" in self.name:  # the disk fills up at the last figure
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(ReportError, match="No space left on device"):
        write_report(tiny_report, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary folder left
    monkeypatch.setattr(Path, "write_bytes", real)
    write_report(tiny_report, folder)
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (folder / "report.md").read_bytes().startswith(b"old ")


def test_report_folder_is_a_file(tiny_report: rep.Report, tmp_path: Path) -> None:
    path = tmp_path / "taken"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(ReportError, match="exists and is not a folder"):
        write_report(tiny_report, path)


def test_missing_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ReportError, match=re.escape(install_hint("report"))):
        rep.require_matplotlib()


# The command line ----------------------------------------------------------------------------
def cli(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cli_report(tiny_csv: Path, tmp_path: Path) -> None:
    folder = tmp_path / "report"
    result = cli("evaluate", tiny_csv, "--folds", "3", "--report", folder)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(REPORT_FILES)
    assert f"to {folder}" in result.stderr
    assert "macro-F1" in result.stdout
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["folds"] == 3 and metrics["split"] == "grouped k-fold"


def test_cli_report_with_date_split(tmp_path: Path) -> None:
    rows = [(t, topic, f"2024-02-{i % 8 + 1:02d}") for i, (t, topic) in enumerate(tiny_rows())]
    data = write_csv(tmp_path / "d.csv", ["headline", "topic", "date"], rows)
    result = cli("evaluate", data, "--split-by-date", "--report", tmp_path / "r")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["mode"] == "date split" and metrics["settings"]["date_col"] == "date"


def test_cli_report_without_matplotlib(
    tiny_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli("evaluate", tiny_csv, "--folds", "3", "--report", tmp_path / "r")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --report draws figures with matplotlib, which is not installed; "
        f"run: {install_hint('report')}\n"
    )
    assert not (tmp_path / "r").exists()


def test_cli_report_needs_cross_validation(tiny_csv: Path, tiny_model_path: Path, tmp_path: Path) -> None:
    result = cli("evaluate", tiny_csv, "--model", tiny_model_path, "--report", tmp_path / "r")
    assert result.exit_code == 2
    assert "--split-by-date and --report work with cross-validation; drop --model/--test" in result.stderr
