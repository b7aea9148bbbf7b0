"""Hosting a model in a long-running service: loading it, watching its file, swapping in a new one.

A service cannot restart to pick up a retrained model: ``classify train`` replaces the model file by an
atomic rename, and :class:`ModelHost` notices the new file (its inode, size or modification time
changed), loads it beside the old one and swaps one reference. A request takes that reference once,
when it starts, so every result of one answer comes from one model and no request waits for or fails
because of a reload. A new file that cannot be loaded is reported (log, :meth:`ModelHost.status`)
while the old model keeps serving.

Every call into the prediction API of the rest of the library (loading, splitting, predicting,
explaining, output rows) is in the "library adapter" section below, so it can follow that API as it
changes. Nothing here depends on the web framework: :mod:`classify.serve` is the HTTP layer.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import ClassifyError, DataError, ModelError

if TYPE_CHECKING:
    from classify.pipeline.model import Model
    from classify.prediction.results import PredictOptions

#: The service logs through uvicorn's error logger, so its lines appear with uvicorn's own.
log = logging.getLogger("uvicorn.error")

#: Headlines classified between two checks of a request's deadline.
BATCH = 256
#: What a new model file must classify (with explanations, if it has them) before it is served: a
#: model that loads but cannot predict would otherwise answer every request with a 500.
PROBE = (
    "Central bank raises interest rates by two points",
    "Coach sacked after third straight defeat",
    "\u00c9lections: \u201cr\u00e9sultats\u201d attendus \u00e0 20h \u2014 #2026 & more",
)
#: Seconds the probe may take: a model that needs longer for three headlines is not servable.
PROBE_SECONDS = 30.0
#: What identifies one version of a model file: device, inode, size, modification time (ns).
Signature = tuple[int, int, int, int]


class RequestTimeout(ClassifyError):
    """A request's work ran past the service's time limit."""


class NotReady(ClassifyError):
    """No model is loaded yet (the service is still starting)."""


# Library adapter ---------------------------------------------------------------------------------
# The only place that calls classify's prediction API; the CLI's `predict` builds its rows from the
# same calls, so the service gives the same values.


def load(path: Path | None) -> Model:
    """Load the model file at ``path``, or the default model (built on first use) when None."""
    if path is None:
        from classify.training.default_model import load_default_model

        return load_default_model(on_build=log.info)
    from classify.pipeline.model import load_model

    return load_model(path)


def default_path() -> Path:
    """Where the default model file lives (the file watched when no model path was given)."""
    from classify.training.default_model import default_model_path

    return default_model_path()


def make_explainer(model: Model) -> Any:
    """The model's explainer (raises :class:`ModelError` if its features cannot be explained)."""
    from classify.prediction.explain import Explainer

    return Explainer(model)


def clean_headlines(headlines: Sequence[str]) -> list[str]:
    """Headlines given one by one, white space collapsed as the CLI does; a blank one is an error."""
    from classify.text import collapse

    out = [collapse(h) for h in headlines]
    for i, text in enumerate(out):
        if not text:
            raise DataError(f"headlines[{i}] is blank; send only non-empty headlines")
    return out


def split_text(
    text: str,
    *,
    split: bool = True,
    from_page: bool = False,
    pattern: str | None = None,
    deadline: float | None = None,
) -> list[str]:
    """The headlines of a ticker blob or scraped page, as ``classify predict`` reads them from a file.

    Lines are cut at ``\\n``, ``\\r\\n`` and ``\\r`` only, as a file opened by the CLI is. The
    user's ``pattern`` runs with a time limit and every line is checked against ``deadline``
    (:class:`~classify.io.ticker.PatternTimeout`, a :class:`DataError`), so a pattern that backtracks
    catastrophically cannot hold a worker.
    """
    from classify.io import ticker
    from classify.text import collapse

    text = text.removeprefix("\ufeff")
    if from_page:
        return ticker.extract_from_page(text, pattern=pattern, deadline=deadline)
    lines = (line.rstrip("\r\n") for line in io.StringIO(text, newline=""))
    parts = ticker.iter_split(lines, pattern, deadline=deadline) if split else lines
    return [h for h in (collapse(part) for part in parts) if h]


def result_rows(
    model: Model, explainer: Any | None, headlines: Sequence[str], options: PredictOptions, deadline: float
) -> list[dict[str, Any]]:
    """One output row per headline, in order: exactly the rows ``classify predict`` writes.

    The same batched path as the command line (:func:`predict_record_batches`, batch explanations);
    ``deadline`` (a :func:`time.monotonic` time) is checked after every batch, so that a request
    cannot keep a worker busy long past the service's time limit.
    """
    from classify.io.records import Record
    from classify.prediction.predictor import predict_record_batches

    rows: list[dict[str, Any]] = []
    records = (Record(h) for h in headlines)
    for batch in predict_record_batches(model, records, options, batch_size=BATCH, explainer=explainer):
        rows.extend(batch.rows())
        if time.monotonic() > deadline:
            raise RequestTimeout("the request took longer than the time limit")
    return rows


