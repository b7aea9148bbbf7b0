"""Lazy re-exports for the subpackages' ``__init__`` files.

A subpackage lists its public names and the module that defines each; a name is imported on first
access, so that ``import classify.evaluation`` (say) costs nothing until something is used. PEP 562's
module ``__getattr__``, written once here instead of in every ``__init__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``names`` maps a public name to its module's name."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
