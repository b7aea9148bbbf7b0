"""BERT's uncased WordPiece tokenizer: a word's pieces in the vocabulary of MiniLM's encoder.

The shipped word vectors (:mod:`classify.pipeline.embeddings`) are one per wordpiece, and a word's vector
is the mean of its pieces', so training needs the pieces of every word of its vocabulary. The
reference implementation is Hugging Face's ``tokenizers`` (``BertNormalizer``, ``BertPreTokenizer``,
``WordPiece``); it is written out here, in about forty lines, because ``tokenizers`` is a compiled
package that brings ``huggingface_hub`` (and requests, tqdm, fsspec, ...) into the core install
for a look-up that runs once per distinct word at training time. A test checks these pieces against
``tokenizers``' on thousands of words (the test extra installs it).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

#: Code-point ranges BERT treats as CJK ideographs (each becomes a word of its own).
_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B920, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
#: Longer pre-tokens are one unknown piece, as in ``tokenizers`` (``max_input_chars_per_word``).
MAX_CHARS = 100


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK)


def _is_punctuation(ch: str) -> bool:
    # ASCII symbols such as $ + < = > ^ ` | count too: BERT splits on all of ASCII punctuation.
    cp = ord(ch)
    return (
        33 <= cp <= 47
        or 58 <= cp <= 64
        or 91 <= cp <= 96
        or 123 <= cp <= 126
        or (unicodedata.category(ch).startswith("P"))
    )


def normalise(text: str) -> str:
    """``BertNormalizer(clean_text, handle_chinese_chars, lowercase)``: accents stripped, lowercased."""
    out = []
    for ch in text:
        if ch in "\t\n\r":
            out.append(" ")
            continue
        if ch in "\x00\ufffd" or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        if ch.isspace():
            out.append(" ")
        elif _is_cjk(ch):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    decomposed = unicodedata.normalize("NFD", "".join(out))
    # Per character, as ``tokenizers`` lowercases (str.lower would make a final sigma of a word's Σ).
    return "".join(ch.lower() for ch in decomposed if unicodedata.category(ch) != "Mn")


def pre_tokens(text: str) -> list[str]:
    """``BertPreTokenizer``: split on white space, each punctuation mark a token of its own."""
    tokens: list[str] = []
    for chunk in text.split():
        start = 0
        for i, ch in enumerate(chunk):
            if _is_punctuation(ch):
                if i > start:
                    tokens.append(chunk[start:i])
                tokens.append(ch)
                start = i + 1
        if start < len(chunk):
            tokens.append(chunk[start:])
    return tokens


class WordPiece:
    """Greedy longest-match-first pieces over a fixed vocabulary (``##`` marks a word's inner pieces)."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.ids = {piece: i for i, piece in enumerate(vocabulary)}

    def _pieces(self, token: str) -> list[int] | None:
        if len(token) > MAX_CHARS:
            return None
        out, start = [], 0
        while start < len(token):
            for end in range(len(token), start, -1):
                piece = token[start:end] if start == 0 else "##" + token[start:end]
                found = self.ids.get(piece)
                if found is not None:
                    out.append(found)
                    start = end
                    break
            else:
                return None  # some part matches no piece: the whole pre-token is unknown
        return out

    def known_pieces(self, text: str) -> list[int]:
        """The ids of ``text``'s pieces, leaving out the pre-tokens that would be ``[UNK]``."""
        ids: list[int] = []
        for token in pre_tokens(normalise(text)):
            ids.extend(self._pieces(token) or ())
        return ids
