"""Labelling: the session behind ``classify label`` (answers file, refits), the order of the
questions, and its local web page.

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "LabelSession": "session",
    "DEFAULT_REFIT_EVERY": "session",
    "parse_topics": "session",
    "train_command": "session",
    "labelling_order": "sampling",
    "uncertainty_order": "sampling",
}

if TYPE_CHECKING:
    from classify.labelling.sampling import labelling_order, uncertainty_order
    from classify.labelling.session import DEFAULT_REFIT_EVERY, LabelSession, parse_topics, train_command

__all__ = [
    "DEFAULT_REFIT_EVERY",
    "LabelSession",
    "labelling_order",
    "parse_topics",
    "train_command",
    "uncertainty_order",
]

__getattr__ = exports(__name__, _EXPORTS)
