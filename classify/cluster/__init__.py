"""Dask: partitioned prediction on a cluster, and cross-validation folds and tuning fits run on it
(needs the dask extra).

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "require_dask": "jobs",
    "predict_partitions": "jobs",
    "run_cross_validation": "jobs",
    "joblib_on_dask": "jobs",
}

if TYPE_CHECKING:
    from classify.cluster.jobs import joblib_on_dask, predict_partitions, require_dask, run_cross_validation

__all__ = ["joblib_on_dask", "predict_partitions", "require_dask", "run_cross_validation"]

__getattr__ = exports(__name__, _EXPORTS)
