"""Self-training: learn from a pool of unlabelled headlines as well as from the labelled data.

The loop (``classify train DATA --unlabelled POOL``):

1. train on DATA;
2. predict every pool headline; those whose top probability is at least ``threshold`` get that topic
   as a *pseudo-label*;
3. train on DATA plus the pseudo-labelled headlines; repeat from 2 for ``rounds`` rounds, or until
   the pseudo-labels stop changing.

Each round re-labels the whole pool with the newest model (unlike scikit-learn's
``SelfTrainingClassifier``, which freezes a pseudo-label once given), so an early mistake can be
corrected later. DATA rows always stay as labelled; a pool headline that is also in DATA is ignored.

Why it helps: the pool's confident headlines carry the site's vocabulary (names, places, phrasing)
into the model, and the words that co-occur with them become features of their topic. It cannot
teach a topic that the labelled data does not define, and when the model is confidently wrong on
the pool (a different topic scheme, another language) it reinforces the mistakes: measure it with
``bench/selftrain.py`` or ``classify evaluate`` before relying on it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classify.errors import DataError
from classify.io.labelled import LabelledData
from classify.pipeline.model import Model

#: Pseudo-label a pool headline when the model gives its topic at least this probability. With the
#: temperature-scaled SVM and the default model (with the static word vectors), 0.9 picked 59% of the
#: AG News and 62% of the BBC headlines, 83% and 89% of them right by the mapped labels, where the
#: model is 72-75% right overall; a lower threshold adds more and noisier labels, and gained as much
#: at 0.8 and less at 0.7 and 0.6 (``python -m bench.selftrain --thresholds 0.6,0.7,0.8,0.9``,
#: bench/results/selftrain.md).
DEFAULT_THRESHOLD = 0.9
#: The threshold ``classify label`` suggests for training on its answers with the rest of the pool as
#: ``--unlabelled``. There the labels come from the pool itself, so the model is in its own domain,
#: and with many topics its best probability is rarely 0.9. In simulated labelling
#: (``python -m bench.active --unlabelled 0.7``, bench/results/active.md, mean of 3 seeds) it raised
#: macro-F1 at 600 labels from 0.703 to 0.756 on AG News (4 topics) and from 0.354 to 0.395 on
#: HuffPost (19). Chosen among 0.6-0.9 on seeds 0, 3 and 4 (a scratch run): 0.9 did as well on AG
#: News, but on HuffPost it added 0.000-0.030 at 600 labels and -0.018 to +0.014 at 1,000 random
#: labels, where 0.7 added 0.013-0.031 and 0.021-0.028. The default, 0.9, stays for the other use (a
#: model trained elsewhere meeting a site's headlines), where 0.7 gained less
#: (bench/results/selftrain.md).
POOL_THRESHOLD = 0.7
#: Rounds of pseudo-labelling: each round adds the headlines the improved model became sure of
#: (AG News: 2,945, 4,041, 4,625); the issue's measurement used three.
DEFAULT_ROUNDS = 3


@dataclass(frozen=True)
class SelfTrainRound:
    """One round: how many pool headlines were pseudo-labelled, per topic, and how many changed."""

    round: int
    added: int
    counts: dict[str, int]
    changed: int


@dataclass(frozen=True)
class SelfTrainResult:
    """A self-trained model, with the fields of :class:`~classify.training.memory.TrainResult` and rounds.

    Attributes
    ----------
    model
        The final model (its ``meta["self_training"]`` records pool, threshold and rounds).
    n_rows, counts, skipped
        Labelled rows used (pseudo-labelled rows not included), as in ``TrainResult``.
    pool
        Distinct pool headlines considered (those not in DATA).
    rounds
        What each round added.
    seconds
        Wall time of the whole loop.
    """

    model: Model
    n_rows: int
    counts: dict[str, int]
    skipped: int
    pool: int
    rounds: tuple[SelfTrainRound, ...]
    seconds: float

    @property
    def pseudo_labelled(self) -> int:
        """Pool headlines in the final model's training data."""
        return self.rounds[-1].added if self.rounds else 0


