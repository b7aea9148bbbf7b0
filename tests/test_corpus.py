"""Checks of the shipped corpus (data/headlines.csv) and topic set (data/topics.csv)."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return read("headlines.csv")


@pytest.fixture(scope="module")
def topics() -> list[str]:
    return [row["name"] for row in read("topics.csv")]


def test_header(rows: list[dict[str, str]]) -> None:
    assert list(rows[0]) == ["headline", "topic"]


def first(cell: str) -> str:
    """The primary topic of a topic cell (``economy|diplomacy`` names a second topic after the first)."""
    return cell.split("|", 1)[0]


def test_second_topics(rows: list[dict[str, str]], topics: list[str]) -> None:
    """A row names one or two topics, both in the topic set, never the same twice."""
    seconds = 0
    for row in rows:
        names = row["topic"].split("|")
        assert 1 <= len(names) <= 2, row["headline"]
        assert all(name in topics for name in names) and len(set(names)) == len(names), row["headline"]
        seconds += len(names) == 2
    assert seconds > 0


def test_size_and_balance(rows: list[dict[str, str]], topics: list[str]) -> None:
    counts = Counter(first(row["topic"]) for row in rows)
    assert len(rows) >= 4000
    assert set(counts) == set(topics)
    assert min(counts.values()) >= 350
    assert max(counts.values()) <= 1.5 * min(counts.values())


def test_no_empty_or_overlong_rows(rows: list[dict[str, str]]) -> None:
    for row in rows:
        words = row["headline"].split()
        assert 3 <= len(words) <= 20, row["headline"]
        assert row["headline"] == row["headline"].strip()


def words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def test_no_exact_or_near_duplicates(rows: list[dict[str, str]]) -> None:
    """No two rows whose word sets share 80% or more of the larger set."""
    sets = [words(row["headline"]) for row in rows]
    index: dict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(sets):
        for w in ws:
            index[w].append(i)
    near = []
    for i, ws in enumerate(sets):
        shared: Counter[int] = Counter()
        for w in ws:
            shared.update(j for j in index[w] if j > i)
        for j, n in shared.items():
            if n / max(len(ws), len(sets[j])) >= 0.8:
                near.append((rows[i]["headline"], rows[j]["headline"]))
    assert near == []


def test_borderline_cases(rows: list[dict[str, str]], topics: list[str]) -> None:
    """At least 15% of each topic are hard cases on a borderline of the topic guide."""
    known = {row["headline"]: first(row["topic"]) for row in rows}
    hard = read("borderline.csv")
    assert list(hard[0]) == ["headline", "topic", "borders"]
    per_topic: Counter[str] = Counter()
    for row in hard:
        assert known.get(row["headline"]) == row["topic"], row["headline"]
        assert row["borders"] in topics and row["borders"] != row["topic"]
        per_topic[row["topic"]] += 1
    counts = Counter(known.values())
    for topic in topics:
        assert per_topic[topic] >= 0.15 * counts[topic], topic


def test_topic_set(topics: list[str]) -> None:
    assert topics == [
        "economy", "diplomacy", "politics", "conflict", "sport",
        "culture", "health", "science", "environment", "society",
    ]  # fmt: skip
    for row in read("topics.csv"):
        assert row["description"] and re.match(r"\d{8} ", row["iptc"])


def test_multilabel_set(topics: list[str]) -> None:
    """data/multilabel.csv: 1,000+ headlines with every topic the datasheet's rules give them."""
    rows = read("multilabel.csv")
    assert list(rows[0]) == ["headline", "topics"]
    assert len(rows) >= 1000
    several = 0
    for row in rows:
        names = row["topics"].split("|")
        assert all(name in topics for name in names) and len(set(names)) == len(names), row["headline"]
        assert 3 <= len(row["headline"].split()) <= 20, row["headline"]
        several += len(names) >= 2
    assert several >= len(rows) / 3
    assert {name for row in rows for name in row["topics"].split("|")} == set(topics)
    corpus = {row["headline"] for row in read("headlines.csv")}
    assert not corpus & {row["headline"] for row in rows}
