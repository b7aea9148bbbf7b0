"""The default topic set (names, one-line definitions, IPTC Media Topic codes), read from data.

Kept as data (``data/topics.csv``) rather than code so that the docs, the corpus checks and
``classify topics`` all read the same list.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from classify.paths import packaged_data

TOPICS_NAME = "topics.csv"


@dataclass(frozen=True)
class Topic:
    """One topic of the default set."""

    name: str
    description: str
    iptc: str


def default_topics() -> list[Topic]:
    """The ten default topics, in their documented order."""
    with packaged_data(TOPICS_NAME).open(newline="", encoding="utf-8") as fh:
        return [Topic(row["name"], row["description"], row["iptc"]) for row in csv.DictReader(fh)]
