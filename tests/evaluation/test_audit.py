"""Auditing labels: a planted label error and a planted near-duplicate conflict must be found."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from classify import DataError, LabelledData
from classify.cli import app
from classify.evaluation.auditing import CSV_COLUMNS, KIND_DUPLICATE, KIND_LABEL, audit, write_csv
from tests.conftest import write_csv as write_data

# Three topics with vocabulary of their own, so that twelve rows each teach a model something.
TOPICS = {
    "sport": [
        "Striker scores twice as the league leaders win the match",
        "Coach praises the team after the league match in Cairo",
        "Goalkeeper saves a penalty in the cup match",
        "League champions sign a new striker before the season",
        "Team captain injured in training before the cup final",
        "Coach sacked after the team loses another league match",
        "Fans celebrate as the team lifts the league cup",
        "Striker joins rival club in record transfer deal",
        "Referee sends off two players in a bad-tempered match",
        "Young goalkeeper keeps a clean sheet on his league debut",
        "Club fires coach after cup exit",
        "Tennis star wins the final in straight sets",
    ],
    "economy": [
        "Central bank raises interest rates to fight inflation",
        "Inflation slows as food prices fall",
        "Stock market closes higher on bank shares",
        "Bank profits rise as interest rates climb",
        "Dollar weakens after the central bank decision",
        "Oil prices push inflation to a new high",
        "Investors buy government bonds as shares fall",
        "Carmaker shares jump on record profit",
        "Central bank keeps rates on hold as prices cool",
        "Exports rise as the currency weakens against the dollar",
        "Market slumps on fears of higher interest rates",
        "Bond yields climb as investors expect more inflation",
    ],
    "health": [
        "Hospital opens a new unit for cancer patients",
        "Doctors warn of a rise in flu cases at hospitals",
        "Ministry launches a vaccine campaign against polio",
        "New drug approved for patients with diabetes",
        "Measles outbreak: doctors urge parents to vaccinate children",
        "Clinic shortage leaves patients waiting for months",
        "Study links poor sleep to heart disease in adults",
        "Vaccine trial shows strong protection against the virus",
        "Hospital doctors strike over pay and patient safety",
        "Virus cases fall as vaccine campaign widens",
        "Health ministry warns of disease spread in summer",
        "Patients with heart disease benefit from new drug",
    ],
}
#: A clear economy headline, labelled sport.
MISLABELLED = "Bank profits rise as interest rates climb"
#: A reworded copy of an economy headline, labelled health: a near-duplicate pair with two labels.
COPY = ("Stock market closes higher on bank shares", "Stock market closes higher again on bank shares")


def rows() -> list[tuple[str, str]]:
    out = [
        (text, "sport" if text == MISLABELLED else topic) for topic, lines in TOPICS.items() for text in lines
    ]
    return [*out, (COPY[1], "health")]


def data() -> LabelledData:
    pairs = rows()
    return LabelledData(texts=[t for t, _ in pairs], labels=[label for _, label in pairs], source="audit.csv")


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return audit(data(), folds=3)


def test_planted_label_error_is_flagged_with_the_right_suggestion(result) -> None:  # type: ignore[no-untyped-def]
    flagged = {s.headline: s for s in result.issues}
    assert MISLABELLED in flagged
    suspect = flagged[MISLABELLED]
    assert suspect.label == "sport" and suspect.suggested == "economy"
    assert suspect.p_suggested > suspect.p_label
    # Most suspicious first; and only a few of the 37 rows are flagged, not everything.
    assert [s.p_label for s in result.issues] == sorted(s.p_label for s in result.issues)
    assert len(result.issues) <= 6


def test_rows_are_numbered_from_one_in_file_order(result) -> None:  # type: ignore[no-untyped-def]
    suspect = next(s for s in result.issues if s.headline == MISLABELLED)
    assert rows()[suspect.row - 1][0] == MISLABELLED


def test_near_duplicates_with_different_labels(result) -> None:  # type: ignore[no-untyped-def]
    assert len(result.conflicts) == 1
    conflict = result.conflicts[0]
    assert {m.headline for m in conflict.members} == set(COPY)
    assert sorted(conflict.labels) == ["economy", "health"]
    assert len({m.group for m in conflict.members}) == 1


def test_conflicts_the_model_disputes_come_first() -> None:
    pairs = rows()
    # A second conflict that the model agrees with: each headline keeps its own, plausible topic.
    pairs += [
        ("Ministry of health launches a vaccine campaign in schools", "health"),
        ("Ministry launches a vaccine campaign against polio", "economy"),
    ]
    result = audit(LabelledData(texts=[t for t, _ in pairs], labels=[label for _, label in pairs]), folds=3)
    assert result.conflicts and result.conflicts[0].disputed >= 1
    disputed = [c.disputed > 0 for c in result.conflicts]
    assert disputed == sorted(disputed, reverse=True)


def test_no_conflict_when_copies_agree() -> None:
    pairs = [(t, "economy" if t == COPY[1] else label) for t, label in rows() if t != MISLABELLED]
    clean = LabelledData(texts=[t for t, _ in pairs], labels=[label for _, label in pairs])
    assert audit(clean, folds=3).conflicts == []


def test_csv_parses_with_both_kinds(result) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    write_csv(result, out)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(parsed[0]) == list(CSV_COLUMNS)
    kinds = [r["kind"] for r in parsed]
    assert kinds.count(KIND_LABEL) == len(result.issues)
    assert kinds.count(KIND_DUPLICATE) == 2
    assert all(0 <= float(r["p_label"]) <= 1 for r in parsed)


def test_top_limits_each_list(result) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    write_csv(result, out, top=1)
    kinds = [r["kind"] for r in csv.DictReader(io.StringIO(out.getvalue()))]
    assert kinds.count(KIND_LABEL) == 1
    assert kinds.count(KIND_DUPLICATE) == 2  # one group, all its rows


def test_too_many_folds_is_a_data_error() -> None:
    with pytest.raises(DataError, match="fewer rows than the 20 folds"):
        audit(data(), folds=20)


# Command line ----------------------------------------------------------------------------------
runner = CliRunner()


@pytest.fixture
def audit_csv(tmp_path: Path) -> Path:
    return write_data(tmp_path / "audit.csv", ["headline", "topic"], rows())


def test_cli_csv(audit_csv: Path) -> None:
    result = runner.invoke(app, ["audit", str(audit_csv), "--folds", "3", "--format", "csv"])
    assert result.exit_code == 0, result.output
    parsed = list(csv.DictReader(io.StringIO(result.stdout)))
    assert any(r["headline"] == MISLABELLED and r["kind"] == KIND_LABEL for r in parsed)
    assert {r["headline"] for r in parsed if r["kind"] == KIND_DUPLICATE} == set(COPY)


def test_cli_table(audit_csv: Path) -> None:
    result = runner.invoke(app, ["audit", str(audit_csv), "--folds", "3", "--format", "table", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "Likely label errors" in result.stdout
    assert "Near-duplicates with different labels: 1 of 1" in result.stdout


def test_cli_bad_format(audit_csv: Path) -> None:
    result = runner.invoke(app, ["audit", str(audit_csv), "--format", "xml"])
    assert result.exit_code == 2


def test_cli_too_many_folds(audit_csv: Path) -> None:
    result = runner.invoke(app, ["audit", str(audit_csv), "--folds", "20"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "20 folds" in result.stderr