def self_train(
    data: LabelledData,
    pool: Iterable[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    rounds: int = DEFAULT_ROUNDS,
    params: Mapping[str, Any] | None = None,
    pool_name: str = "<memory>",
    on_round: Callable[[SelfTrainRound], None] | None = None,
) -> SelfTrainResult:
    """Train on ``data``, then add confidently pseudo-labelled ``pool`` headlines for a few rounds.

    Parameters
    ----------
    data
        The labelled headlines.
    pool
        Unlabelled headlines (their order does not matter; repeats count once).
    threshold
        Probability from which a prediction becomes a pseudo-label, in ``(0, 1]``.
    rounds
        Maximum rounds of pseudo-labelling (0 trains on ``data`` alone).
    params
        Pipeline settings, as for :func:`classify.training.memory.train`.
    pool_name
        Where the pool came from, for the model's provenance.
    on_round
        Called after each round (the CLI reports progress with it).

    Raises
    ------
    ValueError
        If ``threshold`` or ``rounds`` is out of range.
    DataError
        If ``data`` cannot be trained on, or the pool holds no headline that is not in ``data``.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if rounds < 0:
        raise ValueError(f"rounds must be 0 or more, got {rounds}")
    started = time.perf_counter()
    known = set(data.texts)
    unlabelled = [t for t in dict.fromkeys(pool) if t and t not in known]
    if not unlabelled:
        raise DataError(f"{pool_name}: no unlabelled headlines (empty, or all already in {data.source})")
    model = _train(data, params)
    history: list[SelfTrainRound] = []
    previous: dict[int, str] = {}
    for n in range(1, rounds + 1):
        pseudo = _pseudo_labels(model, unlabelled, threshold)
        changed = sum(1 for i, t in pseudo.items() if previous.get(i) != t) + sum(
            1 for i in previous if i not in pseudo
        )
        step = SelfTrainRound(
            round=n, added=len(pseudo), counts=dict(Counter(pseudo.values()).most_common()), changed=changed
        )
        if not pseudo or changed == 0:
            # Nothing confident, or the same set as last round: another fit would change nothing.
            if not history:
                history.append(step)
            break
        history.append(step)
        if on_round is not None:
            on_round(step)
        previous = pseudo
        combined = LabelledData(
            texts=[*data.texts, *(unlabelled[i] for i in pseudo)],
            labels=[*data.labels, *pseudo.values()],
            source=data.source,
            text_col=data.text_col,
            label_col=data.label_col,
        )
        model = _train(combined, params)
    info = {
        "pool": pool_name,
        "pool_size": len(unlabelled),
        "threshold": threshold,
        "rounds": [vars(r) for r in history],
        "labelled_rows": len(data),
        "data_hash": data.fingerprint(),
    }
    model = Model(pipeline=model.pipeline, meta={**model.meta, "self_training": info})
    return SelfTrainResult(
        model=model,
        n_rows=len(data),
        counts=data.counts(),
        skipped=data.skipped,
        pool=len(unlabelled),
        rounds=tuple(history),
        seconds=time.perf_counter() - started,
    )


def _pseudo_labels(model: Model, texts: Sequence[str], threshold: float) -> dict[int, str]:
    """Index -> topic for each text the model is at least ``threshold`` sure of."""
    import numpy as np

    topics = model.topics
    proba = model.predict_proba(texts)
    best = proba.argmax(axis=1)
    confident = np.flatnonzero(proba[np.arange(len(texts)), best] >= threshold)
    return {int(i): topics[int(best[i])] for i in confident}


def read_pool(path: Path, *, text_col: str | None = None) -> list[str]:
    """The headlines of an unlabelled file in any input format ``classify predict`` reads.

    ``classify label POOL`` reads its pool with it too, so the ``classify train --unlabelled POOL``
    command it prints sees the same headlines.
    """
    from classify.io.records import iter_records

    return [record.headline for record in iter_records([path], text_col=text_col, split=False)]


# The one place that calls the training library (kept small so it is easy to adapt).
def _train(data: LabelledData, params: Mapping[str, Any] | None) -> Model:
    from classify.training.memory import train

    return train(data, params=params).model
