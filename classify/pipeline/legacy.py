"""Old module names, present only while an old pickle is read.

A pickle names each class by module and name (``classify.features.HeadlineVectorizer``), and the
modules of classify 0.1 and of the flat layout before 0.2 no longer exist. :func:`old_module_names`
puts those names in ``sys.modules`` for the time of one load, each resolving to today's module, and
takes them out afterwards, so that nowhere else does ``import classify.features`` work by accident.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Module names that old pickles may hold -> the module that holds those classes today.
MODULES = {
    "classify._ngrams": "classify.pipeline._ngrams",
    "classify.embeddings": "classify.pipeline.embeddings",
    "classify.features": "classify.pipeline.features",
    "classify.hashing": "classify.pipeline.hashing",
    "classify.linear": "classify.pipeline.linear",
    "classify.model": "classify.pipeline.model",
    "classify.modelfile": "classify.pipeline.modelfile",
    "classify.runtime": "classify.pipeline.runtime",
    "classify.settings": "classify.pipeline.settings",
    "classify.stacking": "classify.pipeline.stacking",
    "classify.wordpiece": "classify.pipeline.wordpiece",
}

#: Names that moved to another module besides: (old module, name) -> today's module. The scikit-learn
#: estimator of the hashed features was first defined in ``hashing``.
MOVED = {
    ("classify.hashing", "HashedHeadlineVectorizer"): "classify.pipeline.features",
}

#: One load at a time: the aliases are process-wide, and a second load must not see them removed.
_LOCK = threading.RLock()


class _OldModule(types.ModuleType):
    """An old module name whose attributes are today's (imported on first use)."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"Alias of {target} while an old pickle is read.")
        self._target = target

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        module = MOVED.get((self.__name__, attr), self._target)
        return getattr(importlib.import_module(module), attr)


@contextmanager
def old_module_names() -> Iterator[None]:
    """Register the module names of old pickles in ``sys.modules`` while the block runs.

    Names that are already in ``sys.modules`` are left as they are (and as they were afterwards).
    """
    with _LOCK:
        added = [old for old in MODULES if old not in sys.modules]
        for old in added:
            sys.modules[old] = _OldModule(old, MODULES[old])
        try:
            yield
        finally:
            for old in added:
                if isinstance(sys.modules.get(old), _OldModule):
                    del sys.modules[old]
                parent, _, child = old.rpartition(".")
                package = sys.modules.get(parent)
                if isinstance(getattr(package, child, None), _OldModule):
                    delattr(package, child)
