"""Load test of `classify serve` on loopback, against the library's in-process throughput.

    python -m bench.serve                   # ~2 minutes; writes bench/results/serve.{md,json}
    python -m bench.serve --quick           # smoke run: a few seconds per phase

What it measures, in one run on one machine (speeds are only comparable within a run):

1. In-process throughput of the library on one core: ``classify.prediction.predictor.predict`` on batches
of 1, 50
   and 1,000 headlines, and the service's own work per request without HTTP
   (:func:`classify.serve.hosting.result_rows`: predict + output rows) on batches of 1 and 50.
2. For 1 and 2 worker processes, a real ``python -m classify serve`` (default settings, access log
   on, written to a file) pinned to core 0 (1 worker) or cores 0-1 (2 workers), and an async httpx
   client in this process pinned to core 1:
   - closed loop, single-headline requests: a fixed number of requests from 8 concurrent
     connections, stopped early at a time limit;
   - closed loop, batches of 50 headlines from 4 connections, likewise;
   - open loop at fixed rates (200 and 25 requests/s by default) of single-headline requests for a
     fixed time: each latency counts from the request's scheduled start, so a stalled server cannot hide
     its queue (no coordinated omission).
   Reported: headlines/s, latency p50/p95/p99, errors (any status but 200, or a transport error).

Headlines come from the project's own corpus (data/headlines.csv), shuffled with a fixed seed; every
phase first sends one warm-up pass so that the model's token cache is as warm as in the in-process
measurement. The model is the default model (built on first use) unless --model is given.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "headlines.csv"


def headlines(n: int) -> list[str]:
    with CORPUS.open(newline="", encoding="utf-8") as fh:
        texts = [row["headline"] for row in csv.DictReader(fh)]
    random.Random(0).shuffle(texts)
    return texts[:n]


@contextmanager
def pinned(cores: set[int]) -> Iterator[None]:
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


# In-process --------------------------------------------------------------------------------------------
def in_process(model_path: Path, texts: list[str], seconds: float) -> dict[str, float]:
    """Headlines per second of the library on one core (warm), per batch size: per wall-clock second
    and per CPU second (the figure that a busy shared machine disturbs least)."""
    from classify.pipeline.model import load_model
    from classify.prediction.predictor import predict
    from classify.serve import hosting

    model = load_model(model_path)
    list(predict(model, texts))  # warm the token cache, as the servers are warmed
    out: dict[str, float] = {}

    def measure(name: str, batch: int, work: Any) -> None:
        done, started, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            for i in range(0, len(texts) - batch + 1, batch):
                work(texts[i : i + batch])
                done += batch
                if time.perf_counter() - started >= seconds:
                    break
        out[name] = done / (time.perf_counter() - started)
        out[f"{name} (per CPU second)"] = done / (time.process_time() - cpu)
        per_cpu = out[f"{name} (per CPU second)"]
        print(f"  in-process {name}: {out[name]:,.0f} headlines/s, {per_cpu:,.0f} per CPU s", flush=True)

    options = hosting.Options()
    with pinned({0}):
        for batch in (1, 50, 1000):
            measure(f"predict, batch {batch}", batch, lambda b: list(predict(model, b)))
        deadline = float("inf")
        for batch in (1, 50):
            measure(
                f"service work without HTTP, batch {batch}",
                batch,
                lambda b: hosting.result_rows(model, None, b, options, deadline),
            )
    return out


# Over HTTP ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants (Linux /proc)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


@contextmanager
def server(model_path: Path, workers: int, log_dir: Path) -> Iterator[tuple[str, int]]:
    import httpx

    port = free_port()
    cores = "0" if workers == 1 else "0,1"
    command = ["taskset", "-c", cores, sys.executable, "-m", "classify", "serve", "--model", str(model_path)]
    command += ["--port", str(port), "--workers", str(workers)]
    log = (log_dir / f"serve-{workers}.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start; see {log.name}")
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class Phase:
    """Latencies and errors of one phase of load."""

    def __init__(self, name: str, batch: int) -> None:
        self.name, self.batch = name, batch
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.seconds = 0.0
        self.client_cpu = 0.0
        self.server_cpu = 0.0

    def summary(self) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies]
        n = len(self.latencies)
        return {
            "phase": self.name,
            "batch": self.batch,
            "requests": n + len(self.errors),
            "errors": len(self.errors),
            "error_examples": self.errors[:3],
            "seconds": round(self.seconds, 2),
            "requests_per_s": n / self.seconds if self.seconds else 0.0,
            "headlines_per_s": n * self.batch / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "client_cpu_share": self.client_cpu / self.seconds if self.seconds else 0.0,
            "server_cpu_ms_per_request": 1000 * self.server_cpu / n if n else 0.0,
            "headlines_per_server_cpu_s": n * self.batch / self.server_cpu if self.server_cpu else 0.0,
        }


async def post(client: Any, phase: Phase, body: dict[str, Any], started: float) -> None:
    try:
        response = await client.post("/v1/classify", json=body)
        if response.status_code != 200:
            phase.errors.append(f"{response.status_code} {response.text[:200]}")
            return
        if len(response.json()["results"]) != phase.batch:
            phase.errors.append("wrong number of results")
            return
    except Exception as exc:  # every failure counts as an error of the run
        phase.errors.append(repr(exc))
        return
    phase.latencies.append(time.perf_counter() - started)


def bodies(texts: list[str], batch: int) -> Iterator[dict[str, Any]]:
    while True:
        for i in range(0, len(texts) - batch + 1, batch):
            yield {"headlines": texts[i : i + batch]}


async def warm_up(url: str, texts: list[str]) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for i in range(0, len(texts), 500):
            response = await client.post("/v1/classify", json={"headlines": texts[i : i + 500]})
            response.raise_for_status()


async def closed_loop(
    url: str, texts: list[str], batch: int, count: int, concurrency: int, limit: float
) -> Phase:
    """``count`` requests from ``concurrency`` connections, each sending its next as soon as answered."""
    import httpx

    phase = Phase(f"closed loop, {concurrency} connections", batch)
    source = bodies(texts, batch)
    remaining = count
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        cpu = time.process_time()

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0 and time.perf_counter() - started < limit:
                remaining -= 1
                await post(client, phase, next(source), time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        phase.seconds = time.perf_counter() - started
        phase.client_cpu = time.process_time() - cpu
    return phase


async def open_loop(url: str, texts: list[str], rate: float, seconds: float, in_flight: int = 64) -> Phase:
    """Single-headline requests started at a fixed rate, whatever the server's pace.

    At most ``in_flight`` requests are open at once (a request due while all are busy waits for one,
    and that wait counts in its latency); whatever is unanswered 30 s after the last request was due
    is cancelled and counted as an error, so the phase always ends.
    """
    import httpx

    phase = Phase(f"open loop, {rate:g} requests/s", 1)
    source = bodies(texts, 1)
    slots = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:

        async def one(body: dict[str, Any], scheduled: float) -> None:
            async with slots:
                await post(client, phase, body, scheduled)

        start = time.perf_counter()
        cpu = time.process_time()
        tasks = []
        for i in range(int(rate * seconds)):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(next(source), scheduled)))
        _, late = await asyncio.wait(tasks, timeout=30)
        for task in late:
            task.cancel()
            phase.errors.append("not answered within 30 s of the end of the phase")
        await asyncio.gather(*late, return_exceptions=True)
        phase.seconds = time.perf_counter() - start
        phase.client_cpu = time.process_time() - cpu
    return phase


def over_http(
    model_path: Path, texts: list[str], workers: int, args: argparse.Namespace, log_dir: Path
) -> list[dict[str, Any]]:
    results = []
    with server(model_path, workers, log_dir) as (url, pid), pinned({1}):
        asyncio.run(warm_up(url, texts))
        runs = [
            lambda: closed_loop(url, texts, 1, args.requests, 8, args.limit),
            lambda: closed_loop(url, texts, 50, args.batch_requests, 4, args.limit),
        ]
        runs += [lambda rate=rate: open_loop(url, texts, rate, args.rate_seconds) for rate in args.rate]
        for run in runs:
            cpu = tree_cpu(pid)
            phase = asyncio.run(run())
            phase.server_cpu = tree_cpu(pid) - cpu
            summary = {"workers": workers, **phase.summary()}
            results.append(summary)
            print(
                f"  {workers} worker(s), {phase.name}, batch {phase.batch}: "
                f"{summary['headlines_per_s']:,.0f} headlines/s, p50 {summary['p50_ms']:.1f} ms, "
                f"p95 {summary['p95_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms, "
                f"errors {summary['errors']}, "
                f"server CPU {summary['server_cpu_ms_per_request']:.2f} ms/request",
                flush=True,
            )
    return results


# Report ------------------------------------------------------------------------------------------------
def report(info: dict[str, Any], local: dict[str, float], http: list[dict[str, Any]]) -> str:
    lines = [
        "# classify serve: load test on loopback",
        "",
        f"Run {info['date']} on {info['machine']}; classify {info['classify']}, model {info['model']} "
        f"({info['model_rows']} training rows, {info['topics']} topics). Command: `{info['command']}`.",
        f"Load average (1 min) at the start {info['load_start']:.1f}, at the end {info['load_end']:.1f}: "
        "other jobs share the 2 cores, so wall-clock figures are noisy; CPU-time figures are steadier."
        + (
            f" Benchmark, servers and client ran at niceness {info['nice']} (ahead of the other jobs)."
            if info["nice"]
            else ""
        ),
        "",
        "Server: `python -m classify serve --model M --workers N` with default settings (access log on,",
        "written to a file), pinned to core 0 (1 worker) or cores 0-1 (2 workers); client: one async httpx",
        "process pinned to core 1 (so with 2 workers the client shares a core with one of them).",
        "In-process: the benchmark process pinned to core 0, token cache warm.",
        "",
        "## In-process library throughput (one core)",
        "",
        "| work | headlines/s | headlines per CPU second |",
        "|---|---:|---:|",
    ]
    for name, rate in local.items():
        if not name.endswith("(per CPU second)"):
            lines.append(f"| {name} | {rate:,.0f} | {local[f'{name} (per CPU second)']:,.0f} |")
    lines += [
        "",
        "## Over HTTP",
        "",
        "| workers | load | batch | requests | errors | headlines/s | p50 ms | p95 ms | p99 ms "
        "| vs in-process | server CPU ms/request | headlines per server CPU s | vs in-process per CPU s "
        "| client CPU |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in http:
        base = local[f"predict, batch {r['batch']}"]
        base_cpu = local[f"predict, batch {r['batch']} (per CPU second)"]
        lines.append(
            f"| {r['workers']} | {r['phase']} | {r['batch']} | {r['requests']} | {r['errors']} | "
            f"{r['headlines_per_s']:,.0f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['headlines_per_s'] / base:.0%} | {r['server_cpu_ms_per_request']:.2f} | "
            f"{r['headlines_per_server_cpu_s']:,.0f} | {r['headlines_per_server_cpu_s'] / base_cpu:.0%} | "
            f"{r['client_cpu_share']:.0%} |"
        )
    lines += [
        "",
        '"vs in-process" divides by the library\'s one-core throughput at the same batch size (`predict`,',
        'batch 1 or 50); "vs in-process per CPU s" compares CPU cost: all server processes\' CPU time',
        '(HTTP, JSON, validation, metrics, prediction) against `predict`\'s own. "client CPU" is the load',
        "generator's CPU time over the phase's wall time: near 100% means the client set the pace.",
        "",
        "## Goals",
        "",
    ]
    batch_local = local["predict, batch 50"]
    batch_cpu = local["predict, batch 50 (per CPU second)"]
    stream_local = local["predict, batch 1000"]
    for r in http:
        if r["batch"] == 50:
            share, stream = r["headlines_per_s"] / batch_local, r["headlines_per_s"] / stream_local
            cpu_share = r["headlines_per_server_cpu_s"] / batch_cpu
            verdict = "met" if share >= 0.5 else "NOT met"
            lines.append(
                f"- batches of 50, {r['workers']} worker(s): {share:.0%} of in-process batch-50 throughput "
                f"(goal >= 50%: {verdict}); per CPU second {cpu_share:.0%}; {stream:.0%} of in-process "
                "throughput on batches of 1,000."
            )
    for r in http:
        if r["phase"] == "open loop, 200 requests/s":
            verdict = "met" if r["p99_ms"] < 25 and r["errors"] == 0 else "NOT met"
            lines.append(
                f"- single headlines at {r['phase'].split(', ')[1]}, {r['workers']} worker(s): p99 "
                f"{r['p99_ms']:.1f} ms (goal < 25 ms: {verdict})."
            )
    total_errors = sum(r["errors"] for r in http)
    lines.append(f"- errors over all phases: {total_errors} of {sum(r['requests'] for r in http)} requests.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model file (default: the default model)")
    parser.add_argument("--requests", type=int, default=3000, help="single-headline requests, closed loop")
    parser.add_argument("--batch-requests", type=int, default=400, help="batch-of-50 requests, closed loop")
    parser.add_argument("--limit", type=float, default=30.0, help="time limit of each closed-loop phase (s)")
    parser.add_argument(
        "--rate",
        type=float,
        nargs="+",
        default=[200.0, 25.0],
        help="requests per second of the open-loop phases (the goal is set at 200; 25 shows the latency of "
        "a server that keeps up on a busy machine)",
    )
    parser.add_argument("--rate-seconds", type=float, default=10.0, help="duration of the open loop (s)")
    parser.add_argument(
        "--local-seconds", type=float, default=5.0, help="time per in-process measurement (s)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small counts, short phases")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run this process and its servers at this niceness (e.g. -10, as root) on a shared machine",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.batch_requests, args.limit = 300, 60, 10.0
        args.rate_seconds, args.local_seconds = 3.0, 1.0
    if args.nice:
        # Children (the servers) inherit it; the in-process figures are measured at the same priority.
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    if len(os.sched_getaffinity(0)) < 2:
        print("needs 2 cores (server and client on different cores)", file=sys.stderr)
        return 1

    import classify
    from classify.serve import hosting

    model_path = args.model or hosting.default_path()
    model = hosting.load(args.model)  # builds the default model if need be
    sha = hosting.file_sha256(model_path)
    texts = headlines(5000)
    print(f"model {model_path.name} ({sha[:16]}), {len(texts)} headlines", flush=True)
    load_start = os.getloadavg()[0]
    local = in_process(model_path, texts, args.local_seconds)
    http: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        for workers in args.workers:
            http += over_http(model_path, texts, workers, args, Path(tmp))
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python {platform.python_version()}",
        "classify": classify.__version__,
        "model": sha[:16],
        "model_rows": model.meta.get("n_rows"),
        "topics": len(model.topics),
        "command": "python -m bench.serve " + " ".join(argv if argv is not None else sys.argv[1:]),
        "peak_rss_mb_client": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "load_start": load_start,
        "load_end": os.getloadavg()[0],
        "nice": args.nice,
    }
    from classify.atomic import write_text_atomic

    args.out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out / "serve.md", report(info, local, http))
    payload = {"info": info, "in_process": local, "http": http}
    write_text_atomic(args.out / "serve.json", json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out / 'serve.md'}", flush=True)
    return 1 if any(r["errors"] for r in http) else 0


if __name__ == "__main__":
    sys.exit(main())
