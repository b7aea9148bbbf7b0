"""Model files that are data, not code: a zip of ``.npy`` arrays and a JSON manifest.

A model file holds, for each step of the fitted pipeline, its settings and fitted numbers as JSON and
its fitted arrays as ``.npy`` members, read back with ``numpy.load(allow_pickle=False)``; loading
rebuilds the pipeline from them (each step's ``from_arrays``). So loading a file cannot run code,
whatever the file holds, and it does not depend on scikit-learn's private object layout: a model
loads the same under any scikit-learn version.

The manifest records the SHA-256 of every array and a digest of itself; a flipped byte, a swapped
topic list, a missing or extra array, or a manifest edited by hand is reported in one line. (An
attacker who rewrites the manifest *and* its digest can still change what the model predicts, as with
any unsigned file; they cannot make it run code.)

Why not skops or safetensors: skops' safe loading still unpickles, through an allow-list of types
that the user is asked to trust, and it would store scikit-learn's private attributes, which change
between versions; safetensors holds tensors only, so the vocabularies (strings) and the manifest would
need a second container anyway. A zip of ``.npy`` files and JSON is read by numpy and the standard
library alone.

The format is told by content, not by file name: ``PK`` (a zip) with a ``manifest.json`` whose
``format`` is ``classify-model``. Files of classify 0.1 (a joblib pickle) load only when the caller
allows pickles explicitly.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from classify.errors import ModelError
from classify.pipeline._members import (
    MAX_ARRAY_BYTES,
    MAX_NPY_HEADER,
    HashingReader,
    Mismatch,
    check_shapes,
    declared,
    memory_budget,
    nbytes,
    read_npy,
)

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODEL_FORMAT = "classify-model"
#: 1: classify 0.1's joblib pickle; 2: this zip of arrays and JSON.
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
#: The most a manifest may take unpacked (the arrays' bound: :data:`MAX_ARRAY_BYTES`).
MAX_MANIFEST_BYTES = 16 * 2**20
_ZIP_MAGIC = b"PK\x03\x04"
#: What reading a damaged zip can raise: a bad directory, a bad deflate stream, a cut-off member, an
#: unsupported compression method or an encrypted member.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True)
class StepParts:
    """One pipeline step as a model file holds it: settings, fitted numbers and fitted arrays."""

    name: str
    kind: str
    params: Any
    state: Any
    arrays: dict[str, np.ndarray]


#: Step kinds a model file may hold, and the module of the class that rebuilds each.
KINDS = {
    "HeadlineVectorizer": "classify.pipeline.features",
    "HashedHeadlineVectorizer": "classify.pipeline.features",
    "TopicClassifier": "classify.pipeline.linear",
}


def _step_class(kind: str) -> Any:
    """The scikit-learn estimator class of a step kind (imported on first use)."""
    import importlib

    return getattr(importlib.import_module(KINDS[kind]), kind)


def _kinds() -> dict[str, Any]:
    """The pipeline step classes a model file may hold, by the name the manifest gives them."""
    return {kind: _step_class(kind) for kind in KINDS}


def write(pipeline: Pipeline, meta: dict[str, Any], out: IO[bytes]) -> None:
    """Write a fitted pipeline and its provenance to a binary stream in the model file format.

    Raises
    ------
    ModelError
        A step of the pipeline cannot be stored as arrays (a step kind this format does not know).
    """
    kinds = _kinds()
    steps = []
    arrays: dict[str, np.ndarray] = {}
    for name, step in pipeline.steps:
        kind = type(step).__name__
        if kinds.get(kind) is not type(step):
            raise ModelError(f"pipeline step '{name}' ({kind}) cannot be saved in a classify model file")
        state, step_arrays = step.to_arrays()
        steps.append({"name": name, "kind": kind, "params": _jsonable(step.get_params()), "state": state})
        for key, value in step_arrays.items():
            arrays[f"{name}/{key}"] = np.ascontiguousarray(value)
    blobs = {key: _npy_bytes(value) for key, value in arrays.items()}
    manifest: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "meta": meta,
        "steps": steps,
        "arrays": {
            key: {
                "dtype": arrays[key].dtype.str,
                "shape": list(arrays[key].shape),
                "sha256": hashlib.sha256(blob).hexdigest(),
            }
            for key, blob in blobs.items()
        },
    }
    manifest["digest"] = _digest(manifest)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        for key, blob in blobs.items():
            archive.writestr(f"arrays/{key}.npy", blob)


def is_model_file(head: bytes) -> bool:
    """Whether the first bytes of a file are those of this format (a zip archive)."""
    return head.startswith(_ZIP_MAGIC)


def read(source: Path, *, runtime: bool = False) -> tuple[Any, dict[str, Any]]:
    """Read a model file: the rebuilt pipeline and its provenance.

    Parameters
    ----------
    source
        The model file.
    runtime
        Rebuild the steps as :mod:`classify.pipeline.runtime` objects (numpy and scipy only, no scikit-learn
        import) in a :class:`~classify.pipeline.runtime.FittedPipeline`, where the step has a runtime form;
        else as scikit-learn estimators in a ``Pipeline``.

    Raises
    ------
    ModelError
        One line naming the file and what is wrong with it.
    """
    try:
        archive = zipfile.ZipFile(source)
    except _ZIP_ERRORS as exc:
        raise ModelError(f"{source}: not a readable model file ({exc})") from None
    with archive:
        manifest = _read_manifest(source, archive)
        arrays = _read_arrays(source, archive, manifest)
    parts = []
    for step in manifest["steps"]:
        if not isinstance(step, dict) or step.get("kind") not in KINDS:
            raise ModelError(f"{source}: holds a pipeline step this classify does not know")
        name = str(step.get("name"))
        prefix = f"{name}/"
        own = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
        parts.append(StepParts(name, str(step["kind"]), step.get("params"), step.get("state"), own))
    if [p.name for p in parts] != ["features", "clf"]:
        raise ModelError(f"{source}: damaged model file: expected the steps 'features' and 'clf'")
    meta = manifest["meta"]
    if runtime:
        from classify.pipeline.runtime import FittedPipeline

        steps = [(p.name, _restore(source, p, runtime=True)) for p in parts]
        fitted = FittedPipeline(steps, parts=parts, source=str(source))
        _check_agree(source, fitted, meta)
        _check_predicts(source, fitted)
        return fitted, meta
    return _pipeline(source, parts, meta), meta


def to_pipeline(fitted: Any) -> Pipeline:
    """The scikit-learn ``Pipeline`` of a :class:`~classify.pipeline.runtime.FittedPipeline` read by
    :func:`read` (for what needs the estimators: saving, refitting, reports), from the arrays already
    in memory."""
    return _pipeline(Path(fitted.source), fitted.parts, None)


def _restore(source: Path, part: StepParts, *, runtime: bool) -> Any:
    """One fitted step from its parts, as a scikit-learn estimator or (``runtime``) its numpy form."""
    import classify.pipeline.runtime as rt

    # The runtime form of a step, where it has one; the estimators subclass these, so both forms
    # check a file's settings and arrays with the same from_arrays.
    from classify.pipeline.hashing import HashedFeatures

    light: dict[str, Any] = {
        "HeadlineVectorizer": rt.HeadlineFeatures,
        "HashedHeadlineVectorizer": HashedFeatures,
        "TopicClassifier": rt.LinearScores,
    }
    cls = light.get(part.kind) if runtime else None
    try:
        params = _checked_params(part.params)
        return (cls or _step_class(part.kind)).from_arrays(params, dict(part.state), part.arrays)
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        what = f"missing array {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelError(f"{source}: damaged model file: step '{part.name}': {what}") from None


def _checked_params(params: Any) -> dict[str, Any]:
    """A step's parameters, each checked as training checks it (:func:`~classify.pipeline.settings.
    check_step_param`): what a file declares is bounded by what the settings allow."""
    from classify.pipeline.settings import check_step_param

    if not isinstance(params, dict):
        raise ValueError("its settings are not a JSON object")
    checked = {}
    for key, value in params.items():
        try:
            checked[key] = check_step_param(key, tuple(value) if isinstance(value, list) else value)
        except ValueError as exc:
            raise ValueError(f"{key}={json.dumps(value)}: expected {exc}") from None
    return checked


def _pipeline(source: Path, parts: list[StepParts], meta: dict[str, Any] | None) -> Pipeline:
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([(p.name, _restore(source, p, runtime=False)) for p in parts])
    if meta is not None:
        _check_agree(source, pipeline, meta)
    return pipeline


def _check_agree(source: Path, pipeline: Any, meta: dict[str, Any]) -> None:
    """The weights fit the features, and the topics of the weights are the metadata's."""
    features, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    if clf.coef_.shape[1] != features.n_features_:
        raise ModelError(f"{source}: damaged model file: the weights do not match the features")
    topics = [str(c) for c in clf.classes_]
    if meta.get("topics", topics) != topics:
        raise ModelError(f"{source}: damaged model file: the topics of the weights and the metadata differ")


#: What a freshly loaded model classifies once, so that a model that loads can predict.
_PROBE = ["Central bank raises rates as inflation climbs", "", "ab"]


def _check_predicts(source: Path, fitted: Any) -> None:
    """Classify a few headlines now: a file whose numbers pass every check but still cannot predict is
    refused on loading, never at prediction time."""
    try:
        probabilities = fitted.predict_proba(_PROBE)
        usable = (
            probabilities.shape == (len(_PROBE), len(fitted.classes_)) and np.isfinite(probabilities).all()
        )
    except (ArithmeticError, IndexError, KeyError, TypeError, ValueError, MemoryError) as exc:
        raise ModelError(
            f"{source}: damaged model file: it cannot classify ({type(exc).__name__}: {exc})"
        ) from None
    if not usable:
        raise ModelError(f"{source}: damaged model file: its probabilities are not finite numbers")


def _read_manifest(source: Path, archive: zipfile.ZipFile) -> dict[str, Any]:
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise ModelError(f"{source}: not a classify model file (a zip without {MANIFEST})") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise ModelError(f"{source}: not a classify model file (its manifest is too large)")
    try:
        manifest = json.loads(archive.read(info).decode("utf-8"))
    except _ZIP_ERRORS as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ModelError(f"{source}: damaged model file: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MODEL_FORMAT:
        raise ModelError(f"{source}: not a classify model file")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelError(
            f"{source}: saved by a newer classify (format {version}); upgrade classify to use it"
        )
    if manifest.get("digest") != _digest(manifest):
        raise ModelError(f"{source}: damaged model file: the manifest does not match its digest")
    if not isinstance(manifest.get("steps"), list) or not isinstance(manifest.get("arrays"), dict):
        raise ModelError(f"{source}: damaged model file: the manifest lacks its steps or arrays")
    if not isinstance(manifest.get("meta"), dict):
        raise ModelError(f"{source}: damaged model file: the manifest lacks its metadata")
    return manifest


def _read_arrays(source: Path, archive: zipfile.ZipFile, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every listed array, each checked against what the manifest declares before it is inflated."""
    listed = manifest["arrays"]
    members = {n[len("arrays/") : -len(".npy")] for n in archive.namelist() if n.startswith("arrays/")}
    if members != set(listed):
        missing, extra = sorted(set(listed) - members), sorted(members - set(listed))
        what = f"missing {', '.join(missing)}" if missing else f"unlisted {', '.join(extra)}"
        raise ModelError(f"{source}: damaged model file: arrays {what}")
    types = {key: declared(source, key, spec) for key, spec in listed.items()}
    check_shapes(source, manifest["steps"], {key: shape for key, (_, shape) in types.items()})
    total = sum(nbytes(dtype, shape) for dtype, shape in types.values())
    budget = min(MAX_ARRAY_BYTES, memory_budget())
    if total > budget:
        raise ModelError(
            f"{source}: not a usable model file (its arrays would take {total:,} bytes, "
            f"more than the {budget:,} this machine allows)"
        )
    arrays = {}
    for key, (dtype, shape) in types.items():
        member = f"arrays/{key}.npy"
        size = archive.getinfo(member).file_size
        if not nbytes(dtype, shape) < size <= nbytes(dtype, shape) + MAX_NPY_HEADER:
            # Checked from the zip's directory, before inflating anything: a member padded with
            # gigabytes of zeros is refused at no cost.
            raise ModelError(
                f"{source}: damaged model file: array {key} is not the size its manifest declares"
            )
        try:
            with archive.open(member) as raw:
                arrays[key] = read_npy(HashingReader(raw, size), dtype, shape, listed[key]["sha256"])
        except _ZIP_ERRORS as exc:
            raise ModelError(f"{source}: damaged model file: array {key} ({exc})") from None
        except Mismatch as exc:
            raise ModelError(f"{source}: damaged model file: array {key} {exc}") from None
        except MemoryError:
            raise ModelError(
                f"{source}: not a usable model file (not enough memory for array {key}: "
                f"{nbytes(dtype, shape):,} bytes)"
            ) from None
    return arrays


def _npy_bytes(value: np.ndarray) -> bytes:
    if value.dtype.hasobject:
        raise ModelError("a model array holds Python objects, which a model file cannot store")
    buffer = io.BytesIO()
    np.save(buffer, value, allow_pickle=False)
    return buffer.getvalue()


def _digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest without its digest, in a canonical JSON form."""
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
