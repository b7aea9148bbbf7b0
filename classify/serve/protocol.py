"""The service's HTTP/1.1 connection handling: uvicorn's httptools protocol, with JSON errors and a
header time limit.

Two things happen before a request reaches any ASGI code, so no middleware can change them:

* a request uvicorn's parser refuses (a ``Content-Length`` that is not a number, two lengths, a length
  with ``Transfer-Encoding: chunked``, an unknown method, a broken request line) is answered by
  uvicorn itself, in plain text; here it is answered as JSON like every other error;
* uvicorn waits for a request's headers without a time limit (its keep-alive timer is stopped by the
  first byte), so a client sending one header byte a minute holds a connection for ever; here a
  connection that has not finished its headers :data:`HeaderTimeout.seconds` after it opened, or
  after its previous answer, is answered 408 and closed.

uvicorn takes the class by its import path (``http=PROTOCOL``), which also reaches ``--workers``
processes.
"""

from __future__ import annotations

import json
import os
from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from classify.serve.settings import SETTINGS_ENV

#: What ``uvicorn.run(http=...)`` is given.
PROTOCOL = "classify.serve.protocol:JSONHttpToolsProtocol"


def _status_line(status: int, reason: str) -> bytes:
    return f"HTTP/1.1 {status} {reason}\r\n".encode("ascii")


def json_response(
    status: int, reason: str, message: str, default_headers: list[tuple[bytes, bytes]]
) -> bytes:
    """A whole HTTP response with a JSON error body that closes the connection."""
    body = json.dumps({"error": message}).encode()
    head = [_status_line(status, reason)]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join(head) + body


def _header_seconds() -> float:
    """The service's ``timeout`` (from the settings a worker process is given), else its default."""
    from classify.serve.settings import ServeSettings

    text = os.environ.get(SETTINGS_ENV)
    return (ServeSettings.from_json(text) if text else ServeSettings()).timeout


class JSONHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering unparseable requests as JSON and timing headers."""

    #: Seconds a client has to send a request's headers (``classify serve --timeout``).
    header_seconds: float = _header_seconds()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: TimerHandle | None = None
        self._headers_started = False

    # Timing the headers ------------------------------------------------------------------------
    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._headers_started = False
        self._header_timer = self.loop.call_later(self.header_seconds, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._headers_started:
            message = f"the request headers did not arrive within {self.header_seconds:g} s"
            default = list(self.server_state.default_headers)
            self.transport.write(json_response(408, "Request Timeout", message, default))
        self.transport.close()  # an idle connection is simply closed

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._headers_started = True

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_header_timer()  # the next request's headers get the same time

    # Errors as JSON ----------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        self._cancel_header_timer()
        message = (
            "the request is not valid HTTP/1.1 (its request line, a header, or its framing: "
            "Content-Length must be one number and not be sent with Transfer-Encoding)"
        )
        default = list(self.server_state.default_headers)
        self.transport.write(json_response(400, "Bad Request", message, default))
        self.transport.close()
