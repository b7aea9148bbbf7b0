"""What drift monitoring costs the service: part (c) of ``python -m bench.drift``.

In one process, the same batches of 50 headlines through the service's prediction
(``serve.hosting.result_rows``) alone and followed by the monitor's ``observe``, in turns; and over HTTP,
two real servers (monitor off and on) loaded in turns, their CPU per headline read from /proc.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets import ag_news

BATCH = 50


# (c) Cost in the service --------------------------------------------------------------------------------
def cost(rounds: int = 30, batches: int = 40) -> dict[str, Any]:
    from classify.prediction.results import PredictOptions
    from classify.serve.hosting import result_rows
    from classify.serve.monitor import Monitor
    from classify.training.default_model import load_default_model

    model = load_default_model()
    texts, _ = ag_news()
    rng = np.random.default_rng(5)
    texts = [texts[i] for i in rng.permutation(len(texts))[: BATCH * batches]]
    chunks = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    from prometheus_client import CollectorRegistry

    monitor = Monitor(1000, CollectorRegistry())

    class Served:
        id = "bench"

    served = Served()
    served.model = model  # type: ignore[attr-defined]
    options = PredictOptions()
    deadline = float("inf")
    for chunk in chunks[:5]:  # warm the caches of both
        monitor.observe(served, chunk, result_rows(model, None, chunk, options, deadline))
    plain, watched, observe_only = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for chunk in chunks:
            result_rows(model, None, chunk, options, deadline)
        t1 = time.perf_counter()
        spent = 0.0
        for chunk in chunks:
            rows = result_rows(model, None, chunk, options, deadline)
            s = time.perf_counter()
            monitor.observe(served, chunk, rows)
            spent += time.perf_counter() - s
        t2 = time.perf_counter()
        plain.append(t1 - t0)
        watched.append(t2 - t1)
        observe_only.append(spent)
    s = time.perf_counter()
    for _ in range(20):
        monitor.refresh()
        monitor.describe(served)
    scrape = (time.perf_counter() - s) / 20
    n = len(chunks) * BATCH
    return {
        "headlines_per_round": n,
        "rounds": rounds,
        "plain_per_headline_us": 1e6 * statistics.median(plain) / n,
        "watched_per_headline_us": 1e6 * statistics.median(watched) / n,
        "observe_per_headline_us": 1e6 * statistics.median(observe_only) / n,
        "overhead": statistics.median(observe_only) / statistics.median(plain),
        "overhead_paired": statistics.median(watched) / statistics.median(plain) - 1,
        # The least time of each over the rounds: the cost without the other processes' interference
        # (this machine's cores are shared).
        "overhead_min": min(observe_only) / min(plain),
        "scrape_ms": 1e3 * scrape,
    }


def http_cost(phases: int = 8, requests: int = 400) -> dict[str, Any]:
    """Two real servers of the default model, one with the monitor off (``--monitor-window 0``) and one
    with the default window, loaded in turns with the same batches of 50 (two connections): server CPU
    seconds per headline of each, from /proc (throughput cost, robust to the other processes here)."""
    import asyncio
    import subprocess
    import sys
    import tempfile

    import httpx

    from bench.serve import closed_loop, free_port, tree_cpu
    from classify.training.default_model import default_model_path, load_default_model

    load_default_model()
    texts, _ = ag_news()
    rng = np.random.default_rng(6)
    texts = [texts[i] for i in rng.permutation(len(texts))]
    servers = {}
    logs = Path(tempfile.mkdtemp(prefix="drift-cost-"))
    try:
        for name, window in (("off", "0"), ("on", "1000")):
            port = free_port()
            command = [sys.executable, "-m", "classify", "serve", "--model", str(default_model_path())]
            command += ["--port", str(port), "--monitor-window", window, "--no-access-log"]
            log = (logs / f"{name}.log").open("w")
            servers[name] = (
                subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT),
                f"http://127.0.0.1:{port}",
            )
        for _, url in servers.values():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            httpx.post(f"{url}/v1/classify", json={"headlines": texts[:500]}, timeout=60).raise_for_status()
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        rate: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(phases):
            for name, (process, url) in servers.items():
                before = tree_cpu(process.pid)
                phase = asyncio.run(closed_loop(url, texts, BATCH, requests, 2, 120.0))
                used = tree_cpu(process.pid) - before
                done = len(phase.latencies) * BATCH
                cpu[name].append(1e6 * used / done)
                rate[name].append(done / phase.seconds)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    return {
        "phases": phases,
        "headlines_per_phase": requests * BATCH,
        "cpu_us_per_headline_off": off,
        "cpu_us_per_headline_on": on,
        "cpu_overhead": on / off - 1,
        "headlines_per_s_off": statistics.median(rate["off"]),
        "headlines_per_s_on": statistics.median(rate["on"]),
    }
