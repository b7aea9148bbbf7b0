"""Tuning: search the pipeline's settings by grouped cross-validated macro-F1, within a time budget.

The search is successive halving (Jamieson & Talwalkar 2016; scikit-learn's ``HalvingRandomSearchCV``)
over the keys of :class:`classify.pipeline.settings.Settings`, in rounds: round 1 samples ``factor ** (rungs
- 1)`` random settings (the defaults always among them), scores each on every fold with a small
stratified share of the fold's training rows, keeps the best third, triples the training rows, and so
on until the survivors train on all of them; round 2 does the same with twice as many new settings,
and so on until the budget is spent. What is searched (:class:`PipelineEstimator`,
:func:`search_space`) is in :mod:`classify.evaluation.estimator`.

Why not ``HalvingRandomSearchCV`` itself:

* it cannot stop at a time limit: one call runs all its rungs, and one fit can take half a minute.
  Here the clock is read before every single fit, and a fit that is expected (from the fits already
  timed) to end past the budget is not started;
* it subsamples the test folds as well as the training folds, so early rungs are scored on a few dozen
  rows. Here every score is on the whole test fold: only the training rows shrink, and a score at a
  low rung answers an honest question ("how good with fewer training rows").

The folds are those of ``classify evaluate`` (:func:`classify.evaluation.splits.make_splits`: near-duplicate
headlines kept in one fold, the same seed), so a tuned score can be set against an evaluation.
The score of one fold is scikit-learn's ``f1_macro``; a setting's score is its mean over the folds.
``classify evaluate`` pools the out-of-fold predictions before scoring, which gives a slightly
different figure for the same setting.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import BudgetError
from classify.evaluation.estimator import PipelineEstimator
from classify.evaluation.estimator import search_space as search_space
from classify.evaluation.splits import DEFAULT_FOLDS, RANDOM_STATE, make_splits
from classify.io.labelled import LabelledData
from classify.pipeline.settings import CONFIG_FORMAT, DEFAULT_SETTINGS, Settings, save_settings_file
from classify.progress import report

if TYPE_CHECKING:
    import numpy as np

    from classify.evaluation.splits import Splits

#: Each rung trains on this many times the rows of the one before, and keeps 1/FACTOR of the settings.
FACTOR = 3
#: At most this many rungs: the smallest trains on 1/9 of the rows, enough to rank settings roughly; a
#: fourth rung was hardly faster (fits converge slowly whatever the size) and starved the top rung.
MAX_RUNGS = 3
_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_budget(text: str) -> float:
    """Seconds in a budget such as ``30s``, ``10m``, ``1h``, ``1.5h`` or ``90`` (seconds).

    Raises
    ------
    ValueError
        Naming the text, if it is not a positive number with an optional ``s``, ``m`` or ``h``.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*", text.lower())
    if not match:
        raise ValueError(f"cannot read budget {text!r}: give a number with s, m or h (30s, 10m, 1h)")
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"budget {text!r} is zero: give a positive time such as 30s, 10m or 1h")
    return seconds


@dataclass(frozen=True)
class Trial:
    """One setting scored on every fold with ``train_rows`` training rows per fold.

    Attributes
    ----------
    params
        A full set of pipeline settings (:meth:`Settings.as_params`).
    train_rows
        Training rows per fold (the resource of successive halving); the full folds' size at the top.
    scores
        Macro-F1 of each fold, in fold order.
    seconds
        Time spent fitting and scoring on all folds.
    round, rung
        Where in the search it was scored (1-based round, 0-based rung).
    """

    params: dict[str, Any]
    train_rows: int
    scores: tuple[float, ...]
    seconds: float
    round: int
    rung: int

    @property
    def mean(self) -> float:
        """Mean macro-F1 over the folds."""
        return sum(self.scores) / len(self.scores)

    @property
    def std(self) -> float:
        """Standard deviation of macro-F1 over the folds (population, as scikit-learn reports it)."""
        m = self.mean
        return math.sqrt(sum((s - m) ** 2 for s in self.scores) / len(self.scores))

    @property
    def settings(self) -> Settings:
        """The trial's settings."""
        return Settings.from_mapping(self.params)

    @property
    def is_default(self) -> bool:
        """Whether these are the default settings."""
        return self.settings == DEFAULT_SETTINGS


