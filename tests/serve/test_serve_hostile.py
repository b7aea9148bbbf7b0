"""`classify serve` under attack, against a real server process: a user's regex that backtracks, pages
of other sites, DNS rebinding, malformed HTTP framing, slow headers, models that load but cannot
predict, odd API keys, and what the metrics count.

Each test failed before the fix (see the module of each fix for why it works).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="the service tests need httpx: pip install -e '.[test]'")
pytest.importorskip("fastapi", reason="the service tests need the serve extra: pip install -e '.[test]'")

from tests.conftest import TINY  # noqa: E402
from tests.serve.test_serve import parse_metrics, replace_atomically, wait_for  # noqa: E402
from tests.serving import Server, start  # noqa: E402

ORIGIN = "http://editor.example"
SPORT = TINY["sport"][:3]
#: The issue's request: each extra "a" doubled the time `re` took.
REDOS = {"text": "a" * 40 + "!", "split_pattern": "(a+)+$"}
#: A pattern the regex engine cannot shortcut either.
REDOS_HARD = {"text": "a" * 40 + "!", "split_pattern": "(a|a)+$"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: Path) -> Iterator[Server]:
    """No API key (so Origin is checked), CORS for one origin, a 3 s time limit, small bodies, and a
    proxy's host name allowed."""
    folder = tmp_path_factory.mktemp("hostile-serve")
    args = ["--model", str(tiny_model_path), "--cors", ORIGIN, "--timeout", "3", "--max-body", "4KB"]
    args += ["--allow-host", "proxy.example"]
    srv = start(args, folder)
    yield srv
    srv.stop()


def raw(server: Server, data: bytes, wait: float = 15.0) -> bytes:
    """Send bytes on one connection; everything the server sends until it closes (or ``wait``)."""
    out = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except TimeoutError:
            pass
    return out


# A user's regex ------------------------------------------------------------------------------
def test_a_backtracking_split_pattern_is_stopped_and_the_service_keeps_answering(server: Server) -> None:
    answers: list[Any] = []

    def send(body: dict[str, str]) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c:
            started = time.monotonic()
            answers.append((c.post("/v1/classify", json=body), time.monotonic() - started))

    senders = [threading.Thread(target=send, args=(body,)) for body in (REDOS, REDOS_HARD)]
    for t in senders:
        t.start()
    time.sleep(0.3)
    with httpx.Client(base_url=server.url, timeout=5) as c:
        started = time.monotonic()
        assert c.get("/healthz").status_code == 200  # the event loop is not starved meanwhile
        assert time.monotonic() - started < 2
    for t in senders:
        t.join(timeout=60)
    assert len(answers) == 2
    for response, seconds in answers:
        assert seconds < 3 + 5  # the time limit, plus the CPU the pattern may take on a loaded machine
        assert response.status_code in (200, 422), response.text
        if response.status_code == 422:
            assert "split pattern" in response.json()["error"] and "backtrack" in response.json()["error"]
    assert any(r.status_code == 422 for r, _ in answers)  # (a|a)+$ is refused, not run for minutes


def test_a_pattern_that_does_not_compile_is_refused_with_headlines_too(server: Server) -> None:
    """schemathesis found it: the schema says split_pattern is a regex, so a request with headlines
    and a pattern that does not compile must not be answered 200."""
    body = {"headlines": ["Stocks fall"], "split_pattern": "[unclosed"}
    answer = httpx.post(f"{server.url}/v1/classify", json=body, timeout=30)
    assert answer.status_code == 422
    assert "split pattern" in answer.json()["error"]


