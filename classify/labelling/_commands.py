"""The command-line text of a labelling session: the ``--topics`` list, and the train command it ends with."""

from __future__ import annotations

from pathlib import Path


def parse_topics(text: str) -> list[str]:
    """``"economy, sport,economy"`` -> ``["economy", "sport"]``; raises ``ValueError`` on fewer than 2."""
    topics = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if len(topics) < 2:
        raise ValueError(f"give at least two comma-separated topics, got {text!r}")
    return topics


def train_command(answers: Path, pool: Path, *, text_col: str | None = None) -> str:
    """The ``classify train`` command to run on a session's answers (``classify label`` prints it).

    It trains on the answers and, by self-training (:mod:`classify.training.selftrain`), on the rest of the
    pool the editor labelled from, at :data:`classify.training.selftrain.POOL_THRESHOLD`: in simulated
    labelling that was worth more than another few hundred labels (bench/results/active.md).
    """
    import shlex

    from classify.training.selftrain import POOL_THRESHOLD

    parts = ["classify", "train", str(answers), "--unlabelled", str(pool)]
    if text_col is not None:
        parts += ["--pool-text-col", text_col]
    parts += ["--threshold", f"{POOL_THRESHOLD:g}", "-o", "model.joblib"]
    return shlex.join(parts)