@dataclass(frozen=True)
class TuneResult:
    """What a search found.

    Attributes
    ----------
    leaderboard
        Each setting's trial at the most training rows it reached, best first: ranked by training
        rows, then mean macro-F1 (a score on fewer rows is not comparable with one on all of them).
    full_rows
        Training rows per fold at the top rung (mean over folds, rounded).
    folds, split
        How the rows were split (``grouped k-fold`` normally).
    candidates
        Settings scored (on all folds, at one rung at least), in all rounds.
    rounds
        Rounds started.
    seconds, budget
        Time taken and allowed.
    stopped
        True if the budget stopped the search in the middle of a round.
    data_hash, source
        The data tuned on (:meth:`classify.io.labelled.LabelledData.fingerprint`).
    trials
        Every trial in the order run, lower rungs included (to compare settings at equal rows).
    """

    leaderboard: list[Trial]
    full_rows: int
    folds: int
    split: str
    candidates: int
    rounds: int
    seconds: float
    budget: float
    stopped: bool
    data_hash: str
    source: str
    trials: list[Trial] = field(default_factory=list)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))

    @property
    def best(self) -> Trial:
        """The winning trial (the defaults, if nothing else was scored as far)."""
        return self.leaderboard[0]

    @property
    def default(self) -> Trial | None:
        """The defaults' trial, if they were scored."""
        return next((t for t in self.leaderboard if t.is_default), None)

    def to_config(self) -> dict[str, Any]:
        """The JSON-ready settings file that ``classify train --config`` reads."""
        best = self.best
        return {
            "format": CONFIG_FORMAT,
            "params": best.settings.to_dict(),
            "macro_f1": round(best.mean, 4),
            "macro_f1_std": round(best.std, 4),
            "train_rows": best.train_rows,
            "folds": self.folds,
            "grouped": self.split.startswith("grouped"),
            "split": self.split,
            "data_hash": self.data_hash,
            "source": self.source,
            "created": self.created,
            "seconds": round(self.seconds, 1),
            "candidates": self.candidates,
        }


class _OutOfTime(Exception):
    """Raised inside the search when the next fit would end past the deadline."""


def _key(params: Mapping[str, Any]) -> str:
    return Settings.from_mapping(params).key()


def _rungs(full_rows: int, min_rows: int) -> list[int]:
    """Training rows per fold at each rung, smallest first, ending with all of them."""
    rungs = [full_rows]
    while len(rungs) < MAX_RUNGS and rungs[0] // FACTOR >= min_rows:
        rungs.insert(0, rungs[0] // FACTOR)
    return rungs


def _subsample(train_idx: np.ndarray, labels: np.ndarray, rows: int, seed: int) -> np.ndarray:
    """``rows`` of a fold's training rows, stratified, at least 3 (or all) of each topic.

    Keeping every topic (with enough rows for the SVM's 3-fold calibration) means a small rung scores
    the same kind of model as the top rung, only with less data.
    """
    import numpy as np

    if rows >= len(train_idx):
        return train_idx
    rng = np.random.default_rng(seed)
    fraction = rows / len(train_idx)
    chosen = []
    for topic in sorted(set(labels[train_idx].tolist())):
        members = train_idx[labels[train_idx] == topic]
        take = min(len(members), max(3, round(len(members) * fraction)))
        chosen.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(chosen))