def test_a_backtracking_split_pattern_fails_the_cli_at_once(tmp_path: Path, tiny_model_path: Path) -> None:
    feed = tmp_path / "ticker.txt"
    feed.write_text("a" * 40 + "!\n", encoding="utf-8")
    argv = [sys.executable, "-m", "classify", "predict", str(feed), "-m", str(tiny_model_path)]
    try:
        done = subprocess.run(
            [*argv, "--split", "(a|a)+$"], capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("classify predict --split '(a|a)+$' ran for more than 60 s")
    assert done.returncode == 1
    assert "split pattern '(a|a)+$' took more than 1 s" in done.stderr


# Other sites' pages and DNS rebinding ---------------------------------------------------------
def test_pages_of_other_sites_and_rebound_names_are_refused(server: Server) -> None:
    body = {"headlines": SPORT}
    with httpx.Client(base_url=server.url, timeout=30) as c:
        evil = c.post("/v1/classify", json=body, headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403 and "not allowed" in evil.json()["error"]
        assert c.post("/v1/classify", json=body, headers={"Origin": "null"}).status_code == 403
        # A text/plain body is what a no-cors fetch sends: refused by its Origin before it is read.
        plain = c.post(
            "/v1/classify",
            content=json.dumps(body),
            headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        )
        assert plain.status_code == 403
        # Allowed: programs (no Origin), the service's own page, the --cors origin.
        assert c.post("/v1/classify", json=body).status_code == 200
        assert c.post("/v1/classify", json=body, headers={"Origin": server.url}).status_code == 200
        assert c.post("/v1/classify", json=body, headers={"Origin": ORIGIN}).status_code == 200
        # DNS rebinding: a hostile name resolving to 127.0.0.1 gets nothing, not even the page.
        rebound = {"Host": f"rebound.example:{server.port}"}
        for response in (c.get("/", headers=rebound), c.post("/v1/classify", json=body, headers=rebound)):
            assert response.status_code == 403 and "localhost" in response.json()["error"]
        assert c.get("/healthz", headers={"Host": f"localhost:{server.port}"}).status_code == 200
        # A reverse proxy's public name, named with --allow-host, is answered.
        assert c.get("/healthz", headers={"Host": "proxy.example"}).status_code == 200


# HTTP framing --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n{}",
        b"FOO / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ],
    ids=["length-abc", "length-minus-1", "two-lengths", "length-and-chunked", "method-FOO"],
)
def test_malformed_framing_is_answered_as_json(server: Server, head: bytes) -> None:
    answer = raw(server, head)
    status, _, rest = answer.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status == b"HTTP/1.1 400 Bad Request", answer
    assert b"content-type: application/json" in headers.lower()
    assert list(json.loads(body)) == ["error"]
    assert "not valid HTTP/1.1" in json.loads(body)["error"]


def test_slow_headers_get_a_json_408_within_the_time_limit(server: Server) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        out = b""
        try:
            while len(out) < 100_000:
                sock.sendall(b"X-Slow: 1\r\n")  # a header every half second, never the end
                time.sleep(0.5)
                sock.settimeout(0.01)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    chunk = None
                if chunk == b"":
                    break
                out += chunk or b""
                if time.monotonic() - started > 12:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert out.startswith(b"HTTP/1.1 408"), out
    assert b'"error"' in out and b"headers did not arrive within 3 s" in out
    assert time.monotonic() - started < 3 + 2


# Reloads -------------------------------------------------------------------------------------
def broken_settings_copy(source: Path, target: Path) -> None:
    """``source`` with a setting of the wrong type and the manifest's digest recomputed: a file that
    passes every integrity check but whose model cannot predict (or that a stricter loader refuses)."""
    from classify.pipeline import modelfile

    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members[modelfile.MANIFEST])
    edited = 0
    for step in manifest["steps"]:
        for params in (step.get("params") or {}, step.get("state") or {}):
            if "cache_size" in params:
                params["cache_size"] = "x"
                edited += 1
    assert edited, "no cache_size setting to break"
    manifest["digest"] = modelfile._digest(manifest)
    members[modelfile.MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, blob in members.items():
            archive.writestr(name, blob)


def test_a_model_that_loads_but_cannot_predict_is_not_swapped_in(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    import shutil

    target = tmp_path / "live.joblib"
    shutil.copyfile(tiny_model_path, target)
    srv = start(["--model", str(target), "--reload-interval", "0.1", "--no-access-log"], tmp_path)
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            serving = c.get("/v1/model").json()["id"]
            broken = tmp_path / "broken.joblib"
            broken_settings_copy(tiny_model_path, broken)
            replace_atomically(broken, target)
            status = wait_for(lambda: c.get("/v1/model").json()["reload"]["last_error"], "the failed reload")
            assert "live.joblib" in status["error"] and "still serving" in status["error"]
            time.sleep(1.0)  # ten more checks of the same file
            answer = c.post("/v1/classify", json={"headlines": SPORT})
            assert answer.status_code == 200 and answer.json()["model"]["id"] == serving
            samples = parse_metrics(c.get("/metrics").text)
            assert samples['classify_model_reloads_total{result="failed"}'] == 1  # tried once, not again
    finally:
        srv.stop()
    assert srv.log().count("model not loaded") == 1


def test_a_reload_that_runs_out_of_memory_is_reported_and_not_retried(
    tmp_path: Path, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from classify.pipeline.model import load_model
    from classify.serve import hosting

    target = tmp_path / "live.joblib"
    shutil.copyfile(tiny_model_path, target)
    outcomes: list[bool] = []
    host = hosting.ModelHost(target, on_reload=outcomes.append)
    host.adopt(load_model(target))
    calls = 0

    def exhausted(path: Path | None) -> Any:
        nonlocal calls
        calls += 1
        raise MemoryError

    monkeypatch.setattr(hosting, "load", exhausted)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))  # a "new" file
    for _ in range(5):
        host.check()
    assert calls == 1 and outcomes == [False]
    error = host.status()["last_error"]["error"]
    assert "live.joblib: not enough memory to load it" in error and "still serving" in error
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 2 * 10**9))  # changed again: tried again
    host.check()
    assert calls == 2


