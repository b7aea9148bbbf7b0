"""Start `python -m classify label` as a real process on a free loopback port (shared by two tests)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.serving import Server

#: The label page builds its session (and may build the default model) before it answers.
START_TIMEOUT = 120.0


@contextmanager
def label_server(
    args: list[str], cwd: Path, *, timeout: float = START_TIMEOUT
) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    """Run ``classify label ARGS --port P`` in ``cwd``; yield its base URL and process; stop it after."""
    server = Server(args, cwd, command="label", ready="/api/health")
    try:
        server.wait_ready(timeout)
        yield server.url, server.process
    finally:
        server.stop()


def page_token(http: Any) -> str:
    """The session token the label page carries (every POST must send it as X-Classify-Token)."""
    match = re.search(r'<meta name="classify-token" content="([^"]+)">', http.get("/").text)
    return match.group(1) if match else ""


@contextmanager
def label_client(url: str) -> Iterator[Any]:
    """An httpx client for the label server that sends the page's token, as the page does."""
    import httpx

    with httpx.Client(base_url=url, timeout=30) as http:
        http.headers["X-Classify-Token"] = page_token(http)
        yield http
