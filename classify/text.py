"""Text normalisation shared by every reader of headlines."""

from __future__ import annotations

import unicodedata


def collapse(text: str) -> str:
    """Collapse runs of white space, so copies of a headline from different sources look alike."""
    return " ".join(text.split())


def preprocess(text: str) -> str:
    """Lowercase and strip accents exactly as ``TfidfVectorizer(strip_accents="unicode")`` does.

    Every featurizer and the near-duplicate grouping see headlines through it. The ASCII test comes
    first because it is nearly free and most headlines pass it, which skips the costly NFKD
    normalisation.
    """
    text = text.lower()
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    return "".join([c for c in normalized if not unicodedata.combining(c)])
