"""The service's ASGI middleware (body limit, API key, metrics, CORS) and its JSON error handlers.

Every error a client can cause is answered as JSON ``{"error": "<one sentence>"}`` with its status;
nothing internal (tracebacks, paths, exception text) reaches a client.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from classify.serve.schemas import ClassifyRequest

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
            # The header's bytes as sent (header() decoded them as latin-1); the key is ASCII.
            if not hmac.compare_digest(hashlib.sha256(given.encode("latin-1")).digest(), self.digest):
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

    The route label is the route's path template, or, for an answer given before routing (a body
    too large or too slow, a missing key), the request's path if it is one of ``paths``; else
    ``unmatched``: paths clients make up must not create new series.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, paths: frozenset[str] = frozenset()) -> None:
        self.app, self.metrics, self.paths = app, metrics, paths

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
            label = getattr(route, "path", None) or (
                scope["path"] if scope["path"] in self.paths else "unmatched"
            )
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