def probe(model: Model, explainer: Any | None) -> None:
    """Classify :data:`PROBE` with ``model``; raise :class:`ModelError` if it cannot.

    Any exception counts (a model edited to load but fail, such as a setting of the wrong type,
    raises whatever its code raises): the failure is the file's, and the old model keeps serving.
    """
    from classify.prediction.results import PredictOptions

    deadline = time.monotonic() + PROBE_SECONDS
    options = PredictOptions(top_k=min(2, len(model.topics)), explain=explainer is not None)
    try:
        rows = result_rows(model, explainer, PROBE, options, deadline)
    except RequestTimeout:
        raise ModelError(
            f"the model took more than {PROBE_SECONDS:g} s to classify {len(PROBE)} headlines"
        ) from None
    except Exception as exc:  # whatever a broken model raises is reported, not served
        log.warning("the new model failed its check", exc_info=True)  # the details stay in the log
        raise ModelError(
            f"the model cannot classify ({type(exc).__name__}); the server log has the details"
        ) from None
    if len(rows) != len(PROBE) or any(row.get("topic") not in model.topics for row in rows):
        raise ModelError("the model gives topics it does not declare, or too few rows")


def topic_descriptions() -> dict[str, tuple[str, str]]:
    """Definition and IPTC code of each default topic, by name."""
    from classify.topics import default_topics

    return {t.name: (t.description, t.iptc) for t in default_topics()}


# Hosting -----------------------------------------------------------------------------------------


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def signature(path: Path) -> Signature:
    """The identity of the file now at ``path`` (raises OSError if there is none)."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Served:
    """A loaded model with what the service reports about it.

    ``lock`` serialises the use of this model: the feature step fills a token cache in place and is
    not safe to share between threads, and prediction holds the GIL for most of its time anyway; a
    service uses more cores through more worker processes.
    """

    model: Model
    id: str
    sha256: str
    file: str
    signature: Signature
    loaded_at: str
    explainer: Any | None
    explain_error: str | None
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def topics(self) -> list[str]:
        return self.model.topics

    def classify(
        self, headlines: Sequence[str], options: PredictOptions, deadline: float
    ) -> list[dict[str, Any]]:
        """Rows for ``headlines`` (see :func:`result_rows`), waiting for the model at most until ``deadline``.

        Raises
        ------
        RequestTimeout
            If the model stayed busy with other requests, or this one's work ran, past ``deadline``.
        ModelError
            If an explanation is asked of a model whose features cannot be explained.
        """
        if options.explain and self.explainer is None:
            raise ModelError(self.explain_error or "this model cannot explain its predictions")
        if time.monotonic() > deadline:  # waited too long for a busy server: shed it, do no work
            raise RequestTimeout("the request waited for the server past the time limit")
        wait = min(max(0.0, deadline - time.monotonic()), threading.TIMEOUT_MAX)
        if not self.lock.acquire(timeout=wait):
            raise RequestTimeout("the model stayed busy with other requests past the time limit")
        try:
            explainer = self.explainer if options.explain else None
            return result_rows(self.model, explainer, headlines, options, deadline)
        finally:
            self.lock.release()

    def describe(self) -> dict[str, Any]:
        """Provenance for ``/v1/model``: the model file's metadata, minus local paths."""
        meta = dict(self.model.meta)
        if meta.get("source"):
            meta["source"] = Path(str(meta["source"])).name  # a training file's name, not where it lives
        return {
            "id": self.id,
            "file": self.file,
            "sha256": self.sha256,
            "loaded_at": self.loaded_at,
            **meta,
            "topics": self.topics,
            "warnings": list(self.model.warnings),
        }


def serve_model(model: Model, path: Path, sig: Signature, sha256: str) -> Served:
    """Wrap a loaded model for serving (builds its explainer once), after checking it can classify.

    Raises
    ------
    ModelError
        If the model cannot classify :data:`PROBE` (see :func:`probe`).
    """
    try:
        explainer, explain_error = make_explainer(model), None
    except ModelError as exc:
        explainer, explain_error = None, str(exc)
    probe(model, explainer)
    return Served(
        model=model,
        id=sha256[:16],
        sha256=sha256,
        file=path.name,
        signature=sig,
        loaded_at=_now(),
        explainer=explainer,
        explain_error=explain_error,
    )


