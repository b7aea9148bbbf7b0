"""Text normalisation shared by every reader of headlines."""

from __future__ import annotations


def collapse(text: str) -> str:
    """Collapse runs of white space, so copies of a headline from different sources look alike."""
    return " ".join(text.split())
