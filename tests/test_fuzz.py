"""Property-based fuzzing: random text and structure through every reader and writer.

Each property states a round trip or a clean failure: what goes into a pass-through column comes out
unchanged, one output row per headline, the output parses as CSV or JSON Lines, and bad input raises
a :class:`~classify.errors.ClassifyError` subclass, never another exception.

Profiles: the default (``ci``) runs a fixed set of 50 examples per test, derandomised so that CI is
reproducible, and keeps this module well under a minute; ``HYPOTHESIS_PROFILE=long`` explores 2,000
fresh random examples per test (several minutes), keeping failures in ``.hypothesis/`` for replay::

    HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest -q tests/test_fuzz.py
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from classify.errors import ClassifyError, DataError
from classify.io.labelled import load_labelled, split_label
from classify.io.reading import MAX_TEXT_CHARS, InputReport, cell_text, numbered_lines
from classify.io.records import iter_records
from classify.text import collapse

settings.register_profile(
    "ci", max_examples=50, deadline=None, derandomize=True, database=None, print_blob=True
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


#: What the CSV writer may put before a cell to defuse a formula (OWASP: a leading ').
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Columns a result row adds (or overwrites); generated input columns avoid them.
RESULT_KEYS = {"topic", "confidence", "best_guess", "topics", "why"}

LINE_ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])
short_text = st.text(max_size=40)
column_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda name: name not in RESULT_KEYS | {"headline", "label"}
)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every example's files (hypothesis reuses a test function across examples)."""
    return tmp_path_factory.mktemp("fuzz")


@functools.lru_cache(maxsize=1)
def _model(path: Path) -> Any:
    from classify.pipeline.model import load_model

    return load_model(path)


def _records(path: Path, **options: Any) -> list[tuple[str, dict[str, object]]]:
    return [(r.headline, r.fields) for r in iter_records([path], **options)]


def _universal_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


# Readers ----------------------------------------------------------------------------------------
@given(
    lines=st.lists(st.text(max_size=60).map(lambda s: re.sub(r"[\r\n]", "", s)), max_size=20),
    end=LINE_ENDINGS,
)
def test_lines_come_back_collapsed_in_order(scratch: Path, lines: list[str], end: str) -> None:
    path = scratch / "lines.txt"
    path.write_bytes(end.join(lines).encode("utf-8"))
    assert [h for h, _ in _records(path, split=False)] == [t for line in lines if (t := collapse(line))]


#: Text that exercises the block fast path and every reason to leave it: doubled, odd and edge white
#: space, ticker separators, long lines, line endings and non-ASCII letters.
_BLOCK_PIECES = st.sampled_from(
    [
        "Bank",
        " ",
        "  ",
        "shares",
        "\n",
        "\r\n",
        "\r",
        "\t",
        "\xa0",
        "\u2003",
        " | ",
        "++",
        "•",
        "é",
        "\x1c",
        "a" * 40,
    ]
)


@given(
    pieces=st.lists(_BLOCK_PIECES, max_size=40),
    block_size=st.integers(1, 64),
    split=st.booleans(),
    pattern=st.sampled_from([None, r"\s*;\s*"]),
)
def test_block_reading_gives_the_records_of_line_by_line_reading(
    pieces: list[str], block_size: int, split: bool, pattern: str | None
) -> None:
    from classify.io import reading
    from classify.io import records as sources

    data = "".join(pieces).encode("utf-8")
    fast_report, slow_report = InputReport(), InputReport()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reading, "MAX_TEXT_CHARS", 100)  # so that long lines occur
        patch.setattr(sources, "MAX_TEXT_CHARS", 100)
        blocks = reading.text_blocks(
            io.BytesIO(data), "x", errors="replace", report=fast_report, block_size=block_size
        )
        fast = list(sources._text_records(blocks, split, pattern, "x", fast_report))
        lines = reading.numbered_lines(io.BytesIO(data), "x", errors="replace", report=slow_report)
        slow = list(sources._line_records(lines, split, pattern, "x", slow_report))
    assert fast == slow
    assert all(r.plain for r in fast)
    assert fast_report.warnings() == slow_report.warnings()


def test_odd_space_is_every_white_space_but_space_and_line_feed() -> None:
    from classify.io.records import ODD_SPACE

    assert sorted(ODD_SPACE) == [c for c in map(chr, range(0x110000)) if c.isspace() and c not in " \n"]


