"""Streaming training: chunks, passes, labels first seen late, malformed rows, interruption."""

from __future__ import annotations

import dataclasses
import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from classify.cli import app
from classify.errors import DataError
from classify.io.chunks import ReadStats, iter_chunks
from classify.pipeline.features import HashedHeadlineVectorizer
from classify.pipeline.model import load_model, save_model
from classify.training import stream as stream_module
from classify.training.stream import StreamProgress, StreamSettings, train_stream
from tests.conftest import TINY, tiny_rows, write_csv

#: Small widths and chunks: several chunks and passes on 24 rows, in well under a second.
SMALL = StreamSettings(chunk_rows=4, passes=4, word_bits=12, char_bits=12, learning_rate=0.5)


def sorted_rows() -> list[tuple[str, str]]:
    """Rows in topic order, so the first chunks hold one topic and 'health' comes only at the end."""
    return [(text, topic) for topic in ("sport", "economy", "health") for text in TINY[topic]]


def interleaved_rows() -> list[tuple[str, str]]:
    return [row for trio in zip(*(([(t, k) for t in TINY[k]]) for k in TINY), strict=True) for row in trio]


def test_trains_over_chunks_and_passes_with_a_topic_unseen_in_the_first_chunk(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "sorted.csv", ["headline", "topic"], sorted_rows())
    first = next(iter_chunks(path, chunk_rows=SMALL.chunk_rows))
    assert set(first.labels) == {"sport"}  # the premise: health is not in the first chunk
    seen: list[StreamProgress] = []
    result = train_stream(path, settings=SMALL, on_progress=seen.append)
    model = result.model
    assert model.topics == ["economy", "health", "sport"]
    assert result.n_rows == 24
    assert result.counts == {"economy": 8, "health": 8, "sport": 8}
    assert result.calibration_rows >= 1
    proba = model.predict_proba(["Hospital opens a new cancer treatment unit", "Oil prices climb"])
    assert proba.shape == (2, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    train_passes = {p.pass_number for p in seen if p.phase == "train"}
    assert train_passes == {1, 2, 3, 4}
    assert len([p for p in seen if p.phase == "scan"]) == 6  # 24 rows / 4 per chunk
    assert result.model.meta["stream"]["sorted_chunks"] >= 2


def test_learns_the_tiny_topics(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    model = train_stream(path, settings=SMALL).model
    texts, truth = zip(*tiny_rows(), strict=True)
    predicted = [model.topics[i] for i in model.predict_proba(texts).argmax(axis=1)]
    accuracy = np.mean([p == t for p, t in zip(predicted, truth, strict=True)])
    assert accuracy >= 0.9  # rows it trained on (all but the held-out calibration slice)


def test_model_saves_loads_and_holds_only_arrays_and_scalars(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    model = train_stream(path, settings=SMALL).model
    saved = save_model(model, tmp_path / "m.joblib")
    again = load_model(saved)
    texts = [t for t, _ in tiny_rows()]
    np.testing.assert_allclose(again.predict_proba(texts), model.predict_proba(texts), rtol=1e-6)
    assert again.meta["params"]["method"] == "stream"
    for step in ("features", "clf"):
        state = again.pipeline.named_steps[step].__getstate__()
        for key, value in state.items():
            assert isinstance(value, np.ndarray | int | float | str | bool | tuple | type(None)), key
    # The token cache is a speed-up, not state: never pickled.
    features = again.pipeline.named_steps["features"]
    features.transform(["warm the cache"])
    assert "_cache" not in pickle.loads(pickle.dumps(features)).__dict__


@pytest.mark.parametrize("kind", ["tsv", "jsonl", "csv.gz", "parquet"])
def test_formats_read_the_same_rows(tmp_path: Path, kind: str) -> None:
    rows = interleaved_rows()
    if kind == "tsv":
        path = tmp_path / "d.tsv"
        path.write_text("headline\ttopic\n" + "".join(f"{t}\t{k}\n" for t, k in rows), encoding="utf-8")
    elif kind == "jsonl":
        path = tmp_path / "d.jsonl"
        path.write_text(
            "".join(json.dumps({"title": t, "label": k}) + "\n" for t, k in rows), encoding="utf-8"
        )
    elif kind == "csv.gz":
        plain = write_csv(tmp_path / "plain.csv", ["headline", "topic"], rows)
        path = tmp_path / "d.csv.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        path = tmp_path / "d.parquet"
        texts, topics = zip(*rows, strict=True)
        pq.write_table(pa.table({"headline": list(texts), "topic": list(topics)}), path)
    chunks = list(iter_chunks(path, chunk_rows=5))
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 4]
    assert [(t, k) for c in chunks for t, k in zip(c.texts, c.labels, strict=True)] == rows
    assert train_stream(path, settings=SMALL).n_rows == 24


def test_malformed_row_is_skipped_and_reported_by_line(tmp_path: Path) -> None:
    rows = interleaved_rows()
    path = tmp_path / "bad.csv"
    lines = ["headline,topic"] + [f'"{t}",{k}' for t, k in rows]
    # Line 12: an unquoted comma makes three fields. Taking any column would mislabel it: skip it.
    lines.insert(11, "Egypt, Sudan sign Nile deal,economy")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    stats = ReadStats()
    texts = [t for c in iter_chunks(path, chunk_rows=4, stats=stats) for t in c.texts]
    assert stats.malformed == 1
    assert stats.bad_lines == [(12, "3 fields, the header has 2")]
    assert len(texts) == 24 and not any("Sudan sign Nile" in t for t in texts)
    # Rows after the bad one keep their own line numbers.
    last = next(iter_chunks(path, chunk_rows=100))
    assert last.lines[-1] == 26
    result = train_stream(path, settings=SMALL)
    assert (result.malformed, result.bad_lines[0][0], result.n_rows) == (1, 12, 24)


def test_malformed_jsonl_line_is_skipped(tmp_path: Path) -> None:
    rows = interleaved_rows()
    body = [json.dumps({"headline": t, "topic": k}) for t, k in rows]
    body.insert(5, '{"headline": "broken')
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    stats = ReadStats()
    assert sum(len(c) for c in iter_chunks(path, stats=stats)) == 24
    assert stats.bad_lines == [(6, "not valid JSON")]


def test_broken_quoting_stops_with_the_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("classify.io.chunks.MAX_FIELD_CHARS", 200)
    path = tmp_path / "quote.csv"
    rows = [f"Headline number {i},sport" for i in range(40)]
    rows.insert(3, '"An unclosed quote runs on,economy')
    path.write_text("headline,topic\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"quote\.csv: line 5: .*unclosed quote"):
        list(iter_chunks(path))


def test_too_few_topics_or_rows(tmp_path: Path) -> None:
    one = write_csv(tmp_path / "one.csv", ["headline", "topic"], [("a headline", "x"), ("another", "x")])
    with pytest.raises(DataError, match="only one topic"):
        train_stream(one, settings=SMALL)
    lonely = write_csv(
        tmp_path / "lonely.csv", ["headline", "topic"], [*interleaved_rows(), ("Lone row", "weather")]
    )
    with pytest.raises(DataError, match="'weather' have fewer than 2 rows"):
        train_stream(lonely, settings=SMALL)
    with pytest.raises(DataError, match="no such file"):
        train_stream(tmp_path / "missing.csv")


def test_eta_from_a_fake_clock(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    ticks = iter(range(10_000))
    seen: list[StreamProgress] = []
    train_stream(path, settings=SMALL, on_progress=seen.append, clock=lambda: float(next(ticks)))
    training = [p for p in seen if p.phase == "train"]
    assert all(p.rows_total == 24 and p.eta is not None for p in training)
    assert training[-1].eta == 0
    assert training[0].eta > training[-1].eta
    assert seen[-1].phase == "calibrate"


def test_hashed_features_do_not_depend_on_the_batch() -> None:
    texts = [t for t, _ in tiny_rows()]
    vectorizer = HashedHeadlineVectorizer(word_bits=10, char_bits=10).fit(texts)
    together = vectorizer.transform(texts).toarray()
    fresh = HashedHeadlineVectorizer(word_bits=10, char_bits=10).fit(texts)
    alone = np.vstack([fresh.transform([t]).toarray() for t in reversed(texts)])[::-1]
    np.testing.assert_allclose(together, alone, rtol=1e-6)
    assert together.shape == (24, 2048) and together.dtype == np.float32


# CLI -------------------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_stream_train_and_malformed_warning(tmp_path: Path) -> None:
    rows = interleaved_rows()
    path = tmp_path / "bad.csv"
    lines = ["headline,topic"] + [f'"{t}",{k}' for t, k in rows]
    lines.insert(11, "Egypt, Sudan sign Nile deal,economy")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "m.joblib"
    result = runner.invoke(app, ["train", str(path), "--stream", "--passes", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "trained (streaming, 3 passes) on 24 rows" in result.stdout
    assert (
        f"Warning: {path}: skipped 1 malformed row(s) (line 12: 3 fields, the header has 2)" in result.stderr
    )
    assert "pass 3/3" not in result.stderr  # progress is for terminals only
    assert load_model(out).meta["params"]["method"] == "stream"


def test_cli_streams_big_files_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "AUTO_STREAM_BYTES", 100)
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    result = runner.invoke(app, ["train", str(path), "-o", str(tmp_path / "m.joblib")])
    assert result.exit_code == 0, result.output
    assert "streaming" in result.stdout
    result = runner.invoke(app, ["train", str(path), "--no-stream", "-o", str(tmp_path / "n.joblib")])
    assert result.exit_code == 0, result.output
    assert "streaming" not in result.stdout


def test_cli_stream_with_config_is_a_usage_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    config = tmp_path / "best.json"
    config.write_text("{}", encoding="utf-8")
    result = runner.invoke(app, ["train", str(path), "--stream", "--config", str(config)])
    assert result.exit_code == 2
    assert "--config holds settings of the in-memory pipeline; drop it or --stream" in result.stderr


def _old_model(tmp_path: Path) -> tuple[Path, bytes]:
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    out = tmp_path / "models" / "site.joblib"
    save_model(train_stream(path, settings=SMALL).model, out)
    return out, out.read_bytes()


def test_ctrl_c_during_training_leaves_the_old_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, before = _old_model(tmp_path)
    calls = {"n": 0}
    original = stream_module.SoftmaxSGD.partial_fit

    def interrupted(self: stream_module.SoftmaxSGD, X: object, y: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, X, y)  # type: ignore[arg-type]

    monkeypatch.setattr(stream_module.SoftmaxSGD, "partial_fit", interrupted)
    data = write_csv(tmp_path / "new.csv", ["headline", "topic"], sorted_rows())
    # One chunk per pass at the default chunk size: the third update is in pass 3 of 4.
    result = runner.invoke(app, ["train", str(data), "--passes", "4", "-o", str(out)])
    assert result.exit_code == 130
    assert "Error: interrupted" in result.stderr
    assert calls["n"] == 3
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["site.joblib"]


def test_ctrl_c_while_saving_leaves_the_old_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classify.pipeline import modelfile

    out, before = _old_model(tmp_path)

    def half_written(pipeline: object, meta: object, out: Any) -> None:
        out.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(modelfile, "write", half_written)
    data = write_csv(tmp_path / "new.csv", ["headline", "topic"], interleaved_rows())
    result = runner.invoke(app, ["train", str(data), "--stream", "-o", str(out)])
    assert result.exit_code == 130
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["site.joblib"]


def test_a_streaming_model_explains_its_predictions_exactly(tmp_path: Path) -> None:
    from classify.prediction.explain import Explainer
    from classify.prediction.predictor import predict

    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    model = train_stream(path, settings=SMALL).model
    explainer = Explainer(model)
    # "the" twice: a repeated word puts the same hashed columns in the row twice.
    headline = "Striker scores twice as the champions win the cup final"
    prediction = next(predict(model, [headline]))
    assert prediction.topic == "sport"
    contributions = explainer.contributions(headline, prediction.topic)
    assert [w for w, _ in contributions] == headline.split()
    clf = model.fitted.named_steps["clf"]
    i = model.topics.index(prediction.topic)
    score = (model.fitted.named_steps["features"].transform([headline]) @ clf.coef_.T)[0, i] + clf.intercept_[
        i
    ]
    # Each column's value x weight is split between the words that carry it: the shares add up.
    assert sum(s for _, s in contributions) + clf.intercept_[i] == pytest.approx(score, rel=1e-4)
    assert explainer.why(prediction)


def test_the_batch_grows_with_the_data_within_bounds(tmp_path: Path) -> None:
    from classify.training.stream import BATCH_ROWS_RANGE, batch_rows_for

    low, high = BATCH_ROWS_RANGE
    assert batch_rows_for(24) == low and batch_rows_for(100_000) == low
    assert low < batch_rows_for(500_000) < high and batch_rows_for(10_000_000) == high
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    assert train_stream(path, settings=SMALL).model.meta["params"]["batch_rows"] == low
    fixed = StreamSettings(chunk_rows=4, passes=2, word_bits=12, char_bits=12, batch_rows=2)
    assert train_stream(path, settings=fixed).model.meta["params"]["batch_rows"] == 2
    with pytest.raises(ValueError, match="batch_rows"):
        StreamSettings(batch_rows=0)


def test_evaluate_can_fit_each_fold_by_streaming(tmp_path: Path) -> None:
    from classify.evaluation.evaluate import cross_validate
    from classify.io.labelled import load_labelled

    data = load_labelled(write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows()))
    streamed = cross_validate(data, folds=2, stream=True)
    plain = cross_validate(data, folds=2)
    assert streamed.splits.pairs and len(streamed.oof.rows) == len(data)
    assert [list(te) for _, te in streamed.splits.pairs] == [list(te) for _, te in plain.splits.pairs]
    assert streamed.evaluation.settings["params"]["method"] == "stream"
    assert "method" not in plain.evaluation.settings["params"]
    with pytest.raises(ValueError, match="stream"):
        cross_validate(data, folds=2, stream=True, params={"C": 1.0})


def test_cli_evaluate_streams_when_asked_and_refuses_it_with_a_model(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    runner = CliRunner()
    done = runner.invoke(app, ["evaluate", str(path), "--folds", "2", "--stream", "-f", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["settings"]["params"]["method"] == "stream"
    text = runner.invoke(app, ["evaluate", str(path), "--folds", "2", "--stream"])
    assert text.exit_code == 0 and "model: streaming training, 2 passes" in text.stdout
    refused = runner.invoke(app, ["evaluate", str(path), "--stream", "--test", str(path)])
    assert refused.exit_code == 2 and "--stream is for cross-validation" in refused.stderr


def test_cli_evaluate_streams_big_files_by_itself_as_train_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "AUTO_STREAM_BYTES", 100)
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    auto = CliRunner().invoke(app, ["evaluate", str(path), "--folds", "2", "-f", "json"])
    assert auto.exit_code == 0, auto.output
    assert json.loads(auto.stdout)["settings"]["params"]["method"] == "stream"
    plain = CliRunner().invoke(app, ["evaluate", str(path), "--folds", "2", "--no-stream", "-f", "json"])
    assert plain.exit_code == 0, plain.output
    assert "method" not in json.loads(plain.stdout)["settings"]["params"]


def test_streaming_fold_fits_accept_a_topic_with_one_row() -> None:
    from classify.training.stream import train_stream_rows

    rows = [*interleaved_rows(), ("Parliament passes the budget law", "politics")]
    texts, labels = zip(*rows, strict=True)
    model = train_stream_rows(list(texts), list(labels), settings=SMALL).model
    assert "politics" in model.topics
    assert model.predict_proba(["Oil prices climb"]).shape == (1, 4)


def test_passes_default_to_two_for_small_data_and_one_for_an_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = stream_module
    assert stream.passes_for(stream.SINGLE_PASS_ROWS - 1) == 2
    assert stream.passes_for(stream.SINGLE_PASS_ROWS) == 1
    path = write_csv(tmp_path / "tiny.csv", ["headline", "topic"], interleaved_rows())
    auto = StreamSettings(chunk_rows=4, word_bits=12, char_bits=12, learning_rate=0.5)
    for limit, expected in ((10_000, 2), (24, 1)):
        monkeypatch.setattr(stream, "SINGLE_PASS_ROWS", limit)
        seen: list[StreamProgress] = []
        result = train_stream(path, settings=auto, on_progress=seen.append)
        assert result.passes == expected
        assert result.model.meta["params"]["passes"] == expected
        assert {p.pass_number for p in seen if p.phase == "train"} == set(range(1, expected + 1))
        assert {p.passes for p in seen if p.phase == "scan"} == {0}  # not known before the count
    # Told, it does as told whatever the size.
    assert train_stream(path, settings=dataclasses.replace(auto, passes=3)).passes == 3
