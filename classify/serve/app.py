"""The FastAPI app of ``classify serve``: routes, JSON errors, limits, API key, metrics, the page.

Imported only when the service starts (it needs the ``serve`` extra). Every error a client can cause
is answered as JSON ``{"error": "<one sentence>"}`` with its status; nothing internal (tracebacks,
paths, exception text) reaches a client. One module past the usual few hundred lines because the
routes, their error handlers and the middleware that limits them are one HTTP contract.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from classify.version import __version__
from classify.errors import DataError, ModelError
from classify.prediction.predictor import PredictOptions
from classify.serve import hosting
from classify.serve.hosting import ModelHost, NotReady, RequestTimeout, log

if TYPE_CHECKING:
    from classify.pipeline.model import Model
    from classify.serve import ServeSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the request's start time (``time.monotonic()``) is kept in the ASGI scope.
STARTED = "classify.started"
#: Routes that need the API key when one is set. The page, the probes and the docs stay open: a
#: load balancer must reach /healthz and /readyz, and the page asks for the key itself.
PROTECTED_PREFIXES = ("/v1/", "/metrics")


# Request and response bodies -----------------------------------------------------------------------
class ClassifyRequest(BaseModel):
    """Headlines to classify: a list, or a ticker blob / scraped page to split into headlines."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"headlines": ["Central bank raises interest rates by two points"], "top_k": 2},
                {"text": "Coach sacked after defeat | Oil prices climb on supply worries", "explain": True},
            ]
        },
    )

    headlines: list[str] | None = Field(None, description="Headlines, one per item, answered in this order.")
    text: str | None = Field(
        None, description="A ticker blob (lines split into headlines) or, with from_page, a scraped page."
    )
    split: bool = Field(
        True, description="Split ticker lines of `text` into headlines (false: one per line)."
    )
    split_pattern: str | None = Field(
        None, description="Separator regular expression for ticker lines (default: the CLI's separators)."
    )
    from_page: bool = Field(False, description="`text` is a scraped news page: keep only its headlines.")
    top_k: int = Field(1, ge=1, le=100, description="Also give the K most likely topics, as `topics`.")
    min_confidence: float | None = Field(
        None, ge=0.0, le=1.0, description="Below this probability the topic is `uncertain_label`."
    )
    uncertain_label: str = Field("uncertain", min_length=1, max_length=100)
    explain: bool = Field(False, description="Add `why`: the words that pushed each headline to its topic.")

    @model_validator(mode="after")
    def _one_input(self) -> ClassifyRequest:
        if (self.headlines is None) == (self.text is None):
            raise ValueError(
                "give either 'headlines' (a list of strings) or 'text' (a ticker or page), not both"
            )
        return self


class ModelRef(BaseModel):
    id: str = Field(description="First 16 hex digits of the model file's SHA-256.")
    topics: list[str]


class Result(BaseModel):
    headline: str
    topic: str
    confidence: float
    topics: list[tuple[str, float]] | None = Field(None, description="With top_k > 1: [topic, probability].")
    why: list[str] | None = Field(None, description="With explain: the words behind the topic.")
    best_guess: str | None = Field(None, description="With min_confidence: the model's best topic.")


class ClassifyResponse(BaseModel):
    model: ModelRef
    results: list[Result]


class ErrorBody(BaseModel):
    error: str


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "Missing or wrong API key (when the service has one).",
        408: "The request body did not arrive in time.",
        413: "Body larger than --max-body, or more headlines than --max-batch.",
        422: "Malformed JSON, wrong types, unknown fields, or input that cannot be read.",
        503: "No model loaded yet, or the request ran past the time limit.",
    }.items()
}


