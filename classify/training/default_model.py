"""The default model: trained on the shipped corpus on first use, cached, and rebuilt when stale.

A user who installs ``classify`` gets useful topics at once, without labelled data of their own. The
model is not shipped (it would go stale with every scikit-learn release); it is built from
``data/headlines.csv`` plus the topic lexicon ``data/lexicon.csv`` (one training row per term, see
:mod:`classify.io.lexicon`) the first time it is needed, in a few seconds, and rebuilt when either file or
the default model's settings change.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import ModelError
from classify.paths import MODELS_DIR, is_source_checkout, packaged_data, user_cache_dir
from classify.pipeline.model import Model, load_model, save_model, versions

if TYPE_CHECKING:
    from classify.io.labelled import LabelledData

CORPUS_NAME = "headlines.csv"
LEXICON_NAME = "lexicon.csv"
MODEL_NAME = "default.joblib"
#: Between the topics of a corpus row that has more than one (the first is the primary topic).
SEPARATOR = "|"

#: Pipeline settings of the default model, overriding those of :class:`classify.pipeline.settings.Settings`
#: (which stay the generic defaults for users' own data): chosen on headlines from outside the corpus
#: (BBC, AG News, HuffPost) after each round of corpus work, for accuracy and calibration together; no
#: word vectors, which made it more overconfident for no clear gain. Figures: data/README.md and
#: bench/results/default_model.md.
DEFAULT_MODEL_PARAMS: dict[str, Any] = {
    "C": 1.0,
    "char_ngrams": (1, 5),
    "char_weight": 1.05,
    "word_vectors": 0.0,
}
#: How many times each lexicon line is repeated as a training row (a sample weight).
LEXICON_WEIGHT = 1


def corpus_path() -> Path:
    """The shipped labelled corpus that the default model learns from."""
    return packaged_data(CORPUS_NAME)


def lexicon_path() -> Path:
    """The shipped topic lexicon (terms and names with their topic), see :mod:`classify.io.lexicon`."""
    return packaged_data(LEXICON_NAME)


def default_training_data(*, lexicon: bool = True) -> LabelledData:
    """The rows the default model learns from: the corpus, then the lexicon's rows unless ``lexicon=False``.

    The lexicon rows come last so that callers can tell them apart by position (the benchmark's
    cross-validation adds them to every training fold and never tests on them).
    """
    from classify.io.labelled import LabelledData, load_labelled
    from classify.io.lexicon import lexicon_rows, read_lexicon

    # A topic cell may name a second topic (``economy|diplomacy``, data/README.md): read as both.
    corpus = load_labelled(corpus_path(), label_sep=SEPARATOR)
    if not lexicon:
        return corpus
    extra_texts, extra_labels = lexicon_rows(
        read_lexicon(lexicon_path(), set(corpus.counts())), LEXICON_WEIGHT
    )
    # A corpus row with a second topic (``economy|diplomacy``, by the datasheet's rules) makes the
    # default model multi-label: it learns both topics and gives ``labels``; ``labels`` here keep
    # each row's first topic, which single-label scores use.
    label_sets = None
    if corpus.label_sets is not None:
        label_sets = (*corpus.label_sets, *((label,) for label in extra_labels))
    return LabelledData(
        texts=[*corpus.texts, *extra_texts],
        labels=[*corpus.labels, *extra_labels],
        source=f"{corpus.source} + {LEXICON_NAME}",
        text_col=corpus.text_col,
        label_col=corpus.label_col,
        label_sets=label_sets,
    )


def data_sha256() -> str:
    """Fingerprint of everything the default model is built from: corpus, lexicon, settings, vectors."""
    import hashlib

    from classify.io.labelled import file_sha256
    from classify.pipeline.model import as_settings

    # The settings in full (a change to the generic defaults changes the model too) and the word
    # vectors it is trained with.
    settings = as_settings(DEFAULT_MODEL_PARAMS)
    parts = [
        file_sha256(corpus_path()),
        file_sha256(lexicon_path()),
        settings.key(),
    ]
    if settings.word_vectors:
        from classify.pipeline.embeddings import TABLE

        parts.append(file_sha256(TABLE))
    parts.append(str(LEXICON_WEIGHT))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def default_model_path() -> Path:
    """Where the default model is cached: ``models/`` in a source checkout, else a user cache folder."""
    if is_source_checkout() and not os.environ.get("CLASSIFY_CACHE_DIR"):
        try:
            MODELS_DIR.mkdir(exist_ok=True)
        except OSError:
            pass  # a read-only checkout: fall back to the user cache
        else:
            if os.access(MODELS_DIR, os.W_OK):
                return MODELS_DIR / MODEL_NAME
    return user_cache_dir() / MODEL_NAME


def stale_reason(model: Model, corpus_sha256: str) -> str | None:
    """Why a cached default model must be rebuilt, or ``None`` if it is current."""
    if model.meta.get("corpus_sha256") != corpus_sha256:
        return "the corpus, lexicon or settings changed"
    if model.meta.get("versions", {}).get("classify") != versions()["classify"]:
        return "classify was upgraded"
    if "reference" not in model.meta:
        return "it lacks the reference statistics that monitoring needs"
    return None


def build_default_model(path: Path | None = None) -> tuple[Model, Path, float]:
    """Train the default model on the shipped corpus and lexicon and save it; returns model, path, seconds."""
    from classify.training.memory import train

    data = default_training_data()
    result = train(data, params=DEFAULT_MODEL_PARAMS)
    # The training counts include the lexicon rows; record how many, so that provenance can tell.
    lexicon_rows = len(data) - len(default_training_data(lexicon=False))
    model = Model(
        pipeline=result.model.pipeline,
        meta={
            **result.model.meta,
            "corpus_sha256": data_sha256(),
            "lexicon_rows": lexicon_rows,
            "default": True,
        },
    )
    target = path or default_model_path()
    save_model(model, target)
    return model, target, result.seconds


def load_default_model(on_build: Callable[[str], None] | None = None) -> Model:
    """Load the cached default model, building it first if it is missing or stale.

    Parameters
    ----------
    on_build
        Called with a one-line message before a (re)build, so the CLI can tell the user why the
        first run takes a few seconds.
    """
    path = default_model_path()
    corpus_sha = data_sha256()
    reason = "no default model yet"
    if path.exists():
        try:
            model = load_model(path)
        except ModelError:
            reason = "the cached default model is unreadable"
        else:
            reason = stale_reason(model, corpus_sha) or ""
            if not reason:
                return model
    if on_build:
        on_build(f"building the default model ({reason}); this takes a few seconds, once: {path}")
    model, _, _ = build_default_model(path)
    return model
