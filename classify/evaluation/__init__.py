"""Evaluation: leakage-aware splits, cross-validation and scores, tuning, audits, and the text
and report folder that show them.

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "CrossValidation": "evaluate",
    "Evaluation": "evaluate",
    "cross_validate": "evaluate",
    "evaluate_model": "evaluate",
    "train_and_test": "evaluate",
    "DEFAULT_FOLDS": "splits",
    "make_splits": "splits",
    "Groups": "groups",
    "near_duplicate_groups": "groups",
    "DUPLICATE_THRESHOLD": "groups",
    "TuneResult": "tuning",
    "tune": "tuning",
    "parse_budget": "tuning",
    "save_config": "tuning",
    "audit": "auditing",
    "build_report": "report",
    "write_report": "report",
}

if TYPE_CHECKING:
    from classify.evaluation.auditing import audit
    from classify.evaluation.evaluate import (
        CrossValidation,
        Evaluation,
        cross_validate,
        evaluate_model,
        train_and_test,
    )
    from classify.evaluation.groups import DUPLICATE_THRESHOLD, Groups, near_duplicate_groups
    from classify.evaluation.report import build_report, write_report
    from classify.evaluation.splits import DEFAULT_FOLDS, make_splits
    from classify.evaluation.tuning import TuneResult, parse_budget, save_config, tune

__all__ = [
    "DEFAULT_FOLDS",
    "DUPLICATE_THRESHOLD",
    "CrossValidation",
    "Evaluation",
    "Groups",
    "TuneResult",
    "audit",
    "build_report",
    "cross_validate",
    "evaluate_model",
    "make_splits",
    "near_duplicate_groups",
    "parse_budget",
    "save_config",
    "train_and_test",
    "tune",
    "write_report",
]

__getattr__ = exports(__name__, _EXPORTS)
