"""Start `python -m classify label` as a real process on a free loopback port (shared by two tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def label_server(
    args: list[str], cwd: Path, *, timeout: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen]]:  # type: ignore[type-arg]
    """Run ``classify label ARGS --port P`` in ``cwd``; yield its base URL and process; stop it after."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (cwd / f"server-{port}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "classify", "label", *args, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.close()
                output = (cwd / f"server-{port}.log").read_text()
                raise RuntimeError(f"classify label exited with {proc.returncode}:\n{output}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("classify label did not start in time")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
