"""A union-find forest over integer ids: groups grow by joining pairs, and only connectivity counts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def find(parent: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Roots of ``items`` in the union-find forest ``parent`` (vectorised, with path halving)."""
    import numpy as np

    roots = parent[items]
    while True:
        up = parent[roots]
        if np.array_equal(up, roots):
            return roots
        parent[roots] = parent[up]  # halve the paths walked
        roots = up


def union(parent: np.ndarray, x: int, y: int) -> None:
    """Join the trees of ``x`` and ``y`` (the smaller root becomes the parent)."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    while parent[y] != y:
        parent[y] = parent[parent[y]]
        y = parent[y]
    if x != y:
        parent[max(x, y)] = min(x, y)
