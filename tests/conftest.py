"""Tiny data written for the tests, and isolation from the user's caches."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

#: Headless Chromium for the page tests, as root on a machine without network access: no sandbox
#: (root), no GPU, and no background connections to Google's services (refused here, slow to time out).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Three topics, eight headlines each: enough for 2-4 folds and a model that separates them.
TINY = {
    "sport": [
        "Ahly beat Zamalek in the Cairo derby",
        "Striker scores twice as United win the cup final",
        "Coach sacked after third straight league defeat",
        "Squash champion reaches the final in Giza",
        "Tennis star withdraws from the open with injury",
        "Handball team qualifies for the world championship",
        "Goalkeeper signs a new contract with the club",
        "Marathon runner breaks the course record",
    ],
    "economy": [
        "Central bank raises interest rates by two points",
        "Inflation slows for the third month in a row",
        "Stock market closes higher on bank shares",
        "Pound weakens against the dollar after the decision",
        "Carmaker reports record quarterly profit",
        "Government sells dollar bonds to foreign investors",
        "Oil prices climb on supply worries",
        "Exports of fruit rise to a new high",
    ],
    "health": [
        "Ministry launches a vaccination campaign against polio",
        "Hospital opens a new cancer treatment unit",
        "Doctors warn of a rise in flu cases this winter",
        "New drug approved for diabetes patients",
        "Study links poor sleep to heart disease",
        "Measles outbreak reported in three villages",
        "Free screening for hepatitis in schools",
        "Clinic shortage leaves patients waiting for months",
    ],
}


def tiny_rows() -> list[tuple[str, str]]:
    return [(text, topic) for topic, texts in TINY.items() for text in texts]


def write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "tiny.csv", ["headline", "topic"], tiny_rows())


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from classify import load_labelled, save_model, train

    folder = tmp_path_factory.mktemp("model")
    data_path = write_csv(folder / "tiny.csv", ["headline", "topic"], tiny_rows())
    return save_model(train(load_labelled(data_path)).model, folder / "tiny.joblib")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never write the default model into the checkout or the user's cache from a test."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("CLASSIFY_CACHE_DIR", str(cache))


def cli_message(error: Exception) -> str:
    """An error's message as the command line shows it: library arguments spelled as its flags."""
    from classify.cli import flag as _flag
    from classify.errors import ClassifyError

    assert isinstance(error, ClassifyError)
    return error.render(_flag)