# API keys ------------------------------------------------------------------------------------
def test_a_non_ascii_api_key_is_refused_at_start(tmp_path: Path, tiny_model_path: Path) -> None:
    env = {**os.environ, "CLASSIFY_TEST_KEY": "clé-secrète"}
    argv = [sys.executable, "-m", "classify", "serve", "--model", str(tiny_model_path)]
    argv += ["--api-key-env", "CLASSIFY_TEST_KEY", "--port", "0"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail("the service started with a key no client can send")
    assert done.returncode == 1
    assert "CLASSIFY_TEST_KEY holds characters other than printable ASCII" in done.stderr


# Metrics -------------------------------------------------------------------------------------
def test_answers_given_before_routing_are_counted_under_their_route(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert c.post("/v1/classify", content=b"x" * 5000).status_code == 413  # before it is routed
        samples = parse_metrics(c.get("/metrics").text)
        assert samples['classify_http_errors_total{route="/v1/classify",status="413"}'] >= 1
        assert (
            c.post("/v1/classify", json={"headlines": SPORT}, headers={"Origin": "null"}).status_code == 403
        )
        samples = parse_metrics(c.get("/metrics").text)
        assert samples['classify_http_errors_total{route="/v1/classify",status="403"}'] >= 1


# The schema ----------------------------------------------------------------------------------
def test_the_schema_says_headlines_or_text(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        spec = c.get("/openapi.json").json()
        both = c.post("/v1/classify", json={"headlines": SPORT, "text": "x"})
        null = c.post("/v1/classify", json={"headlines": None, "text": "Coach sacked"})
    request = spec["components"]["schemas"]["ClassifyRequest"]
    assert request["oneOf"] == [{"required": ["headlines"]}, {"required": ["text"]}]
    assert request["properties"]["headlines"]["type"] == "array"  # not nullable: null is refused
    assert both.status_code == 422 and null.status_code == 422


def test_a_lone_surrogate_in_a_request_is_no_server_error(server: Server) -> None:
    """A JSON escape "\\ud800" decodes to a lone surrogate: in a headline it becomes U+FFFD, as
    classify predict writes it; in the label the answer repeats it is a 422. Never a 500."""
    raw_body = '{"headlines": ["Stocks \\ud800 fall"]}'
    answer = httpx.post(
        f"{server.url}/v1/classify",
        content=raw_body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["headline"] == "Stocks \ufffd fall"
    text = '{"text": "Stocks fall \\ud800 | Coach sacked"}'
    split = httpx.post(
        f"{server.url}/v1/classify", content=text, headers={"Content-Type": "application/json"}
    )
    assert split.status_code == 200 and len(split.json()["results"]) == 2
    label = '{"headlines": ["Stocks fall"], "min_confidence": 0.99, "uncertain_label": "\\ud800"}'
    refused = httpx.post(
        f"{server.url}/v1/classify", content=label, headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 422 and "uncertain_label" in refused.json()["error"]
