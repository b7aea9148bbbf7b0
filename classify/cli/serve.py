"""``classify serve``: the HTTP service and its page (:func:`classify.serve.run`)."""

from __future__ import annotations

from typing import Annotated

import typer

from classify.cli._common import ModelOpt, error, handle_errors, info, usage_parser
from classify.serve.settings import ServeSettings

#: The library's defaults, shown and used by the options below.
DEFAULTS = ServeSettings()

_size = usage_parser("classify.serve.settings", "parse_size")


@handle_errors
def serve_cli(
    model_path: ModelOpt = None,
    host: Annotated[
        str,
        typer.Option("--host", metavar="HOST", help="Address to listen on (loopback unless told otherwise)."),
    ] = DEFAULTS.host,
    port: Annotated[
        int, typer.Option("--port", "-p", metavar="PORT", min=0, max=65535, help="Port to listen on.")
    ] = DEFAULTS.port,
    workers: Annotated[
        int,
        typer.Option("--workers", "-w", metavar="N", min=1, help="Worker processes (each holds the model)."),
    ] = DEFAULTS.workers,
    max_batch: Annotated[
        int,
        typer.Option("--max-batch", metavar="N", min=1, help="Most headlines in one request (more: 413)."),
    ] = DEFAULTS.max_batch,
    max_body: Annotated[
        int,
        typer.Option(
            "--max-body",
            metavar="SIZE",
            parser=_size,
            help="Largest request body: 1MB, 512KB, ... (more: 413).",
        ),
    ] = "1MB",  # type: ignore[assignment]  # parsed by _size
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            metavar="VAR",
            help="Require the API key held in this environment variable on /v1/* and /metrics.",
        ),
    ] = None,
    cors: Annotated[
        list[str] | None,
        typer.Option(
            "--cors", metavar="ORIGIN", help="Allow browser pages from ORIGIN to call the API (repeatable)."
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="Also answer requests for this host name (repeatable): a reverse proxy's public name. "
            "On loopback only loopback names are answered (against DNS rebinding).",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            min=0.001,
            help="Seconds a request may take before it is answered 408/503.",
        ),
    ] = DEFAULTS.timeout,
    reload_interval: Annotated[
        float,
        typer.Option(
            "--reload-interval",
            metavar="SECONDS",
            min=0.0,
            help="Seconds between checks for a replaced model file (0: never).",
        ),
    ] = DEFAULTS.reload_interval,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log one line per request.")
    ] = DEFAULTS.access_log,
    monitor_window: Annotated[
        int,
        typer.Option(
            "--monitor-window",
            metavar="N",
            min=0,
            help="Watch the last N headlines for drift (/v1/monitor, /metrics, the page; 0: off).",
        ),
    ] = DEFAULTS.monitor_window,
) -> None:
    """Run the HTTP service and the web page (needs the serve extra).

    POST /v1/classify, GET /v1/topics, /v1/model, /v1/monitor, /healthz, /readyz, /metrics; the page
    at /, the API docs at /docs. A replaced model file is loaded without a restart.
    """
    from classify.serve.running import run

    settings = ServeSettings(
        model=model_path,
        host=host,
        port=port,
        workers=workers,
        max_batch=max_batch,
        max_body=max_body,
        api_key_env=api_key_env,
        cors=tuple(cors or ()),
        allowed_hosts=tuple(allow_host or ()),
        timeout=timeout,
        reload_interval=reload_interval,
        access_log=access_log,
        monitor_window=monitor_window,
    )
    if model_path is not None and not model_path.exists():
        from classify.pipeline.model import missing_model_message

        error(missing_model_message(model_path))
    run(settings, on_info=info)
