"""Where things live: the package, the source checkout's data and models, the user's cache.

One place for paths, so that the CLI, the library and the benchmarks agree on them.
"""

from __future__ import annotations

import os
from pathlib import Path

from classify.errors import ModelError

PACKAGE_DIR = Path(__file__).resolve().parent
#: The source checkout this package sits in (meaningful only when :func:`is_source_checkout`).
PROJECT_ROOT = PACKAGE_DIR.parent
DATA_DIR = PROJECT_ROOT / "data"
MODELS_DIR = PROJECT_ROOT / "models"


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


def packaged_data(name: str) -> Path:
    """Path of a file shipped in ``data/``: the installed package's copy, else the source checkout's."""
    for folder in (PACKAGE_DIR / "_data", DATA_DIR):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise ModelError(f"data file '{name}' is missing from this installation; reinstall classify")


#: The distribution's name on the package index. The import name and the command stay ``classify``;
#: the index's ``classify`` is an unrelated project, so no hint ever names it.
DISTRIBUTION = "classify-headlines"


def install_hint(extra: str) -> str:
    """The command that installs an extra here: from the checkout it runs from, else by its name."""
    if is_source_checkout():
        where = "." if Path.cwd().resolve() == PROJECT_ROOT else str(PROJECT_ROOT)
        return f"pip install '{where}[{extra}]'"
    return f"pip install '{DISTRIBUTION}[{extra}]'"
