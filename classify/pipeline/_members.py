"""A model file's array members, read as the manifest declares them and no further.

Each member is checked against its manifest entry before it is inflated (type, shape, size in the
zip's directory, the sizes the steps imply), then streamed through its checksum into an array set
aside for the declared shape: a zip bomb, a header claiming a trillion elements or a member larger
than declared costs nothing to refuse.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO, Any

import numpy as np

from classify.errors import ModelError

#: The most all arrays together may take unpacked (also bounded by this machine's memory).
MAX_ARRAY_BYTES = 8 * 2**30

#: The longest ``.npy`` header a member may have besides its data (numpy writes 128 bytes or so).
MAX_NPY_HEADER = 4096
#: Kinds of numpy types a model array may have: booleans, integers, floats; never Python objects.
_ARRAY_KINDS = "biuf"
_CHUNK = 1 << 20


class Mismatch(Exception):
    """An array member is not what its manifest entry declares."""


class HashingReader:
    """A member's bytes, each one hashed once as it is read, and never more of them than ``limit``."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self.raw, self.left, self.sha = raw, limit, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.raw.read(n)
        self.left -= len(data)
        self.sha.update(data)
        return data


def declared(source: Path, key: str, spec: Any) -> tuple[np.dtype[Any], tuple[int, ...]]:
    """An array's type and shape as the manifest declares them: plain numbers, at most 2-D."""
    try:
        dtype = np.dtype(spec["dtype"])
        shape = tuple(spec["shape"])
        ok = (
            isinstance(spec["dtype"], str)
            and isinstance(spec["sha256"], str)
            and dtype.kind in _ARRAY_KINDS
            and dtype.itemsize <= 8
            and 1 <= len(shape) <= 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ModelError(f"{source}: damaged model file: array {key} has an unusable type or shape")
    return dtype, shape


def nbytes(dtype: np.dtype[Any], shape: tuple[int, ...]) -> int:
    count = 1
    for n in shape:
        count *= n
    return count * dtype.itemsize


#: The most UTF-8 bytes one vocabulary term may take: a token or word n-gram of a headline cut at
#: 1,000 characters, four bytes each at most.
MAX_TERM_BYTES = 4 * 1000


def check_shapes(source: Path, steps: list[Any], shapes: dict[str, tuple[int, ...]]) -> None:
    """The sizes the steps' own numbers imply, before any array is read: one idf weight per feature,
    one row of weights per topic and one column per feature, vocabularies of so many terms of a
    bounded length, at most one word n-gram per word column (an array declared larger is refused)."""
    try:
        state = {step["name"]: step["state"] for step in steps if isinstance(step, dict)}
        n_features = shapes["features/idf"][0]
        topics = len(state["clf"]["classes"])
        agree = shapes["clf/coef"] == (topics, n_features) and shapes["clf/intercept"] == (topics,)
        if "features/word_terms_lengths" in shapes:
            agree = agree and _vocabulary_agrees(state["features"], shapes, n_features)
    except (KeyError, TypeError, ValueError, IndexError):
        agree = False
    if not agree:
        raise ModelError(f"{source}: damaged model file: the arrays' declared sizes do not agree")


def _vocabulary_agrees(state: dict[str, Any], shapes: dict[str, tuple[int, ...]], n_features: int) -> bool:
    from classify.pipeline.settings import MAX_NGRAM

    n_word = int(state["n_word_features"])
    counts = {
        "word_terms": n_word,
        "char_terms": n_features - n_word,
        "ngram_words": shapes["features/ngram_words_lengths"][0],
    }
    if int(state["n_features"]) != n_features or not 0 <= n_word <= n_features:
        return False
    if counts["ngram_words"] > MAX_NGRAM * n_word:
        return False
    for name, count in counts.items():
        if shapes[f"features/{name}_lengths"] != (count,):
            return False
        if shapes[f"features/{name}_utf8"][0] > MAX_TERM_BYTES * count:
            return False
    ngram_tables = [
        k for k in shapes if k.startswith("features/ngram") and not k.startswith("features/ngram_words")
    ]
    return all(len(shapes[k]) == 1 and shapes[k][0] <= n_word for k in ngram_tables)


def memory_budget() -> int:
    """Bytes the arrays may take: this machine's memory, or the process' address-space limit."""
    import resource

    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        budget = MAX_ARRAY_BYTES
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return min(budget, soft) if soft > 0 else budget


def read_npy(stream: HashingReader, dtype: np.dtype[Any], shape: tuple[int, ...], sha256: str) -> np.ndarray:
    """One ``.npy`` member, streamed: its header must declare the manifest's type and shape before
    any memory is set aside for the data, and the bytes read must hash to the manifest's checksum."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(stream)  # type: ignore[no-untyped-call]
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        header_shape, fortran, header_dtype = reader(stream)  # type: ignore[operator]
    except ValueError as exc:
        raise Mismatch(f"({exc})") from None
    if header_dtype != dtype or tuple(header_shape) != shape:
        raise Mismatch("has another type or shape")
    flat = np.empty(nbytes(dtype, shape) // dtype.itemsize, dtype=dtype)
    view = memoryview(flat.view(np.uint8).data)
    done = 0
    while done < len(view):
        chunk = stream.read(min(_CHUNK, len(view) - done))
        if not chunk:
            raise Mismatch("is cut short")
        view[done : done + len(chunk)] = chunk
        done += len(chunk)
    if stream.left or stream.raw.read(1) or stream.sha.hexdigest() != sha256:
        raise Mismatch("does not match its checksum")
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