@given(data=st.binary(max_size=300))
def test_any_bytes_as_plain_lines_never_fail(scratch: Path, data: bytes) -> None:
    # Prediction never stops on undecodable input: bad bytes become U+FFFD and are counted.
    from classify.io.formats import GZIP_MAGIC, refuse_binary

    path = scratch / "bytes.txt"
    path.write_bytes(data)
    try:  # except a file whose first bytes say it is not text at all (refused in one line)
        refuse_binary("bytes.txt", data[:1024], path=path)
    except DataError:
        with pytest.raises(DataError, match=r"bytes\.txt: is "):
            _records(path)
        return
    if data.startswith(GZIP_MAGIC):  # read through: any damage is one line too
        with contextlib.suppress(DataError):
            _records(path)
        return
    report = InputReport()
    got = _records(path, report=report)
    assert all(h and h == collapse(h) for h, _ in got)
    expected_bad = sum(
        1 for part in re.split(rb"\r\n|\r|\n", data.removeprefix(b"\xef\xbb\xbf")) if _bad(part)
    )
    assert report.replaced_lines == expected_bad


@given(
    pieces=st.lists(
        st.sampled_from([b"ab", b"\r", b"\n", b"\r\n", b"\xe9", b"\xc3\xa9", b"\xef\xbb\xbf", b" "])
    ),
    block_size=st.integers(1, 16),
)
def test_line_reader_agrees_with_a_line_by_line_reading(pieces: list[bytes], block_size: int) -> None:
    # The reader decodes blocks of whole lines; whatever the block boundaries, it must number and
    # decode each line as a plain line-by-line reading does.
    data = b"".join(pieces)
    report = InputReport()
    got = list(numbered_lines(io.BytesIO(data), "x", errors="replace", report=report, block_size=block_size))
    expected, bad, number = [], [], 1
    for raw in data.removeprefix(b"\xef\xbb\xbf").splitlines(keepends=True):
        expected.append((number, raw.decode("utf-8", errors="replace")))
        if _bad(raw):
            bad.append(number)
        number += raw.endswith(b"\n")
    assert got == expected
    assert report.replaced_lines == len(bad)
    if bad:
        assert report.sources["x"].first_replaced == bad[0]
        with pytest.raises(DataError, match=f"x: line {bad[0]} is not valid UTF-8"):
            list(numbered_lines(io.BytesIO(data), "x", block_size=block_size))


def _bad(part: bytes) -> bool:
    try:
        part.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".jsonl"]))
def test_any_bytes_as_a_table_fail_cleanly(scratch: Path, data: bytes, suffix: str) -> None:
    path = scratch / f"bytes{suffix}"
    path.write_bytes(data)
    for read in (lambda: _records(path, text_col="headline"), lambda: load_labelled(path)):
        with contextlib.suppress(DataError):  # anything else fails the test
            read()


