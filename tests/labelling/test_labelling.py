"""The labelling session behind `classify label`: answers file, undo, resume, order and refits."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from classify import load_labelled, load_model, train
from classify.errors import DataError
from classify.labelling.session import (
    COLUMNS,
    AlreadyAnswered,
    AnswerError,
    LabelSession,
    parse_topics,
    train_command,
)
from tests.conftest import TINY, tiny_rows

TRUTH = dict(tiny_rows())
POOL = list(TRUTH)
TOPICS = list(TINY)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[LabelSession]:
    s = LabelSession(POOL, tmp_path / "labels.csv", topics=TOPICS, refit_every=3)
    yield s
    s.close()


def answer_current(s: LabelSession, skip: bool = False) -> str:
    item = s.current()
    assert item is not None
    s.answer(item.id, None if skip else TRUTH[item.headline], seconds=1.5)
    return item.headline


def test_each_answer_is_in_the_file_at_once(session: LabelSession) -> None:
    first = answer_current(session)
    # Read by another handle while the session is still open: the row was flushed.
    got = rows(session.output)
    assert [r["headline"] for r in got] == [first]
    assert got[0]["topic"] == TRUTH[first] and got[0]["status"] == "labelled"
    assert got[0]["seconds"] == "1.5" and got[0]["answered_at"].endswith("+00:00")
    second = answer_current(session, skip=True)
    got = rows(session.output)
    assert [r["status"] for r in got] == ["labelled", "skipped"]
    assert got[1]["headline"] == second and got[1]["topic"] == ""
    assert list(got[0]) == list(COLUMNS)


def test_undo_takes_back_the_last_answer(session: LabelSession) -> None:
    a = answer_current(session)
    b = answer_current(session)
    back = session.undo()
    assert back is not None and back.headline == b
    current = session.current()
    assert current is not None and current.headline == b  # asked again next
    assert [r["headline"] for r in rows(session.output)] == [a]
    # Answering again after an undo appends to the rewritten file.
    session.answer(back.id, TRUTH[b])
    assert [r["headline"] for r in rows(session.output)] == [a, b]
    assert session.undo() is not None and session.undo() is not None
    assert rows(session.output) == []
    assert session.undo() is None  # nothing left to undo
    assert session.progress().labelled == 0


def test_restart_resumes_and_never_asks_an_answered_headline(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    s = LabelSession(POOL, out, topics=TOPICS, refit_every=100)
    answered = {answer_current(s) for _ in range(4)} | {answer_current(s, skip=True)}
    s.close()
    s = LabelSession(POOL, out, topics=TOPICS, refit_every=100)
    try:
        assert s.progress().labelled == 4 and s.progress().skipped == 1
        assert s.progress().remaining == len(POOL) - 5
        asked = set()
        while (item := s.current()) is not None:
            asked.add(item.headline)
            s.answer(item.id, TRUTH[item.headline])
        assert asked == set(POOL) - answered
        assert s.current() is None
    finally:
        s.close()
    assert len(rows(out)) == len(POOL)


def test_the_answers_file_trains_a_model(session: LabelSession) -> None:
    for n in range(len(POOL)):
        answer_current(session, skip=n % 4 == 0)
    data = load_labelled(session.output)
    assert data.text_col == "headline" and data.label_col == "topic"
    assert len(data) == 18 and data.skipped == 6  # skips have no topic: training leaves them out
    assert set(train(data).model.topics) <= set(TOPICS)


def test_an_interrupted_last_line_is_dropped(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    done = POOL[0]
    out.write_text(
        ",".join(COLUMNS) + f"\n{done},sport,labelled,,1.0,2026-01-01T00:00:00+00:00\n{POOL[1]},spo",
        encoding="utf-8",
    )
    s = LabelSession(POOL, out, topics=TOPICS)
    try:
        assert s.progress().labelled == 1
        assert s.progress().remaining == len(POOL) - 1
        answer_current(s)
    finally:
        s.close()
    got = rows(out)
    assert len(got) == 2 and got[0]["headline"] == done and got[1]["status"] == "labelled"


def test_the_printed_train_command_runs(session: LabelSession, tmp_path: Path) -> None:
    # What `classify label` prints when it stops: run it as printed, with the pool it labelled from.
    import shlex

    from typer.testing import CliRunner

    from classify.cli import app

    for _ in range(12):
        answer_current(session)
    pool = tmp_path / "pool folder" / "pool.txt"  # a space: the command must quote it
    pool.parent.mkdir()
    pool.write_text("\n".join(POOL) + "\n", encoding="utf-8")
    argv = shlex.split(train_command(session.output, pool))
    assert argv[:5] == ["classify", "train", str(session.output), "--unlabelled", str(pool)]
    out = argv.index("-o") + 1
    argv[out] = str(tmp_path / argv[out])
    result = CliRunner().invoke(app, argv[1:])
    assert result.exit_code == 0, result.output
    model = load_model(Path(argv[out]))
    assert model.meta["self_training"]["threshold"] == 0.7
    assert model.meta["self_training"]["labelled_rows"] == 12
    table = shlex.split(train_command(Path("a.csv"), Path("p.csv"), text_col="lede"))
    assert table[table.index("--pool-text-col") + 1] == "lede"


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "data.csv"
    other.write_text("headline,topic\nA headline,sport\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"data\.csv: not a 'classify label' answers file.*give a new -o"):
        LabelSession(POOL, other, topics=TOPICS)
    assert other.read_text(encoding="utf-8") == "headline,topic\nA headline,sport\n"  # untouched


def test_bad_answers_are_refused(session: LabelSession) -> None:
    item = session.current()
    assert item is not None
    with pytest.raises(AnswerError, match="unknown topic 'nope'"):
        session.answer(item.id, "nope")
    with pytest.raises(AnswerError, match="no headline 999"):
        session.answer(999, "sport")
    session.answer(item.id, "sport")
    with pytest.raises(AlreadyAnswered):
        session.answer(item.id, "sport")
    assert len(rows(session.output)) == 1


def test_cold_start_then_refits_and_suggestions(session: LabelSession) -> None:
    assert session.progress().mode.startswith("cold start")
    assert session.current().suggested is None  # type: ignore[union-attr]
    for _ in range(9):
        answer_current(session)
        assert session.wait_idle(timeout=60)
    progress = session.progress()
    assert progress.refits >= 1 and progress.model_labels >= 6
    assert progress.mode == "uncertainty"
    item = session.current()
    assert item is not None and item.suggested in TOPICS
    assert [t for t, _ in item.probabilities] == TOPICS
    assert sum(p for _, p in item.probabilities) == pytest.approx(1, abs=1e-3)


def test_starting_model_suggests_and_acceptance_is_counted(tmp_path: Path, tiny_model_path: Path) -> None:
    model = load_model(tiny_model_path)
    s = LabelSession(POOL, tmp_path / "labels.csv", start_model=model, refit_every=100)
    try:
        assert s.topics == model.topics
        assert s.progress().mode == "uncertainty"
        accepted = 0
        for _ in range(5):
            item = s.current()
            assert item is not None and item.suggested is not None
            accepted += item.suggested == TRUTH[item.headline]
            s.answer(item.id, TRUTH[item.headline])
        p = s.progress()
        assert p.with_suggestion == 5 and p.accepted == accepted
        assert [r["suggested"] for r in rows(s.output)] != [""] * 5
    finally:
        s.close()


def test_uncertain_headlines_come_first_with_a_model(tmp_path: Path, tiny_model_path: Path) -> None:
    model = load_model(tiny_model_path)
    s = LabelSession(POOL, tmp_path / "labels.csv", start_model=model)
    try:
        first = s.current()
        assert first is not None
        proba = model.predict_proba(POOL)
        top2 = sorted(proba[POOL.index(first.headline)])[-2:]
        margins = sorted(sorted(row)[-1] - sorted(row)[-2] for row in proba)
        assert top2[1] - top2[0] == pytest.approx(margins[0])
    finally:
        s.close()


def test_topics_from_a_resumed_file_are_kept(tmp_path: Path) -> None:
    out = tmp_path / "labels.csv"
    out.write_text(
        ",".join(COLUMNS) + f"\n{POOL[0]},football,labelled,,1.0,2026-01-01T00:00:00+00:00\n",
        encoding="utf-8",
    )
    s = LabelSession(POOL, out, topics=["economy", "health"])
    try:
        assert s.topics == ["economy", "health", "football"]
    finally:
        s.close()


def test_parse_topics() -> None:
    assert parse_topics(" economy, sport,,economy ") == ["economy", "sport"]
    with pytest.raises(ValueError, match="at least two"):
        parse_topics("economy")


def test_fewer_than_two_topics_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at least two topics"):
        LabelSession(POOL, tmp_path / "labels.csv", topics=["sport"])
    with pytest.raises(DataError, match="no headlines"):
        LabelSession(["", ""], tmp_path / "other.csv", topics=TOPICS)


def test_the_selection_model_ranks_the_questions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import Counter

    from classify.labelling import sampling

    s = LabelSession(POOL, tmp_path / "labels.csv", topics=TOPICS, refit_every=1)
    try:
        for _ in range(9):
            answer_current(s)
            assert s.wait_idle(timeout=60)
        assert s.progress().mode == "uncertainty"
        labelled = [(r["headline"], r["topic"]) for r in rows(s.output)]
        counts = Counter(t for _, t in labelled)
        keep = [(s.pool.index(h), t) for h, t in labelled if counts[t] >= 2]
        vecs = sampling.vectors(s.pool)
        proba = sampling.selection_proba(vecs, [i for i, _ in keep], [t for _, t in keep], s.topics)
        done = {s.pool.index(h) for h, _ in labelled}
        left = [i for i in range(len(s.pool)) if i not in done]
        item = s.current()
        assert item is not None
        per_topic = [counts.get(t, 0) for t in s.topics]  # as the session passes them
        assert item.id == sampling.labelling_order(proba, vecs, left, 1, counts=per_topic)[0]

        # A selection model in doubt about one headline only: the next refit must ask it next,
        # whatever the suggestion model thinks.
        target = next(i for i in reversed(left) if i != item.id)

        def doubtful(vecs: object, labelled: object, labels: object, topics: list[str]) -> np.ndarray:
            out = np.zeros((len(s.pool), len(topics)))
            out[:, 0] = 1.0
            out[target] = 1.0 / len(topics)
            return out

        monkeypatch.setattr(sampling, "selection_proba", doubtful)
        answer_current(s)
        assert s.wait_idle(timeout=60)
        assert s.current().id == target  # type: ignore[union-attr]
    finally:
        s.close()
