"""Training: a labelled file or rows in, a fitted model out, in memory, by streaming, by
self-training on a pool, and the default model built from the shipped corpus.

The public names are re-exported here and imported on first use, so that importing the subpackage
imports nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classify.lazy import exports

#: Public name -> the module of this subpackage that defines it.
_EXPORTS = {
    "TrainedFile": "files",
    "train_file": "files",
    "wants_stream": "files",
    "default_output": "files",
    "TrainResult": "memory",
    "train": "memory",
    "StreamSettings": "stream",
    "StreamResult": "stream",
    "train_stream": "stream",
    "should_stream": "stream",
    "SelfTrainResult": "selftrain",
    "self_train": "selftrain",
    "read_pool": "selftrain",
    "load_default_model": "default_model",
    "build_default_model": "default_model",
    "default_model_path": "default_model",
}

if TYPE_CHECKING:
    from classify.training.default_model import build_default_model, default_model_path, load_default_model
    from classify.training.files import TrainedFile, default_output, train_file, wants_stream
    from classify.training.memory import TrainResult, train
    from classify.training.selftrain import SelfTrainResult, read_pool, self_train
    from classify.training.stream import StreamResult, StreamSettings, should_stream, train_stream

__all__ = [
    "SelfTrainResult",
    "StreamResult",
    "StreamSettings",
    "TrainResult",
    "TrainedFile",
    "build_default_model",
    "default_model_path",
    "default_output",
    "load_default_model",
    "read_pool",
    "self_train",
    "should_stream",
    "train",
    "train_file",
    "train_stream",
    "wants_stream",
]

__getattr__ = exports(__name__, _EXPORTS)
