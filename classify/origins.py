"""Who may talk to the local web apps (``classify serve``, ``classify label``): Host and Origin checks.

Two attacks reach a server on 127.0.0.1 from a page in the user's browser:

* **cross-site requests**: any page can send a ``POST`` to ``http://127.0.0.1:PORT`` (with
  ``mode: "no-cors"`` and no body there is not even a preflight); the browser marks it with an
  ``Origin`` header naming the page's site, so a request whose ``Origin`` is not this server's
  (nor one it was told to allow) is refused;
* **DNS rebinding**: a hostile name that resolves to 127.0.0.1 makes the page "same origin" with the
  server; the browser then sends that name as ``Host``, so a server listening on loopback refuses any
  ``Host`` that is not a loopback name or address.

A request without ``Origin`` comes from a program, not from a page (browsers always send it on a
``POST``), and is let through: curl and scripts keep working. A state-changing route can also demand a
token that only a page the server gave out knows (:class:`Guard`'s ``token``).

Plain ASGI with no framework imports, so both apps can use it.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Methods that change something, or cost work: what the Origin check and the token guard.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The header a page sends its session token in (a custom header also forces a CORS preflight).
TOKEN_HEADER = "x-classify-token"


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``), brackets allowed."""
    host = host.strip().lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The name in a ``Host`` header, without its port: ``[::1]:8000`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_allowed(host: str | None, listening_on: str, also: Iterable[str] = ()) -> bool:
    """Whether a request's ``Host`` may reach a server listening on ``listening_on``.

    A loopback server answers only loopback names and the names in ``also`` (a reverse proxy's public
    name): a rebound name is refused. A server on another address is reachable under names this
    process cannot know, so any ``Host`` is accepted there.
    """
    if not is_loopback(listening_on):
        return True
    if host is None:
        return False
    name = host_name(host)
    return is_loopback(name) or name in {a.strip().lower() for a in also}


def origin_allowed(origin: str | None, host: str | None, scheme: str, allowed: Iterable[str] = ()) -> bool:
    """Whether a request with this ``Origin`` may change state or use the API.

    No ``Origin``: a program, allowed. Otherwise the origin must be the server's own
    (``scheme://Host``) or one of ``allowed``; ``null`` (sandboxed frames, ``file:`` pages) never is.
    """
    if origin is None:
        return True
    origin = origin.strip().lower().rstrip("/")
    if origin == "null":
        return False
    if host is not None and origin == f"{scheme}://{host.strip().lower()}":
        return True
    return origin in {a.strip().lower().rstrip("/") for a in allowed}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class Guard:
    """ASGI middleware: the Host check on every request; on unsafe methods, the Origin check and,
    when ``token`` is given, the token in :data:`TOKEN_HEADER`. A refusal is a JSON 403.

    Parameters
    ----------
    listening_on
        The address the server listens on (``--host``).
    allowed_origins
        Other sites' origins that may call (``classify serve --cors``).
    token
        The session's token; None: no token is asked.
    check_origin
        False skips the Origin check (an API key protects the routes instead).
    allowed_hosts
        Host names answered besides loopback ones (``classify serve --allow-host``).
    """

    def __init__(
        self,
        app: ASGIApp,
        listening_on: str,
        allowed_origins: Iterable[str] = (),
        token: str | None = None,
        check_origin: bool = True,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.app, self.listening_on = app, listening_on
        self.allowed_hosts = tuple(allowed_hosts)
        self.allowed_origins = tuple(allowed_origins)
        self.token, self.check_origin = token, check_origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self.problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        payload = json.dumps({"error": problem}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def problem(self, scope: Scope) -> str | None:
        """Why the request is refused, or None."""
        host = _header(scope, b"host")
        if not host_allowed(host, self.listening_on, self.allowed_hosts):
            return (
                f"this server answers only to localhost, not to the host name {host_name(host or '')!r} "
                "(a DNS rebinding attempt, or open it as http://127.0.0.1:PORT/)"
            )
        if scope["method"] not in UNSAFE_METHODS:
            return None
        origin = _header(scope, b"origin")
        scheme = str(scope.get("scheme", "http"))
        if self.check_origin and not origin_allowed(origin, host, scheme, self.allowed_origins):
            return f"requests from the page at {origin[:200] if origin else 'null'!r} are not allowed here"
        if self.token is not None:
            given = _header(scope, TOKEN_HEADER.encode()) or ""
            if not hmac.compare_digest(given.encode("latin-1"), self.token.encode("latin-1")):
                return f"this request needs the page's session token (header {TOKEN_HEADER}); reload the page"
        return None
