"""Starting a real `classify serve` (or `classify label`) process on a free loopback port, for the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: How long a server may take to start and load its model (a loaded CI machine is slow).
START_TIMEOUT = 90.0


def free_port() -> int:
    """A port nobody listens on now (the kernel picks it; it may be taken again before use, rarely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A `python -m classify COMMAND` subprocess serving HTTP; :meth:`stop` always ends it.

    ``ready`` is the route that answers 200 once the server can take requests; ``folder`` is also the
    working directory, so relative paths in ``args`` are the test's.
    """

    def __init__(
        self,
        args: list[str],
        folder: Path,
        env: dict[str, str] | None = None,
        *,
        command: str = "serve",
        ready: str = "/readyz",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"classify {command}"
        self.ready = ready
        self.log_path = folder / f"{command}-{self.port}.log"
        environment = {**os.environ, "CLASSIFY_CACHE_DIR": str(folder / "cache"), **(env or {})}
        argv = [sys.executable, "-m", "classify", command, "--port", str(self.port), *args]
        self._log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, env=environment, cwd=folder
        )

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """Poll the ready route until it answers 200; fail with the server's log if it dies or never does."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}{self.ready}", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self.name} was not ready after {timeout:.0f}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self._log.close()


def start(args: list[str], folder: Path, env: dict[str, str] | None = None) -> Server:
    """Start a server and wait until it is ready (the caller stops it, in a finaliser)."""
    server = Server(args, folder, env)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server
