"""The README's quick start and "your own CSV in four commands", run as a new user runs them.

Each `$ classify ...` line of the README is run as a real command in a fresh temporary folder as the
current directory, with the default model built into an empty cache (nothing from the checkout's
`models/`); the serve step starts a real server on a free loopback port and asks it what the README's
curl line asks.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

#: Headline parts written for this test: three sections a site might have.
WORDS = {
    "business": (
        ["Bank", "Retailer", "Carmaker", "Airline", "Insurer", "Miner", "Brewer", "Telecom firm"],
        ["profits rise", "shares slide", "cuts jobs", "raises prices", "posts record sales", "plans listing"],
    ),
    "health": (
        ["Hospital", "Clinic", "Health ministry", "Nurses' union", "Vaccine maker", "Cancer charity"],
        [
            "warns of flu surge",
            "opens new ward",
            "trials new drug",
            "cuts waiting lists",
            "treats more patients",
        ],
    ),
    "sport": (
        ["Striker", "Goalkeeper", "Coach", "Captain", "Winger", "Champions"],
        [
            "scores twice in derby",
            "signs new contract",
            "ruled out with injury",
            "wins cup final",
            "sacked after defeat",
        ],
    ),
}


def commands(section: str) -> list[str]:
    """The `$ classify ...` lines of a README section, in order."""
    start = README.index(section)
    end = README.find("\n## ", start + 1)
    text = README[start : end if end != -1 else None]
    return [line[2:].split(" | ")[0] for line in text.splitlines() if line.startswith("$ classify ")]


def site_rows(n: int, offset: int = 0) -> list[tuple[str, str]]:
    rows = []
    for topic, (subjects, verbs) in WORDS.items():
        pairs = list(itertools.product(subjects, verbs))
        for i in range(n):
            subject, verb = pairs[(i + offset) % len(pairs)]
            rows.append((f"{subject} {verb} in week {i + offset + 1}", topic))
    return rows


@pytest.fixture
def newcomer(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh folder as the current directory, the example files in it, an empty model cache."""
    work = tmp_path / "site"
    (work / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "examples" / "ticker.txt", work / "examples" / "ticker.txt")
    for name, rows in (("site.csv", site_rows(100)), ("site-test.csv", site_rows(20, offset=100))):
        with (work / name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([("title", "section"), *rows])
    (work / "fresh.txt").write_text(
        "Central bank holds rates as inflation cools\nStriker signs three-year deal with league leaders\n"
        "Hospital waiting lists fall for the first time in a decade\n",
        encoding="utf-8",
    )
    env = {**os.environ, "CLASSIFY_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "100"}
    return work, env


def classify(argv: list[str], work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``classify ...`` as a user does: the installed command, else ``python -m classify``."""
    script = Path(sys.executable).with_name("classify")
    head = [str(script)] if script.exists() else [sys.executable, "-m", "classify"]
    return subprocess.run(
        head + argv, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_quick_start(newcomer: tuple[Path, dict[str, str]]) -> None:
    work, env = newcomer
    [line] = commands("## Quick start")
    done = classify(shlex.split(line)[1:], work, env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    # The default model learns second topics from its corpus, so its rows have labels too.
    assert lines[0] == "headline,topic,confidence,labels"
    assert len(lines) > 10
    assert not (work / "models").exists()  # the default model went to the cache, not here
    assert any((Path(env["CLASSIFY_CACHE_DIR"])).iterdir())


def test_your_own_csv_in_four_commands(newcomer: tuple[Path, dict[str, str]]) -> None:
    work, env = newcomer
    lines = commands("## Your own CSV in four commands")
    names = [shlex.split(line)[1] for line in lines]
    assert names == ["train", "evaluate", "evaluate", "predict", "serve"], lines
    for line in lines[:-1]:
        done = classify(shlex.split(line)[1:], work, env)
        assert done.returncode == 0, (line, done.stderr)
        if line.startswith("classify train"):
            assert (work / "site.model").is_file()
            assert "topics (3): business 100, health 100, sport 100" in done.stdout
        if line.startswith("classify evaluate"):
            assert re.search(r"accuracy \d\.\d{3}", done.stdout)
        if line.startswith("classify predict"):
            rows = done.stdout.splitlines()
            assert rows[0] == "headline,topic,confidence"
            assert [r.split(",")[1] for r in rows[1:]] == ["business", "sport", "health"]
    serve = shlex.split(lines[-1])[1:]
    _serve_and_ask(serve, work, env)


def _serve_and_ask(argv: list[str], work: Path, env: dict[str, str]) -> None:
    httpx = pytest.importorskip("httpx", reason="the serve step needs httpx (the test extra)")
    pytest.importorskip("uvicorn", reason="the serve step needs the serve extra")
    from tests.serving import Server

    assert argv[0] == "serve"
    server = Server(argv[1:], work, {"CLASSIFY_CACHE_DIR": env["CLASSIFY_CACHE_DIR"]})
    try:
        server.wait_ready()
        body = {"headlines": ["Central bank holds rates as inflation cools"]}
        answer = httpx.post(f"{server.url}/v1/classify", json=body, timeout=30).json()
        assert answer["model"]["topics"] == ["business", "health", "sport"]
        assert answer["results"][0]["topic"] == "business"
    finally:
        server.stop()
