"""The FastAPI app of ``classify serve``: its routes and the page, over the middleware stack.

Imported only when the service starts (it needs the ``serve`` extra).
"""

from __future__ import annotations

import time
from collections import Counter
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from classify.errors import DataError, ModelError
from classify.origins import Guard
from classify.prediction.results import PredictOptions
from classify.serve import hosting
from classify.serve.hosting import ModelHost, NotReady, RequestTimeout, log
from classify.serve.middleware import (
    STARTED,
    ApiKey,
    BodyLimit,
    Measure,
    Metrics,
    error,
    install_error_handlers,
    json_cors,
)
from classify.serve.monitor import Monitor
from classify.serve.schemas import ERRORS, ClassifyRequest, ClassifyResponse
from classify.version import __version__

if TYPE_CHECKING:
    from classify.pipeline.model import Model
    from classify.serve.settings import ServeSettings


# The page -------------------------------------------------------------------------------------------------
STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
}
PAGE_HEADERS = {
    # Everything the page uses comes from this service: no CDN, no inline script.
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def static_files() -> dict[str, bytes]:
    folder = resources.files("classify.serve") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC}


# The app --------------------------------------------------------------------------------------------------
def build_app(settings: ServeSettings, key: str | None, *, model: Model | None = None) -> FastAPI:
    """Assemble the app: routes, error handlers, and the middleware stack (outermost first):
    measure -> CORS -> Host/Origin guard -> API key -> body limit -> FastAPI."""
    from contextlib import asynccontextmanager

    metrics = Metrics()
    monitor = Monitor(settings.monitor_window, None if metrics.multiprocess else metrics.registry)
    host = ModelHost(settings.model, on_reload=metrics.reloaded)
    if model is not None:
        host.adopt(model)
    files = static_files()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        log.info(
            f"classify {__version__}: max batch {settings.max_batch}, max body {settings.max_body} bytes"
        )
        if host.served is None:
            # Loaded before the worker accepts connections: with several workers sharing the port,
            # a request never reaches a worker that has no model yet.
            import anyio.to_thread

            await anyio.to_thread.run_sync(host.load_first)
        else:
            served = host.served
            log.info(f"serving model {served.id} ({served.file}, {len(served.topics)} topics)")
        host.watch(settings.reload_interval)
        yield
        host.stop()

    app = FastAPI(
        title="classify",
        version=__version__,
        summary="Sort news headlines into topics.",
        description=(
            "Classify headlines, ticker blobs and scraped pages with the model the service was started with. "
            'Every error is JSON `{"error": ...}`.'
            + (
                " `/v1/*` and `/metrics` need the API key (`X-API-Key` or `Authorization: Bearer`)."
                if key
                else ""
            )
        ),
        lifespan=lifespan,
    )
    app.state.host = host
    install_error_handlers(app)

    # CPU-bound work is in plain `def` endpoints: FastAPI runs them in its thread pool, so the event
    # loop keeps accepting connections and answering /healthz while a batch is classified. Threads,
    # not a process pool: one-headline requests would pay more for shipping data to another process
    # than for the prediction itself, and the model is used by one thread at a time anyway
    # (Served.lock); more cores are used through --workers processes.

    @app.post("/v1/classify", response_model=None, responses={200: {"model": ClassifyResponse}, **ERRORS})
    def classify(body: ClassifyRequest, request: Request) -> JSONResponse:
        """Classify headlines (or the headlines of a ticker blob or page), in input order."""
        deadline = request.scope.get(STARTED, time.monotonic()) + settings.timeout
        try:
            if body.split_pattern is not None:
                # Checked whatever the input: a request the schema calls invalid is never answered 200.
                hosting.split_text("", pattern=body.split_pattern, deadline=deadline)
            if body.headlines is not None:
                if len(body.headlines) > settings.max_batch:
                    return too_many(len(body.headlines))
                headlines = hosting.clean_headlines(body.headlines)
            else:
                assert body.text is not None
                headlines = hosting.split_text(
                    body.text,
                    split=body.split,
                    from_page=body.from_page,
                    pattern=body.split_pattern,
                    deadline=deadline,
                )
                if len(headlines) > settings.max_batch:
                    return too_many(len(headlines))
            served = host.require()  # one model for the whole request, even if a reload swaps it now
            options = PredictOptions(
                body.top_k,
                body.min_confidence,
                body.uncertain_label,
                body.explain,
                coverage=body.coverage,
                per_topic_coverage=body.per_topic_coverage,
            )
            rows = served.classify(headlines, options, deadline)
        except (DataError, ModelError) as exc:
            return error(422, str(exc))
        except NotReady as exc:
            return error(503, str(exc), {"retry-after": "5"})
        except RequestTimeout as exc:
            return error(503, f"{exc} of {settings.timeout:g} s; send fewer headlines per request")
        count_topics(rows)
        monitor.observe(served, headlines, rows)
        model = {"id": served.id, "topics": served.topics} if body.model_topics else {"id": served.id}
        return JSONResponse({"model": model, "results": rows})

    def too_many(n: int) -> JSONResponse:
        return error(
            413,
            f"{n} headlines in one request, more than the limit of {settings.max_batch}; "
            "send smaller batches",
        )

    def count_topics(rows: list[dict[str, Any]]) -> None:
        best = Counter(str(row.get("best_guess", row["topic"])) for row in rows)
        for topic, n in best.items():
            metrics.headlines.labels(topic).inc(n)
        unsure = sum(1 for row in rows if "best_guess" in row and row["best_guess"] != row["topic"])
        if unsure:
            metrics.uncertain.inc(unsure)

    @app.get("/v1/topics", responses=ERRORS)
    def topics() -> JSONResponse:
        """The model's topics with their training counts (and definitions, for the default topics)."""
        try:
            served = host.require()
        except NotReady as exc:
            return error(503, str(exc), {"retry-after": "5"})
        known = hosting.topic_descriptions()
        counts = served.model.meta.get("counts", {})
        out = []
        for name in served.topics:
            item: dict[str, Any] = {"name": name, "count": counts.get(name, 0)}
            if name in known:
                item["description"], item["iptc"] = known[name]
            out.append(item)
        return JSONResponse({"model": {"id": served.id}, "topics": out})

    @app.get("/v1/model", responses=ERRORS)
    def model_info() -> JSONResponse:
        """Provenance of the model being served (from its file), and the state of model reloads."""
        served = host.served
        if served is None:
            problem = (host.status()["last_error"] or {}).get("error")
            return error(503, f"no model is loaded yet ({problem})" if problem else "no model is loaded yet")
        return JSONResponse({**served.describe(), "reload": host.status()})

    @app.get("/v1/monitor", responses=ERRORS)
    def monitor_info() -> JSONResponse:
        """The rolling window of recent predictions against the model's training statistics: topic
        shares, confidence, unseen words, estimated accuracy, the drift verdict and alarm, the history."""
        try:
            served = host.require()
        except NotReady as exc:
            return error(503, str(exc), {"retry-after": "5"})
        return JSONResponse(monitor.describe(served))

    @app.get("/v1/monitor/window.txt", response_class=Response, responses=ERRORS)
    def monitor_window() -> Response:
        """The window's headlines, one per line: a pool for ``classify label``."""
        try:
            served = host.require()
        except NotReady as exc:
            return error(503, str(exc), {"retry-after": "5"})
        text = "".join(f"{h}\n" for h in monitor.headlines(served))
        return Response(text, media_type="text/plain; charset=utf-8")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive and answering."""
        return {"status": "ok"}

    @app.get("/readyz", responses=ERRORS)
    async def readyz() -> JSONResponse:
        """A model is loaded: the service can classify."""
        served = host.served
        if served is None:
            return error(503, "the model is not loaded yet", {"retry-after": "2"})
        return JSONResponse({"status": "ready", "model": served.id})

    @app.get("/metrics", response_class=Response, responses=ERRORS)
    def prometheus() -> Response:
        """Metrics in Prometheus text format."""
        monitor.refresh()
        data, content_type = metrics.exposition()
        return Response(data, media_type=content_type)

    @app.get("/", response_class=Response, include_in_schema=False)
    async def page() -> Response:
        return Response(files["index.html"], media_type=STATIC["index.html"], headers=PAGE_HEADERS)

    @app.get("/static/app.css", response_class=Response, include_in_schema=False)
    async def page_css() -> Response:
        return Response(files["app.css"], media_type=STATIC["app.css"], headers=PAGE_HEADERS)

    @app.get("/static/app.js", response_class=Response, include_in_schema=False)
    async def page_js() -> Response:
        return Response(files["app.js"], media_type=STATIC["app.js"], headers=PAGE_HEADERS)

    # add_middleware wraps: the last added is the outermost.
    app.add_middleware(BodyLimit, max_body=settings.max_body, timeout=settings.timeout)  # type: ignore[arg-type]
    if key is not None:
        app.add_middleware(ApiKey, key=key)  # type: ignore[arg-type]
    # Host (DNS rebinding) on every request; Origin on POST unless the API key protects the API: a
    # page of another site may not spend this service's time (same origin and --cors origins may).
    app.add_middleware(
        Guard,  # type: ignore[arg-type]
        listening_on=settings.host,
        allowed_origins=settings.cors,
        check_origin=key is None,
        allowed_hosts=settings.allowed_hosts,
    )
    if settings.cors:
        app.add_middleware(
            json_cors(),  # type: ignore[arg-type]
            allow_origins=list(settings.cors),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
        )
    # Answers given before routing (413, 408, 401, 403) are counted under their route's path too.
    paths = frozenset(getattr(route, "path", "") for route in app.routes) - {""}
    app.add_middleware(Measure, metrics=metrics, paths=paths)  # type: ignore[arg-type]
    return app
