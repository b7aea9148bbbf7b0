"""The command-line text of a labelling session: the ``--topics`` list, and the train command it ends with."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def original_training_file(model: Any) -> tuple[Path | None, str | None]:
    """The file a model was trained on, if it is still at hand; else None and why not (a note)."""
    source = str(model.meta.get("source") or "")
    if model.meta.get("default"):
        return None, "the default model's corpus is built in: the new model learns from the answers"
    if not source or "+" in source:
        return None, "the model does not name one training file: the new model learns from the answers"
    path = Path(source)
    if not path.is_file():
        return (
            None,
            f"the model's training file {source} is not at hand: the new model learns from the answers",
        )
    return path, None


def parse_topics(text: str) -> list[str]:
    """``"economy, sport,economy"`` -> ``["economy", "sport"]``; raises ``ValueError`` on fewer than 2."""
    topics = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if len(topics) < 2:
        raise ValueError(f"give at least two comma-separated topics, got {text!r}")
    return topics


def train_command(
    answers: Path, pool: Path, *, text_col: str | None = None, original: Path | None = None
) -> str:
    """The ``classify train`` command to run on a session's answers (``classify label`` prints it).

    It trains on the answers, with ``original`` (the start model's own training file) when it is at
    hand, so that the new model keeps what the old one learnt, and, by self-training
    (:mod:`classify.training.selftrain`), on the rest of the pool the editor labelled from, at
    :data:`classify.training.selftrain.POOL_THRESHOLD`: in simulated labelling that was worth more
    than another few hundred labels (bench/results/active.md).
    """
    import shlex

    from classify.training.selftrain import POOL_THRESHOLD

    parts = ["classify", "train", str(answers), *([str(original)] if original else [])]
    parts += ["--unlabelled", str(pool)]
    if text_col is not None:
        parts += ["--pool-text-col", text_col]
    parts += ["--threshold", f"{POOL_THRESHOLD:g}", "-o", "labelled.model"]
    return shlex.join(parts)
