"""Hostile requests to ``classify serve``, measured: what each costs the server, before and after.

The request side of ``bench/hostile.py`` (which measures hostile files): for this checkout and, with
``--old DIR``, another copy of classify (``git archive <commit> | tar -x -C DIR``), a real server on
a loopback port gets:

1. a ticker with a user ``split_pattern`` that backtracks (``(a+)+$`` and ``(a|a)+$`` on ``--redos-a``
   letters ``a`` and a ``!``; each extra letter doubles the time of a backtracking engine): the
   request's seconds, ``/healthz``'s latency while it runs, and the server's peak RSS;
2. a client sending one header line every half second and never finishing its headers: how long the
   server holds the connection (capped at ``--hold-cap`` seconds);
3. malformed framing (``Content-Length: abc``): the status and content type of the answer;
4. a model file replaced by one that loads but cannot predict: the statuses of the next requests.

Loopback only, every loop bounded. Usage::

    python bench/hostile_service.py [--old DIR] [--redos-a 24] [--hold-cap 30] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

TRAIN_TINY = """
import sys
from pathlib import Path
from tests.conftest import tiny_rows, write_csv
from classify import load_labelled, save_model, train
data = write_csv(Path(sys.argv[1]) / "tiny.csv", ["headline", "topic"], tiny_rows())
save_model(train(load_labelled(data)).model, Path(sys.argv[1]) / "tiny.joblib")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Service:
    """``python -m classify serve`` of one copy of classify, on a free loopback port."""

    def __init__(self, package: Path, model: Path, folder: Path, *extra: str) -> None:
        import httpx

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=str(package), CLASSIFY_CACHE_DIR=str(folder / "cache"))
        argv = [sys.executable, "-m", "classify", "serve", "--model", str(model), "--port", str(self.port)]
        self.log = (folder / f"serve-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [*argv, "--no-access-log", *extra], env=env, cwd=package, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("the service did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in a regex, SIGTERM waits for it: the point
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def redos(service: Service, pattern: str, letters: int, cap: float) -> dict[str, Any]:
    import httpx

    result: dict[str, Any] = {}

    def send() -> None:
        body = {"text": "a" * letters + "!", "split_pattern": pattern}
        started = time.monotonic()
        try:
            response = httpx.post(f"{service.url}/v1/classify", json=body, timeout=cap)
            result["status"] = response.status_code
        except httpx.TimeoutException:
            result["status"] = f"no answer in {cap:g} s"
        result["seconds"] = time.monotonic() - started

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.2)
    started = time.monotonic()
    try:
        httpx.get(f"{service.url}/healthz", timeout=cap)
        result["healthz_seconds"] = time.monotonic() - started
    except httpx.TimeoutException:
        result["healthz_seconds"] = f">{cap:g}"
    sender.join()
    result["peak_rss_mb"] = peak_rss_mb(service.process.pid)
    return result


def slow_headers(service: Service, cap: float) -> dict[str, Any]:
    started = time.monotonic()
    answer = b""
    with socket.create_connection(("127.0.0.1", service.port), timeout=cap) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sock.settimeout(0.5)
        while time.monotonic() - started < cap:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
    held = time.monotonic() - started
    status = answer.split(b"\r\n", 1)[0].decode() or "none"
    return {"held_seconds": held, "capped": held >= cap, "answer": status}


def framing(service: Service) -> dict[str, Any]:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode().lower()
    kind = next(
        (line.split(":", 1)[1].strip() for line in head.splitlines() if line.startswith("content-type")), ""
    )
    return {"status": head.split("\r\n", 1)[0], "content_type": kind}


def reload_unpredictable(package: Path, model: Path, folder: Path) -> dict[str, Any]:
    import httpx

    sys.path.insert(0, str(ROOT))
    from tests.test_serve_hostile import broken_settings_copy

    live = folder / "live.joblib"
    shutil.copyfile(model, live)
    service = Service(package, live, folder, "--reload-interval", "0.1")
    try:
        broken = folder / "broken.joblib"
        broken_settings_copy(model, broken)
        tmp = folder / ".live.tmp"
        shutil.copyfile(broken, tmp)
        os.replace(tmp, live)
        time.sleep(2.0)  # twenty checks
        statuses = [
            httpx.post(
                f"{service.url}/v1/classify", json={"headlines": ["Coach sacked"]}, timeout=30
            ).status_code
            for _ in range(10)
        ]
        reload = httpx.get(f"{service.url}/v1/model", timeout=30).json().get("reload", {})
    finally:
        service.stop()
    return {"statuses": statuses, "last_error": bool(reload.get("last_error"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="another copy of classify to compare with")
    parser.add_argument("--redos-a", type=int, default=24)
    parser.add_argument("--hold-cap", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    versions = {"this checkout": ROOT} | ({"old": args.old.resolve()} if args.old else {})
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run([sys.executable, "-c", TRAIN_TINY, tmp], cwd=ROOT, check=True)
        model = folder / "tiny.joblib"
        for label, package in versions.items():
            out: dict[str, Any] = {}
            results[label] = out
            for pattern in ("(a+)+$", "(a|a)+$"):
                service = Service(package, model, folder, "--timeout", "10")
                try:
                    out[f"redos {pattern}"] = redos(service, pattern, args.redos_a, cap=120.0)
                finally:
                    service.stop()
            service = Service(package, model, folder, "--timeout", "10")
            try:
                out["slow headers"] = slow_headers(service, args.hold_cap)
                out["Content-Length: abc"] = framing(service)
            finally:
                service.stop()
            out["reload of a model that cannot predict"] = reload_unpredictable(package, model, folder)
            print(label, json.dumps(out, indent=1), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hostile_service.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
