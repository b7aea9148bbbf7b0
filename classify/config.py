"""Paths and defaults in one place, so the CLI, the library and the benchmarks agree on them."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout this package sits in (meaningful only when ``IS_SOURCE_CHECKOUT``).
PROJECT_ROOT = PACKAGE_DIR.parent
DATA_DIR = PROJECT_ROOT / "data"
MODELS_DIR = PROJECT_ROOT / "models"

#: Column names recognised without ``--text-col`` / ``--label-col``, in order of preference.
TEXT_COLUMNS = ("headline", "title", "text", "sentence", "content")
LABEL_COLUMNS = ("label", "topic", "category", "class", "section")

DEFAULT_FOLDS = 5
RANDOM_STATE = 0


def is_source_checkout() -> bool:
    """True when running from a git checkout (editable install or plain source tree)."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (DATA_DIR / "headlines.csv").is_file()


def user_cache_dir() -> Path:
    """Per-user cache folder for the default model when the package is installed read-only.

    ``CLASSIFY_CACHE_DIR`` overrides it (tests and shared servers use this).
    """
    override = os.environ.get("CLASSIFY_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "classify"