# Small ASGI pieces ------------------------------------------------------------------------------------
async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """Answer from a middleware, before the app sees the request."""
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class BodyLimit:
    """Reads the body before the app does, stopping at ``max_body`` bytes and after ``timeout`` seconds.

    The declared ``Content-Length`` is checked first, so an oversized request is refused before any
    of it is read; a chunked body is counted as it arrives. The app then gets the body in one piece.
    """

    def __init__(self, app: ASGIApp, max_body: int, timeout: float) -> None:
        self.app, self.max_body, self.timeout = app, max_body, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_big = {"error": f"the request body is larger than the limit of {self.max_body} bytes"}
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_json(send, 400, {"error": "the Content-Length header is not a number"})
                return
            if int(declared) > self.max_body:
                await send_json(send, 413, too_big, {"connection": "close"})
                return
        body = bytearray()
        try:
            # The client gets `timeout` seconds to send its body, counted from here: time the request
            # spent waiting for a busy server is the server's, and ends in a 503 further on.
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    body += message.get("body", b"")
                    if len(body) > self.max_body:
                        await send_json(send, 413, too_big, {"connection": "close"})
                        return
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await send_json(
                send, 408, {"error": "the request body did not arrive in time"}, {"connection": "close"}
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the client to disconnect

        await self.app(scope, replay, send)


class ApiKey:
    """Refuses requests to protected routes without the right key (compared in constant time)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        # Compare digests: equal length whatever the client sends, so the time says nothing of the key.
        self.digest = hashlib.sha256(key.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIXES):
            given = header(scope, b"x-api-key")
            auth = header(scope, b"authorization")
            if given is None and auth is not None and auth[:7].lower() == "bearer ":
                given = auth[7:].strip()
            challenge = {"www-authenticate": 'Bearer realm="classify"'}
            if not given:
                message = "this route needs an API key: send it as X-API-Key or Authorization: Bearer"
                await send_json(send, 401, {"error": message}, challenge)
                return
            if not hmac.compare_digest(hashlib.sha256(given.encode()).digest(), self.digest):
                await send_json(send, 401, {"error": "the API key is not valid"}, challenge)
                return
        await self.app(scope, receive, send)


class Metrics:
    """Prometheus metrics: requests and errors by route and status, latency, headlines per topic."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

        disable_created_metrics()  # the *_created series only double the output

        # With several workers, prometheus-client's multiprocess mode writes every value to files
        # that /metrics adds up; metrics then need no registry of their own.
        self.multiprocess = "PROMETHEUS_MULTIPROC_DIR" in os.environ
        self.registry = CollectorRegistry()
        reg = None if self.multiprocess else self.registry
        self.requests = Counter(
            "classify_http_requests", "HTTP requests answered.", ["route", "method", "status"], registry=reg
        )
        self.errors = Counter(
            "classify_http_errors",
            "HTTP requests answered with a 4xx or 5xx status.",
            ["route", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "classify_http_request_duration_seconds",
            "Time from a request's first byte to the end of its answer.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=reg,
        )
        self.headlines = Counter(
            "classify_headlines", "Headlines classified, by the model's best topic.", ["topic"], registry=reg
        )
        self.uncertain = Counter(
            "classify_headlines_uncertain", "Headlines below the request's min_confidence.", registry=reg
        )
        self.reloads = Counter(
            "classify_model_reloads",
            "Replaced model files: loaded, or failed (old model kept).",
            ["result"],
            registry=reg,
        )
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry)

    def reloaded(self, ok: bool) -> None:
        self.reloads.labels("loaded" if ok else "failed").inc()

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class Measure:
    """Outermost middleware: stamps the start time, then counts and times every answer by route.

    The route label is the route's path template, or ``unmatched``: paths clients make up must not
    create new series.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = scope[STARTED] = time.monotonic()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            m = self.metrics
            m.requests.labels(label, scope["method"], str(status)).inc()
            if status >= 400:
                m.errors.labels(label, str(status)).inc()
            m.latency.labels(label).observe(time.monotonic() - started)


def json_cors() -> type:
    """Starlette's CORS middleware, refusing a preflight from another origin with a JSON error."""
    from starlette.middleware.cors import CORSMiddleware

    class JSONCORSMiddleware(CORSMiddleware):
        def preflight_response(self, request_headers: Any) -> Response:
            response = super().preflight_response(request_headers)
            if response.status_code >= 400:
                reason = bytes(response.body).decode(errors="replace")
                headers = {
                    k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")
                }
                return error(response.status_code, f"CORS preflight refused: {reason}", headers)
            return response

    return JSONCORSMiddleware


# Errors ------------------------------------------------------------------------------------------------
def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    """``("body", "headlines", 2)`` -> ``headlines[2]``."""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_message(errors: list[dict[str, Any]]) -> str:
    """One sentence for pydantic's list of validation errors (the first, and how many more)."""
    if not errors:
        return "the request is not valid"
    first = errors[0]
    kind, where = first.get("type", ""), _where(tuple(first.get("loc", ())))
    if kind == "json_invalid":
        message = f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')})"
    elif kind == "missing" and not where:
        message = "the request body is missing; send a JSON object with 'headlines' or 'text'"
    elif kind in ("model_attributes_type", "dict_type") and not where:
        message = (
            "the request body must be a JSON object with 'headlines' or 'text' "
            "(sent with Content-Type: application/json)"
        )
    elif kind == "extra_forbidden":
        fields = ", ".join(ClassifyRequest.model_fields)
        message = f"unknown field '{where}'; the fields are {fields}"
    else:
        text = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
        message = f"{where}: {text}" if where else text
    more = len(errors) - 1
    return message + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def install_error_handlers(app: FastAPI) -> None:
    """JSON ``{"error": ...}`` for every error, FastAPI's own included."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error(422, validation_message(list(exc.errors())))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status, detail = exc.status_code, str(exc.detail)
        path = request.url.path[:200]
        if status == 404 and detail == "Not Found":
            detail = f"no route {request.method} {path}; the API is described at /docs"
        elif status == 405:
            detail = f"{path} does not answer {request.method}; the API is described at /docs"
        elif status == 400 and "parsing the body" in detail:
            status, detail = 422, "the request body could not be parsed as JSON"
        return error(status, detail, exc.headers)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        # The traceback goes to the server log (uvicorn logs the re-raised exception), never to the client.
        return error(500, "internal error; the server log has the details")

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


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
    measure -> CORS -> API key -> body limit -> FastAPI."""
    from contextlib import asynccontextmanager

    metrics = Metrics()
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
            if body.headlines is not None:
                if len(body.headlines) > settings.max_batch:
                    return too_many(len(body.headlines))
                headlines = hosting.clean_headlines(body.headlines)
            else:
                assert body.text is not None
                headlines = hosting.split_text(
                    body.text, split=body.split, from_page=body.from_page, pattern=body.split_pattern
                )
                if len(headlines) > settings.max_batch:
                    return too_many(len(headlines))
            served = host.require()  # one model for the whole request, even if a reload swaps it now
            options = PredictOptions(body.top_k, body.min_confidence, body.uncertain_label, body.explain)
            rows = served.classify(headlines, options, deadline)
        except (DataError, ModelError) as exc:
            return error(422, str(exc))
        except NotReady as exc:
            return error(503, str(exc), {"retry-after": "5"})
        except RequestTimeout as exc:
            return error(503, f"{exc} of {settings.timeout:g} s; send fewer headlines per request")
        count_topics(rows)
        return JSONResponse({"model": {"id": served.id, "topics": served.topics}, "results": rows})

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
    if settings.cors:
        app.add_middleware(
            json_cors(),  # type: ignore[arg-type]
            allow_origins=list(settings.cors),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
        )
    app.add_middleware(Measure, metrics=metrics)  # type: ignore[arg-type]
    return app