@given(text=st.text(alphabet=",\"\n\r\t ;\\'ab=", max_size=80), suffix=st.sampled_from([".csv", ".tsv"]))
def test_csv_punctuation_soup_fails_cleanly(scratch: Path, text: str, suffix: str) -> None:
    path = scratch / f"soup{suffix}"
    path.write_text("headline,topic\n" + text, encoding="utf-8", newline="")
    for read in (lambda: _records(path), lambda: load_labelled(path)):
        with contextlib.suppress(DataError):  # anything else fails the test
            read()


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header holding ``headline`` and ``label`` among other columns, and rows of random text."""
    others = draw(st.lists(column_name, unique=True, max_size=3))
    columns = draw(st.permutations(["headline", "label", *others]))
    rows = draw(st.lists(st.lists(short_text, min_size=len(columns), max_size=len(columns)), max_size=12))
    return list(columns), rows


@given(
    table=tables(),
    delimiter=st.sampled_from([",", "\t"]),
    dialect=st.sampled_from([(csv.QUOTE_MINIMAL, "\r\n"), (csv.QUOTE_ALL, "\n"), (csv.QUOTE_ALL, "\r\n")]),
    bom=st.booleans(),
)
def test_csv_round_trip_through_predict_and_train(
    scratch: Path,
    table: tuple[list[str], list[list[str]]],
    delimiter: str,
    dialect: tuple[int, str],
    bom: bool,
) -> None:
    columns, rows = table
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=dialect[0], lineterminator=dialect[1])
    writer.writerow(columns)
    writer.writerows(rows)
    path = scratch / ("table.csv" if delimiter == "," else "table.tsv")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
    h, lab = columns.index("headline"), columns.index("label")
    # Prediction: one record per row with a headline; every cell passes through as written.
    expected = [(collapse(r[h]), dict(zip(columns, r, strict=True))) for r in rows if collapse(r[h])]
    assert _records(path) == expected
    # Training: the same headlines, labels stripped; rows missing either are skipped and counted.
    kept = [(collapse(r[h]), r[lab].strip()) for r in rows if collapse(r[h]) and r[lab].strip()]
    data = load_labelled(path, label_sep=None)
    assert list(zip(data.texts, data.labels, strict=True)) == kept
    assert data.skipped == len(rows) - len(kept)
    # By default a cell of several topics ('a|b') is read as its topics, the first being the label.
    topics = [(collapse(r[h]), split_label(r[lab])) for r in rows]
    multi = load_labelled(path)
    assert list(zip(multi.texts, multi.topic_sets(), strict=True)) == [(t, s) for t, s in topics if t and s]


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), short_text
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(short_text, inner, max_size=3),
    max_leaves=6,
)


@given(
    rows=st.lists(
        st.fixed_dictionaries({"headline": json_value, "label": json_scalar}, optional={"id": json_value}),
        max_size=10,
    ),
    ascii_only=st.booleans(),
    blank=st.sampled_from(["", "\n", "  \r\n"]),
)
def test_jsonl_round_trip_through_predict_and_train(
    scratch: Path, rows: list[dict[str, Any]], ascii_only: bool, blank: str
) -> None:
    path = scratch / "rows.jsonl"
    path.write_text(blank.join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in rows), encoding="utf-8")
    headline = [collapse(cell_text(r["headline"]))[:MAX_TEXT_CHARS] for r in rows]
    assert _records(path) == [(t, r) for t, r in zip(headline, rows, strict=True) if t]
    if not rows:
        with pytest.raises(DataError, match="file is empty"):
            load_labelled(path)
        return
    data = load_labelled(path, label_sep=None)
    labels = [cell_text(r["label"]).strip() for r in rows]
    assert list(zip(data.texts, data.labels, strict=True)) == [
        (t, lab) for t, lab in zip(headline, labels, strict=True) if t and lab
    ]
    topics = [split_label(r["label"]) for r in rows]
    multi = load_labelled(path)
    assert list(zip(multi.texts, multi.topic_sets(), strict=True)) == [
        (t, s) for t, s in zip(headline, topics, strict=True) if t and s
    ]


# The ticker splitter -------------------------------------------------------------------------------
@given(text=st.text(max_size=200))
def test_splitter_keeps_every_word_in_order(text: str) -> None:
    from classify.io import ticker

    pieces = ticker.split_ticker(text)
    assert all(p and p == collapse(p) for p in pieces)
    words = iter(text.split())
    for word in (w for p in pieces for w in p.split()):
        assert word in words, "a piece holds a word that is not next in the input"  # consumes `words`
    separators = set(ticker._SEPARATOR_SYMBOLS) | {"+"}
    # Only stand-alone separator symbols may be dropped.
    dropped = _dropped_words(text.split(), [w for p in pieces for w in p.split()])
    assert all(set(w) <= separators for w in dropped)


def _dropped_words(words: list[str], kept: list[str]) -> Iterator[str]:
    position = 0
    for word in words:
        if position < len(kept) and kept[position] == word:
            position += 1
        else:
            yield word


@given(text=st.text(max_size=400), end=LINE_ENDINGS)
def test_page_extraction_returns_headlines_from_the_page(text: str, end: str) -> None:
    from classify.io import ticker

    page = end.join(text.split("\n"))
    for headline in ticker.extract_from_page(page):
        assert headline and headline == collapse(headline)
        assert all(word in page for word in headline.split())


# predict() and the writers ---------------------------------------------------------------------------
@given(headlines=st.lists(st.text(max_size=80), max_size=12), top_k=st.integers(1, 4))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_predict_answers_every_headline_in_order(
    tiny_model_path: Path, headlines: list[str], top_k: int
) -> None:
    from classify.prediction.predictor import predict

    model = _model(tiny_model_path)
    got = list(predict(model, headlines, top_k=top_k, batch_size=5))
    assert [p.headline for p in got] == headlines
    for p in got:
        assert p.topic in model.topics and p.topics[0] == (p.topic, p.confidence)
        assert len(p.topics) == min(top_k, len(model.topics))
        assert all(0.0 <= prob <= 1.0 for _, prob in p.topics)
        assert [prob for _, prob in p.topics] == sorted((prob for _, prob in p.topics), reverse=True)


@st.composite
def record_tables(draw: st.DrawFn) -> list[dict[str, str]]:
    """Rows of a table fed to prediction: a headline and pass-through text columns, same keys each."""
    others = draw(st.lists(column_name, unique=True, max_size=3))
    keys = ["headline", *others]
    cell = st.text(max_size=30)
    headline = cell.filter(lambda s: collapse(s) != "")
    return draw(
        st.lists(
            st.fixed_dictionaries({k: headline if k == "headline" else cell for k in keys}),
            min_size=1,
            max_size=8,
        )
    )


def _write(fmt: str, rows: list[tuple[Any, dict[str, Any]]]) -> str:
    """Write result rows as the CLI does: to a UTF-8 byte stream, then decode what was written."""
    from classify.prediction.writers import get_writer

    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
    writer = get_writer(fmt, out)
    for record, row in rows:
        writer.write(row, record.headline)
    writer.close()
    out.flush()
    return raw.getvalue().decode("utf-8")


@given(table=record_tables(), explain=st.booleans(), top_k=st.integers(1, 3))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_every_output_format_has_one_row_per_headline_and_passes_columns_through(
    scratch: Path, tiny_model_path: Path, table: list[dict[str, str]], explain: bool, top_k: int
) -> None:
    from classify.prediction.predictor import PredictOptions, predict_records

    path = scratch / "records.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in table), encoding="utf-8")
    options = PredictOptions(top_k=top_k, explain=explain)
    results = list(predict_records(_model(tiny_model_path), iter_records([path]), options))
    assert len(results) == len(table)

    lines = _write("jsonl", results).split("\n")
    assert lines[-1] == "" and len(lines) == len(table) + 1
    for line, row in zip(lines, table, strict=False):
        parsed = json.loads(line)
        assert {k: parsed[k] for k in row} == row

    parsed_csv = list(csv.DictReader(io.StringIO(_write("csv", results), newline="")))
    assert len(parsed_csv) == len(table)
    for out, row in zip(parsed_csv, table, strict=True):
        for key, value in row.items():
            # The CSV writer may defuse a formula with a leading ' (OWASP); nothing else changes.
            assert out[key] == value or (value.startswith(FORMULA_START) and out[key] == "'" + value)

    shown = _write("table", results)
    assert str(len(table)) in shown


# Model files -----------------------------------------------------------------------------------------
def _load_cleanly(path: Path) -> None:
    from classify.pipeline.model import load_model

    with contextlib.suppress(ClassifyError):  # anything else fails the test
        load_model(path)


@given(data=st.binary(max_size=2000))
def test_load_model_on_random_bytes_fails_cleanly(scratch: Path, data: bytes) -> None:
    path = scratch / "random.model"
    path.write_bytes(data)
    _load_cleanly(path)


manifest = st.dictionaries(
    st.sampled_from(["format", "format_version", "version", "topics", "settings", "arrays", "sha256", "meta"])
    | short_text,
    json_value,
    max_size=6,
)


@given(
    members=st.dictionaries(
        st.sampled_from(["manifest.json", "meta.json", "model.json", "coef.npy", "idf.npy", "vocabulary.npy"])
        | st.text(alphabet="abcdefghij./_", min_size=1, max_size=12),
        st.one_of(st.binary(max_size=200), manifest.map(lambda m: json.dumps(m).encode())),
        max_size=5,
    )
)
def test_load_model_on_random_zip_archives_fails_cleanly(scratch: Path, members: dict[str, bytes]) -> None:
    # Random archives with manifest-like JSON: the shape a data-only model format takes.
    path = scratch / "random.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    _load_cleanly(path)


@given(
    cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=3)
)
def test_load_model_on_damaged_model_files_fails_cleanly(
    scratch: Path, tiny_model_path: Path, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(tiny_model_path.read_bytes())
    for where, mask in flips:
        data[int(where * (len(data) - 1))] ^= mask
    assume(flips or cut < 1.0)
    path = scratch / "damaged.model"
    path.write_bytes(bytes(data[: max(1, int(cut * len(data)))]) if cut < 1.0 else bytes(data))
    _load_cleanly(path)