def tune(
    data: LabelledData,
    *,
    budget: float,
    folds: int = DEFAULT_FOLDS,
    splits: Splits | None = None,
    space: Mapping[str, Any] | None = None,
    random_state: int = RANDOM_STATE,
    n_jobs: int = 1,
    max_rounds: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> TuneResult:
    """Search pipeline settings by grouped cross-validated macro-F1 for about ``budget`` seconds.

    Parameters
    ----------
    data
        Labelled headlines.
    budget
        Seconds allowed (see :func:`parse_budget`). Splitting the data comes out of it too; a fit
        that the fits timed so far say would end past it is not started, so the search ends at or a
        little before the budget (a first fit of a kind has no estimate and may overrun by itself).
    folds
        Cross-validation folds, as in ``classify evaluate``.
    splits
        Precomputed splits (default: :func:`classify.evaluation.splits.make_splits` with ``folds``).
    space
        Distributions to sample (default :func:`search_space`); keys must be fields of
        :class:`~classify.pipeline.settings.Settings`.
    random_state
        Seed of the settings sampled and of the training-row subsamples.
    n_jobs
        Folds fitted at once (joblib processes; -1: one per CPU). The scores do not depend on it.
    max_rounds
        Stop after this many rounds even if time is left (default: only the budget stops the search).
    on_progress
        Called with a line of text as each rung starts (the CLI shows these on stderr).

    Returns
    -------
    TuneResult
        The leaderboard; the defaults are always scored first and kept to the top rung, as the
        baseline the winner has to beat.

    Raises
    ------
    DataError
        Too few rows or topics for the folds.
    BudgetError
        The budget ran out before any setting was scored on every fold.
    ValueError
        A budget that is not positive, or ``space`` keys that are not pipeline settings.
    """
    import numpy as np
    from sklearn.model_selection import ParameterSampler

    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    space = dict(space or search_space())
    unknown = set(space) - set(Settings.names())
    if unknown:
        raise ValueError(f"unknown pipeline setting(s) in the search space: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    deadline = started + budget
    say = on_progress or (lambda _line: None)
    if splits is None:
        splits = make_splits(data, folds=folds)
    texts = np.asarray(data.texts, dtype=object)
    labels = np.asarray(data.labels, dtype=object)
    n_topics = len(set(data.labels))
    full_rows = round(sum(len(tr) for tr, _ in splits.pairs) / len(splits.pairs))
    rungs = _rungs(full_rows, min_rows=max(2 * len(splits.pairs) * n_topics, 30))
    # Per classifier: (training rows, seconds) of the slowest fold fit so far, to predict the next.
    timings: dict[str, tuple[int, float]] = {}
    best_at: dict[str, Trial] = {}  # each setting's trial at the most rows it reached
    history: list[Trial] = []
    sampler = iter(ParameterSampler(space, n_iter=10**6, random_state=random_state))
    seen = {DEFAULT_SETTINGS.key()}
    rounds = 0
    stopped = False
    workers = max(1, min(len(splits.pairs), n_jobs if n_jobs > 0 else (os.cpu_count() or 1)))
    parallel = None
    if workers > 1:
        from joblib import Parallel

        parallel = Parallel(n_jobs=workers)

    def estimate(classifier: str, rows: int) -> float:
        if classifier not in timings:
            return 0.0
        known_rows, seconds = timings[classifier]
        return seconds * rows / known_rows

    def run(params: dict[str, Any], rows: int, round_: int, rung: int) -> Trial:
        key = _key(params)
        done = best_at.get(key)
        if done is not None and done.train_rows == rows:
            return done
        began = time.perf_counter()
        scores: list[float] = []
        tasks = []
        for number, (train_idx, test_idx) in enumerate(splits.pairs):
            part = _subsample(train_idx, labels, rows, seed=random_state + number)
            tasks.append((params, texts[part], labels[part], texts[test_idx], labels[test_idx]))
        # Folds go in batches of n_jobs; before each batch, the clock and the slowest fit of this
        # kind so far decide whether it can finish in time.
        for start in range(0, len(tasks), workers):
            if time.perf_counter() + estimate(params["classifier"], rows) > deadline:
                raise _OutOfTime
            batch = tasks[start : start + workers]
            if parallel is None:
                done_batch = [_fit_and_score(*task) for task in batch]
            else:
                from joblib import delayed

                done_batch = parallel(delayed(_fit_and_score)(*task) for task in batch)
            for fold_score, seconds in done_batch:
                slowest = timings.get(params["classifier"])
                if slowest is None or rows > slowest[0] or (rows == slowest[0] and seconds > slowest[1]):
                    timings[params["classifier"]] = (rows, seconds)
                scores.append(fold_score)
        trial = Trial(
            params=params,
            train_rows=rows,
            scores=tuple(scores),
            seconds=time.perf_counter() - began,
            round=round_,
            rung=rung,
        )
        best_at[key] = trial
        history.append(trial)
        return trial

    try:
        while True:
            rounds += 1
            count = FACTOR ** (len(rungs) - 1) * 2 ** (rounds - 1)
            pool: list[dict[str, Any]] = [DEFAULT_SETTINGS.as_params()] if rounds == 1 else []
            while len(pool) < count:
                params = Settings.from_mapping(next(sampler)).tidy().as_params()
                if _key(params) not in seen:
                    seen.add(_key(params))
                    pool.append(params)
            for rung, rows in enumerate(rungs):
                say(
                    f"round {rounds}, rung {rung + 1}/{len(rungs)}: {len(pool)} setting(s) on {rows} "
                    f"training rows per fold ({time.perf_counter() - started:.0f}s of {budget:.0f}s)"
                )
                trials = []
                for number, p in enumerate(pool):
                    spent = time.perf_counter() - started
                    report(
                        f"tuning: round {rounds}, rung {rung + 1}/{len(rungs)}, setting {number + 1} "
                        f"of {len(pool)}",
                        int(spent),
                        int(budget),
                    )
                    trials.append(run(p, rows, rounds, rung))
                if rung == len(rungs) - 1:
                    break
                trials.sort(key=lambda t: -t.mean)
                keep = max(1, len(trials) // FACTOR)
                pool = [t.params for t in trials[:keep]]
                if rounds == 1 and not any(_key(p) == DEFAULT_SETTINGS.key() for p in pool):
                    pool.append(DEFAULT_SETTINGS.as_params())  # the baseline always reaches the top rung
            if time.perf_counter() >= deadline or (max_rounds is not None and rounds >= max_rounds):
                break
    except _OutOfTime:
        stopped = True
    if not best_at:
        spent = time.perf_counter() - started
        raise BudgetError(
            f"{data.source}: the budget of {budget:g}s ran out before a single setting was scored "
            f"({spent:.1f}s spent, splitting included); give a larger {{budget}}",
            arguments=("budget",),
        )
    board = sorted(best_at.values(), key=lambda t: (-t.train_rows, -t.mean, t.seconds))
    return TuneResult(
        leaderboard=board,
        full_rows=full_rows,
        folds=len(splits.pairs),
        split=splits.split,
        candidates=len(best_at),
        rounds=rounds,
        seconds=time.perf_counter() - started,
        budget=budget,
        stopped=stopped,
        data_hash=data.fingerprint(),
        source=data.source,
        trials=history,
    )


def _fit_and_score(
    params: dict[str, Any], train_x: Any, train_y: Any, test_x: Any, test_y: Any
) -> tuple[float, float]:
    """Fit one setting on one fold's training rows; its macro-F1 on the test rows, and the seconds.

    A module-level function so that joblib can send it to worker processes.
    """
    from sklearn.metrics import f1_score

    began = time.perf_counter()
    model = PipelineEstimator(**params).fit(train_x, train_y)
    predicted = model.predict(test_x)
    seconds = time.perf_counter() - began
    return float(f1_score(test_y, predicted, average="macro", zero_division=0)), seconds


def save_config(result: TuneResult, path: Path) -> Path:
    """Write the best settings (:meth:`TuneResult.to_config`) as JSON, atomically."""
    return save_settings_file(result.to_config(), path)
