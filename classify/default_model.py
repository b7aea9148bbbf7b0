"""The default model: trained on the shipped corpus on first use, cached, and rebuilt when stale.

A user who installs ``classify`` gets useful topics at once, without labelled data of their own. The
model is not shipped (it would go stale with every scikit-learn release); it is built from
``data/headlines.csv`` the first time it is needed, in a few seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from classify.errors import ModelError
from classify.model import Model, load_model, save_model, versions
from classify.paths import MODELS_DIR, is_source_checkout, packaged_data, user_cache_dir

CORPUS_NAME = "headlines.csv"
MODEL_NAME = "default.joblib"


def corpus_path() -> Path:
    """The shipped labelled corpus that the default model learns from."""
    return packaged_data(CORPUS_NAME)


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
        return "the corpus changed"
    if model.meta.get("versions", {}).get("classify") != versions()["classify"]:
        return "classify was upgraded"
    return None


def build_default_model(path: Path | None = None) -> tuple[Model, Path, float]:
    """Train the default model on the shipped corpus and save it; returns model, path, seconds."""
    from classify.data import file_sha256, load_labelled
    from classify.train import train

    corpus = corpus_path()
    result = train(load_labelled(corpus))
    model = Model(
        pipeline=result.model.pipeline,
        meta={**result.model.meta, "corpus_sha256": file_sha256(corpus), "default": True},
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
    from classify.data import file_sha256

    path = default_model_path()
    corpus_sha = file_sha256(corpus_path())
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