class _Changed(Exception):
    """The file changed while it was being read; try again at the next check."""


class ModelHost:
    """Holds the model being served and replaces it when its file is replaced.

    Parameters
    ----------
    path
        The model file, or None for the default model.
    on_reload
        Called with True after a new model was swapped in, False after a new file failed to load
        (the service counts these in its metrics).
    """

    def __init__(self, path: Path | None, *, on_reload: Callable[[bool], None] | None = None) -> None:
        self.requested = path
        self.on_reload = on_reload
        self._served: Served | None = None
        self._error: dict[str, str] | None = None
        self._failed: Signature | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.interval: float = 0.0
        self.last_check: str | None = None

    @property
    def path(self) -> Path:
        return self.requested if self.requested is not None else default_path()

    @property
    def served(self) -> Served | None:
        """The model serving now (None until the first load succeeds)."""
        return self._served

    def require(self) -> Served:
        """The model serving now; raises :class:`NotReady` while there is none."""
        served = self._served
        if served is None:
            raise NotReady("the model is not loaded yet; retry in a few seconds (see /readyz)")
        return served

    def adopt(self, model: Model) -> Served:
        """Serve an already loaded model (from the file at :attr:`path`) without loading it again."""
        path = self.path
        served = serve_model(model, path, signature(path), file_sha256(path))
        self._served = served
        return served

    def load_first(self) -> None:
        """Load the model the service starts with (the default model is built if need be)."""
        with self._load_lock:
            try:
                if self.requested is None:
                    served = self.adopt(load(None))
                    log.info(f"serving model {served.id} ({served.file}, {len(served.topics)} topics)")
                else:
                    self._load(self.path, signature(self.path))
            except Exception as exc:  # reported on /v1/model; /readyz stays 503
                self._fail(exc, None)

    def check(self) -> None:
        """Load the model file again if it was replaced since it was loaded (cheap when it was not)."""
        with self._load_lock:
            self.last_check = _now()
            path = self.path
            try:
                sig = signature(path)
            except OSError as exc:
                if self._failed != (0, 0, 0, 0):
                    self._fail(exc, (0, 0, 0, 0))
                return
            served = self._served
            if (served is not None and sig == served.signature) or sig == self._failed:
                return
            try:
                self._load(path, sig)
            except _Changed:
                return  # caught mid-replacement: the next check sees the finished file
            except Exception as exc:  # MemoryError too: the file is at fault
                # Remembered by its signature: the same file is not tried again until it changes.
                self._fail(exc, sig)

    def _load(self, path: Path, sig: Signature) -> None:
        sha = file_sha256(path)
        model = load(path)
        if signature(path) != sig:
            raise _Changed
        old = self._served
        self._served = serve_model(model, path, sig, sha)
        self._error, self._failed = None, None
        for note in model.warnings:
            log.warning(note)
        if old is None:
            log.info(f"serving model {self._served.id} ({path.name}, {len(model.topics)} topics)")
        else:
            log.info(f"model file replaced: now serving {self._served.id} (was {old.id})")
            if self.on_reload:
                self.on_reload(True)

    def _fail(self, exc: BaseException, sig: Signature | None) -> None:
        path = self.path
        if isinstance(exc, OSError):
            reason = f"{path.name}: cannot read ({exc.strerror or exc})"
        elif isinstance(exc, MemoryError):
            reason = f"{path.name}: not enough memory to load it"
        elif not isinstance(exc, ClassifyError):
            reason = f"{path.name}: cannot be loaded ({type(exc).__name__})"
        else:
            reason = str(exc).replace(str(path), path.name)  # the file's name, not where it lives
        if not reason.startswith(path.name):
            reason = f"{path.name}: {reason}"
        keeping = f"; still serving model {self._served.id}" if self._served else "; no model is loaded"
        self._error = {"error": reason + keeping, "at": _now()}
        self._failed = sig
        log.error(f"model not loaded: {reason}{keeping}")
        if self.on_reload and self._served is not None:
            self.on_reload(False)

    def status(self) -> dict[str, Any]:
        """The reload state for ``/v1/model``."""
        return {
            "watching": self._thread is not None and self._thread.is_alive(),
            "interval_seconds": self.interval,
            "last_check": self.last_check,
            "last_error": self._error,
        }

    def watch(self, interval: float) -> None:
        """Check the file every ``interval`` seconds in a daemon thread (0: never)."""
        self.interval = interval
        if interval <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except Exception:  # a watcher that dies silently would stop reloads for good
                    log.exception("model file check failed")

        self._thread = threading.Thread(target=loop, name="classify-model-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
