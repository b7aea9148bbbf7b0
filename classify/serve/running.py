"""Starting the service: the app for an ASGI server, the port check, and ``run`` (uvicorn)."""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from classify.serve.settings import SETTINGS_ENV, ServeError, ServeSettings, api_key, require_extra

if TYPE_CHECKING:
    from classify.pipeline.model import Model


def create_app(settings: ServeSettings, *, model: Model | None = None) -> Any:
    """The FastAPI app for ``settings``.

    Parameters
    ----------
    settings
        What to serve and how.
    model
        A model already loaded from ``settings.model`` (or the default model), served at once
        instead of being loaded again in the background.
    """
    require_extra()
    from classify.serve.routes import build_app

    return build_app(settings, api_key(settings), model=model)


def app_from_env() -> Any:
    """App factory for uvicorn's worker processes: the settings come in :data:`SETTINGS_ENV`."""
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise ServeError(f"{SETTINGS_ENV} is not set; start the service with 'classify serve'")
    return create_app(ServeSettings.from_json(text))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(host: str, port: int) -> None:
    """Fail early, with a clear message, when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"port {port} on {host} is in use by another program; pick another port"
                ) from None
            raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def _protocol(settings: ServeSettings) -> str:
    """uvicorn's ``http`` setting: JSON errors for bad framing and a header time limit
    (:mod:`classify.serve.protocol`), or uvicorn's choice where httptools is not installed."""
    try:
        from classify.serve.protocol import PROTOCOL, JSONHttpToolsProtocol
    except ImportError:
        return "auto"
    JSONHttpToolsProtocol.header_seconds = settings.timeout  # workers read it from SETTINGS_ENV
    return PROTOCOL


def run(settings: ServeSettings, *, on_info: Callable[[str], None] | None = None) -> None:
    """Start the service and block until it is stopped (Ctrl+C or SIGTERM).

    The model is loaded once before the server starts, so that a missing or broken model file, a
    taken port or a missing API key fail at once with a clear error instead of in every worker.

    Raises
    ------
    ServeError, ModelError
        If the service cannot start.
    """
    require_extra()
    info = on_info or (lambda _message: None)
    api_key(settings)
    check_port(settings.host, settings.port)
    if not _is_loopback(settings.host) and settings.api_key_env is None:
        info(f"warning: listening on {settings.host} without an API key: anyone who can reach it can use it")
    from classify.serve import hosting

    model = hosting.load(settings.model)
    for note in model.warnings:
        info(f"warning: {note}")
    import uvicorn

    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "access_log": settings.access_log,
        "server_header": False,  # do not advertise the server software
        "log_level": "info",
        "timeout_graceful_shutdown": max(5, int(settings.timeout) + 1),
        "http": _protocol(settings),
    }
    if settings.workers == 1:
        uvicorn.run(create_app(settings, model=model), **common)
        return
    del model  # each worker loads its own copy
    # Each worker process counts its own requests: prometheus-client's multiprocess mode adds them up
    # through files in a folder that this process owns and removes.
    metrics_dir = tempfile.mkdtemp(prefix="classify-serve-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ[SETTINGS_ENV] = settings.to_json()
    try:
        uvicorn.run("classify.serve.running:app_from_env", factory=True, workers=settings.workers, **common)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
