"""`classify serve`: a real server process on a loopback port, talked to over HTTP with httpx.

Covers every route, every error status, the API key, CORS, several workers, and model reloads during
traffic. Pieces that need no server (settings, sizes, in-process error paths) are tested directly.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="the service tests need httpx: pip install -e '.[test]'")
pytest.importorskip("fastapi", reason="the service tests need the serve extra: pip install -e '.[test]'")

from classify.paths import install_hint  # noqa: E402
from classify.prediction.predictor import PredictOptions  # noqa: E402
from classify.serve import ServeSettings, parse_size  # noqa: E402
from tests.cli.test_cli import run  # noqa: E402
from tests.conftest import TINY, write_csv  # noqa: E402
from tests.serving import Server, start  # noqa: E402

KEY = "s3cret-key-for-tests"
ORIGIN = "http://editor.example"

# A second model with other topics, so that a reload is visible in every answer.
OTHER = {
    "weather": [
        "Heavy rain expected across the north on Friday",
        "Heatwave pushes temperatures past forty degrees",
        "Storm brings strong winds and flooding to the coast",
        "Snow closes mountain roads for a second day",
        "Forecasters warn of thick fog on the motorways",
        "Dry spell continues with no rain for a month",
        "Thunderstorms likely in the afternoon, forecasters say",
        "Cold front brings frost to farms in the valley",
    ],
    "music": [
        "Band announces a farewell tour next spring",
        "Singer releases a new album of love songs",
        "Orchestra plays a free concert in the park",
        "Rapper tops the charts for the fourth week",
        "Jazz festival returns with thirty bands",
        "Pianist wins the international competition",
        "Guitarist signs with a major record label",
        "Choir records a live album in the cathedral",
    ],
    "transport": [
        "New metro line opens to passengers on Monday",
        "Train fares to rise by five percent in January",
        "Airport adds direct flights to three cities",
        "Bus drivers get new electric vehicles",
        "Ferry service suspended after engine failure",
        "Ring road widening finished ahead of schedule",
        "Railway station reopens after renovation",
        "Cycle lanes added to the main avenue",
    ],
}
SPORT = TINY["sport"][:3]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="module")
def other_model_path(folder: Path) -> Path:
    from classify import load_labelled, save_model, train

    rows = [(text, topic) for topic, texts in OTHER.items() for text in texts]
    data = write_csv(folder / "other.csv", ["headline", "topic"], rows)
    return save_model(train(load_labelled(data)).model, folder / "other.joblib")


@pytest.fixture(scope="module")
def server(folder: Path, tiny_model_path: Path) -> Iterator[Server]:
    """The plain service, with small limits so the limit tests stay small."""
    srv = start(["--model", str(tiny_model_path), "--max-batch", "20", "--max-body", "4KB"], folder)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[Any]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def secured(folder: Path, tiny_model_path: Path) -> Iterator[Server]:
    """The service with an API key, CORS for one origin and a 2 s request time limit."""
    args = ["--model", str(tiny_model_path), "--api-key-env", "CLASSIFY_TEST_KEY", "--cors", ORIGIN]
    srv = start([*args, "--timeout", "2"], folder, env={"CLASSIFY_TEST_KEY": KEY})
    yield srv
    srv.stop()


def classify(client: Any, **body: Any) -> Any:
    return client.post("/v1/classify", json=body)


def assert_error(response: Any, status: int, *words: str) -> str:
    """The answer is JSON with exactly one key, ``error``: one line naming the problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    message = body["error"]
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return str(message)


def cli_rows(model: Path, stdin: str, *args: str) -> list[dict[str, Any]]:
    result = run("predict", "--model", str(model), "-f", "jsonl", *args, input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


# Routes ---------------------------------------------------------------------------------------------
def test_health_and_readiness(client: Any, tiny_model_path: Path) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    sha = hashlib.sha256(tiny_model_path.read_bytes()).hexdigest()
    assert ready.json() == {"status": "ready", "model": sha[:16]}


def test_listens_on_loopback_by_default(server: Server) -> None:
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in server.log()


def test_headlines_give_the_cli_values(client: Any, tiny_model_path: Path) -> None:
    headlines = [*SPORT, "Inflation slows for the third month in a row", "A long night in Giza", SPORT[0]]
    options = {"top_k": 2, "explain": True, "min_confidence": 0.6}
    response = classify(client, headlines=headlines, **options)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["topics"] == ["economy", "health", "sport"]
    expected = cli_rows(
        tiny_model_path,
        "\n".join(headlines) + "\n",
        "--no-split",
        "--top-k",
        "2",
        "--explain",
        "--min-confidence",
        "0.6",
    )
    assert body["results"] == expected
    assert [r["headline"] for r in body["results"]] == headlines  # input order, repeats kept
    assert {"topics", "why", "best_guess"} <= set(body["results"][0])


def test_plain_results_have_only_topic_and_confidence(client: Any) -> None:
    (row,) = classify(client, headlines=["  Coach   sacked after defeat "]).json()["results"]
    assert list(row) == ["headline", "topic", "confidence"]
    assert row["headline"] == "Coach sacked after defeat"  # white space collapsed, as the CLI does
    assert row["topic"] == "sport" and 0 < row["confidence"] <= 1


def test_ticker_text_is_split_as_the_cli_splits_it(client: Any, tiny_model_path: Path) -> None:
    text = "Coach sacked   Oil prices climb • Flu cases rise\r\nStudy links poor sleep to heart disease\n\n"
    body = classify(client, text=text).json()
    assert [r["headline"] for r in body["results"]] == [
        "Coach sacked",
        "Oil prices climb",
        "Flu cases rise",
        "Study links poor sleep to heart disease",
    ]
    assert body["results"] == cli_rows(tiny_model_path, text)
    whole = classify(client, text=text, split=False).json()
    assert whole["results"] == cli_rows(tiny_model_path, text, "--no-split")
    custom = classify(client, text="Coach sacked ## Oil prices climb", split_pattern=" ## ").json()
    assert [r["headline"] for r in custom["results"]] == ["Coach sacked", "Oil prices climb"]


def test_scraped_page_keeps_its_headlines(client: Any, tiny_model_path: Path, tmp_path: Path) -> None:
    page = (
        "Home | Sport | Health\n"
        "Striker scores twice as United win the cup final   Hospital opens a new cancer treatment unit\n"
        "Central bank raises interest rates by two points\n"
        "Published in Valley Herald on 3 March 2025\n"
        "The bank said on Sunday that it raised its main rate. Analysts had expected the move, which "
        "follows months of rising prices and a weaker pound, and more rises may come this year.\n"
    )
    body = classify(client, text=page, from_page=True).json()
    path = tmp_path / "page.txt"
    path.write_text(page, encoding="utf-8")
    result = run("predict", "--model", str(tiny_model_path), "-f", "jsonl", "--from-page", str(path))
    assert body["results"] == [json.loads(line) for line in result.stdout.splitlines()]
    assert "Central bank raises interest rates by two points" in [r["headline"] for r in body["results"]]


def test_nothing_to_classify_is_an_empty_answer(client: Any) -> None:
    assert classify(client, headlines=[]).json()["results"] == []
    assert classify(client, text=" \n\t\n").json()["results"] == []


def test_topics(client: Any) -> None:
    body = client.get("/v1/topics").json()
    assert [t["name"] for t in body["topics"]] == ["economy", "health", "sport"]
    assert all(t["count"] == 8 for t in body["topics"])
    economy = body["topics"][0]
    assert economy["iptc"].startswith("04000000") and economy["description"]  # a default topic: described
    assert body["model"]["id"] == client.get("/readyz").json()["model"]


def test_model_provenance(client: Any, tiny_model_path: Path) -> None:
    body = client.get("/v1/model").json()
    sha = hashlib.sha256(tiny_model_path.read_bytes()).hexdigest()
    assert body["sha256"] == sha and body["id"] == sha[:16]
    assert body["file"] == tiny_model_path.name
    assert body["n_rows"] == 24 and body["counts"] == {"sport": 8, "economy": 8, "health": 8}
    assert body["source"] == "tiny.csv"  # the training file's name, not where it lives on the server
    assert "scikit-learn" in body["versions"] and body["created"] and body["data_hash"]
    assert body["reload"]["watching"] is True and body["reload"]["last_error"] is None
    assert str(tiny_model_path.parent) not in json.dumps(body)


def test_metrics(client: Any) -> None:
    for _ in range(3):
        classify(client, headlines=SPORT)
    classify(client, headlines="not a list")
    text = client.get("/metrics").text
    samples = parse_metrics(text)
    assert samples[('classify_http_requests_total{method="POST",route="/v1/classify",status="200"}')] >= 3
    assert samples['classify_http_errors_total{route="/v1/classify",status="422"}'] >= 1
    assert samples['classify_headlines_total{topic="sport"}'] >= 9
    assert samples['classify_http_request_duration_seconds_count{route="/v1/classify"}'] >= 4
    assert 'classify_http_request_duration_seconds_bucket{le="0.01",route="/v1/classify"}' in samples
    client.get("/no/such/page/12345")
    again = parse_metrics(client.get("/metrics").text)
    assert again['classify_http_errors_total{route="unmatched",status="404"}'] >= 1
    assert not any("12345" in name for name in again)  # made-up paths never become series


def parse_metrics(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_page_and_docs(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for asset, kind in (("/static/app.js", "text/javascript"), ("/static/app.css", "text/css")):
        response = client.get(asset)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
        # Served from the package and working offline: no CDN, no remote fonts or scripts.
        assert "http://" not in response.text
        assert "https://" not in response.text
    assert 'src="/static/app.js"' in page.text and "https://" not in page.text
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/classify", "/v1/topics", "/v1/model", "/healthz", "/readyz", "/metrics"} <= set(paths)


def test_no_cors_unless_asked(client: Any) -> None:
    # Without a key, another site's page may not use the service at all (see test_serve_hostile.py).
    response = client.post("/v1/classify", json={"headlines": SPORT}, headers={"Origin": ORIGIN})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options(
        "/v1/classify", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers


# Errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"headlines": "Coach sacked"}, ["headlines", "valid list"]),
        ({"headlines": ["Coach sacked", 3]}, ["headlines[1]", "valid string"]),
        ({"headlines": ["Coach sacked", "  "]}, ["headlines[1] is blank"]),
        ({"headlines": SPORT, "text": "Coach sacked"}, ["either 'headlines'", "not both"]),
        ({}, ["either 'headlines'"]),
        ({"headline": SPORT}, ["unknown field 'headline'", "headlines"]),
        ({"headlines": SPORT, "top_k": 0}, ["top_k", "greater than or equal to 1"]),
        ({"headlines": SPORT, "top_k": "2"}, ["top_k", "valid integer"]),
        ({"headlines": SPORT, "min_confidence": 1.5}, ["min_confidence", "less than or equal to 1"]),
        ({"headlines": SPORT, "explain": "yes"}, ["explain", "valid boolean"]),
        ({"text": "a | b", "split_pattern": "("}, ["split pattern '('", "not a valid regular expression"]),
        (["Coach sacked"], ["must be a JSON object"]),
    ],
)
def test_bad_bodies_are_422(client: Any, body: Any, words: list[str]) -> None:
    assert_error(client.post("/v1/classify", json=body), 422, *words)


def test_malformed_json_is_422(client: Any) -> None:
    raw = b'{"headlines": ["Coach sacked"'
    response = client.post("/v1/classify", content=raw, headers={"content-type": "application/json"})
    assert_error(response, 422, "not valid JSON")
    assert_error(client.post("/v1/classify"), 422, "body is missing")
    form = client.post("/v1/classify", content=b"headlines=x", headers={"content-type": "text/plain"})
    assert_error(form, 422, "JSON object", "application/json")
    deep = b"[" * 3000  # nested past the JSON parser's recursion limit: still a 422, no traceback
    assert_error(client.post("/v1/classify", content=deep, headers={"content-type": "application/json"}), 422)


def test_unknown_route_and_method(client: Any) -> None:
    assert_error(client.get("/v2/classify"), 404, "no route GET /v2/classify")
    assert_error(client.delete("/v1/classify"), 405, "DELETE")
    assert_error(client.get("/v1/classify"), 405, "GET")


def test_body_over_the_limit_is_413(client: Any) -> None:
    big = {"headlines": ["Coach sacked after third straight league defeat " * 10] * 10}  # ~5 kB
    assert len(json.dumps(big)) > 4000
    assert_error(client.post("/v1/classify", json=big), 413, "larger than the limit of 4000 bytes")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        yield b'{"headlines": ['
        for _ in range(100):
            yield b'"Coach sacked after third straight league defeat",'
        yield b'"x"]}'

    response = client.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
    assert_error(response, 413, "larger than the limit")
    small = {"headlines": ["Coach sacked after defeat"] * 20}
    assert classify(client, **small).status_code == 200


def test_more_headlines_than_max_batch_is_413(client: Any) -> None:
    assert_error(classify(client, headlines=["Coach sacked"] * 21), 413, "21 headlines", "limit of 20")
    ticker = " | ".join(f"Coach {i} sacked" for i in range(21))
    assert_error(classify(client, text=ticker), 413, "21 headlines")
    assert len(classify(client, headlines=["Coach sacked"] * 20).json()["results"]) == 20


def test_no_internals_in_answers(client: Any, server: Server) -> None:
    response = classify(client, headlines=[1, 2])
    assert_error(response, 422)
    assert "server" not in response.headers  # no server software banner
    for text in (response.text, client.get("/v1/model").text):
        assert "site-packages" not in text and "Traceback" not in text


# API key and CORS -------------------------------------------------------------------------------------
def test_api_key_is_required(secured: Server) -> None:
    with httpx.Client(base_url=secured.url, timeout=30) as c:
        missing = c.post("/v1/classify", json={"headlines": SPORT})
        assert_error(missing, 401, "needs an API key", "X-API-Key")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = c.post("/v1/classify", json={"headlines": SPORT}, headers={"X-API-Key": KEY + "x"})
        assert_error(wrong, 401, "not valid")
        assert_error(c.get("/v1/model", headers={"Authorization": "Bearer nope"}), 401, "not valid")
        assert_error(c.get("/metrics"), 401)
        # Checked before the body is read: a malformed body without a key is still 401.
        assert_error(c.post("/v1/classify", content=b"{"), 401)
        good = c.post("/v1/classify", json={"headlines": SPORT}, headers={"X-API-Key": KEY})
        assert good.status_code == 200
        bearer = c.get("/v1/topics", headers={"Authorization": f"Bearer {KEY}"})
        assert bearer.status_code == 200
        # Probes and the page stay open: a load balancer has no key, the page asks for it.
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        assert c.get("/").status_code == 200


def test_cors_for_the_given_origin_only(secured: Server) -> None:
    with httpx.Client(base_url=secured.url, timeout=30) as c:
        ask = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
        }
        preflight = c.options("/v1/classify", headers={"Origin": ORIGIN, **ask})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        other = c.options("/v1/classify", headers={"Origin": "http://elsewhere.example", **ask})
        assert_error(other, 400, "CORS")
        response = c.post(
            "/v1/classify", json={"headlines": SPORT}, headers={"Origin": ORIGIN, "X-API-Key": KEY}
        )
        assert response.headers["access-control-allow-origin"] == ORIGIN
        refused = c.post("/v1/classify", json={"headlines": SPORT}, headers={"Origin": ORIGIN})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == ORIGIN  # the page can read the error


def test_a_body_that_never_arrives_is_408(secured: Server) -> None:
    """Request time is bounded: a client that stops sending is answered, not waited for."""
    with socket.create_connection(("127.0.0.1", secured.port), timeout=60) as sock:
        head = (
            "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-API-Key: {KEY}\r\nContent-Length: 100\r\n\r\n"
            '{"headlines": ['
        )
        sock.sendall(head.encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 408 " in status_line, answer
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1]) == {"error": "the request body did not arrive in time"}


# Several workers ----------------------------------------------------------------------------------------
def test_two_workers_share_the_port_and_the_metrics(folder: Path, tiny_model_path: Path) -> None:
    srv = start(["--model", str(tiny_model_path), "--workers", "2", "--no-access-log"], folder)
    try:
        pids = set()
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for _ in range(12):
                # A new connection each time, so that both workers get some.
                response = httpx.post(f"{srv.url}/v1/classify", json={"headlines": SPORT}, timeout=30)
                assert response.status_code == 200
            samples = parse_metrics(c.get("/metrics").text)
            pids = {line for line in srv.log().splitlines() if "Started server process" in line}
        assert samples['classify_http_requests_total{method="POST",route="/v1/classify",status="200"}'] == 12
        assert samples['classify_headlines_total{topic="sport"}'] == 36
        assert len(pids) == 2
    finally:
        srv.stop()


# Model reload ------------------------------------------------------------------------------------------
def replace_atomically(source: Path, target: Path) -> None:
    """What `classify train` does: write beside the target, then rename over it."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def wait_for(check: Any, what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def test_reload_during_traffic(
    folder: Path, tmp_path: Path, tiny_model_path: Path, other_model_path: Path
) -> None:
    target = tmp_path / "live.joblib"
    shutil.copyfile(tiny_model_path, target)
    ids = {p: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in (tiny_model_path, other_model_path)}
    topics = {ids[tiny_model_path]: {"economy", "health", "sport"}, ids[other_model_path]: set(OTHER)}
    srv = start(["--model", str(target), "--reload-interval", "0.1", "--no-access-log"], tmp_path)
    failures: list[str] = []
    seen: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            while not stop.is_set():
                try:
                    response = c.post("/v1/classify", json={"headlines": SPORT + OTHER["music"][:2]})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
                    continue
                body = response.json()
                model_id = body["model"]["id"]
                # Every result of one answer comes from the model the answer names.
                if not {r["topic"] for r in body["results"]} <= topics[model_id]:
                    failures.append(f"mixed models in one answer: {body}")
                seen.append(model_id)

    workers = [threading.Thread(target=traffic) for _ in range(3)]
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            for t in workers:
                t.start()
            current = lambda: c.get("/v1/model").json()  # noqa: E731
            for i in range(5):
                source = other_model_path if i % 2 == 0 else tiny_model_path
                replace_atomically(source, target)
                wait_for(lambda s=source: current()["id"] == ids[s], f"reload {i + 1}")
                # Of 4 more answers from 3 threads, one was asked after the swap: traffic sees it.
                before = len(seen)
                wait_for(lambda b=before: len(seen) > b + 3, "traffic after the reload")
                assert ids[source] in seen[before:]
                answer = c.post("/v1/classify", json={"headlines": SPORT}).json()
                assert answer["model"]["id"] == ids[source]
                assert {r["topic"] for r in answer["results"]} <= topics[ids[source]]
            # A broken file: the old model keeps serving, and /v1/model says why.
            target_was = current()["id"]
            broken = tmp_path / "broken.joblib"
            broken.write_bytes(b"this is not a model")
            replace_atomically(broken, target)
            status = wait_for(lambda: current()["reload"]["last_error"], "the broken file to be reported")
            assert "cannot load model" in status["error"] and "still serving" in status["error"]
            assert str(tmp_path) not in status["error"]
            assert current()["id"] == target_was
            assert c.post("/v1/classify", json={"headlines": SPORT}).status_code == 200
            replace_atomically(tiny_model_path, target)
            wait_for(lambda: current()["id"] == ids[tiny_model_path], "recovery from the broken file")
            assert current()["reload"]["last_error"] is None
            samples = parse_metrics(c.get("/metrics").text)
    finally:
        stop.set()
        for t in workers:
            if t.is_alive():
                t.join(timeout=60)
        srv.stop()
    assert failures == []
    assert len(seen) > 20 and set(seen) == set(ids.values())
    assert samples['classify_model_reloads_total{result="loaded"}'] == 6
    assert samples['classify_model_reloads_total{result="failed"}'] == 1
    log = srv.log()
    assert "model file replaced" in log and "model not loaded" in log


# The command line --------------------------------------------------------------------------------------
def test_cli_errors_before_starting(
    tmp_path: Path, tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = run("serve", "--model", str(tmp_path / "none.joblib"), "--port", "0")
    assert missing.exit_code == 1 and "no such model file" in missing.stderr
    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"garbage")
    result = run("serve", "--model", str(broken), "--port", "0")
    assert result.exit_code == 1 and "cannot load model" in result.stderr
    monkeypatch.delenv("CLASSIFY_NO_SUCH_KEY", raising=False)
    result = run(
        "serve", "--model", str(tiny_model_path), "--port", "0", "--api-key-env", "CLASSIFY_NO_SUCH_KEY"
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: environment variable CLASSIFY_NO_SUCH_KEY is not set or empty; set it to the API key"
    )
    result = run("serve", "--max-body", "lots")
    assert result.exit_code == 2 and "'lots' is not a size" in result.stderr


def test_cli_port_in_use(tiny_model_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--model", str(tiny_model_path), "--port", str(port))
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr


def test_missing_extra_is_one_line(tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if classify[serve] were not installed
    result = run("serve", "--model", str(tiny_model_path), "--port", "0")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: classify serve needs uvicorn; install it with {install_hint('serve')}"
    )


# Without a server ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1MB", 1_000_000),
        ("512KB", 512_000),
        ("2MiB", 2 * 2**20),
        ("1000", 1000),
        ("1.5 kb", 1500),
        ("64k", 64_000),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "-1MB", "1TB", "0", "one"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"size|small"):
        parse_size(text)


def test_settings_round_trip_for_workers(tmp_path: Path) -> None:
    settings = ServeSettings(model=tmp_path / "m.joblib", workers=2, cors=("http://a.example",), max_body=10)
    assert ServeSettings.from_json(settings.to_json()) == settings


def asgi(app: Any, method: str, path: str, **kwargs: Any) -> Any:
    """One request to an app in this process (no lifespan: the model loads only if given)."""

    async def go() -> Any:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        # A loopback host: the service refuses other names while it listens on loopback.
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(go())


def test_not_ready_until_a_model_is_loaded(tiny_model_path: Path) -> None:
    from classify.serve import create_app

    app = create_app(ServeSettings(model=tiny_model_path))  # lifespan not run: nothing loaded
    assert asgi(app, "GET", "/healthz").status_code == 200
    assert_error(asgi(app, "GET", "/readyz"), 503, "not loaded")
    answer = asgi(app, "POST", "/v1/classify", json={"headlines": SPORT})
    assert_error(answer, 503, "not loaded yet")
    assert answer.headers["retry-after"]
    assert_error(asgi(app, "GET", "/v1/model"), 503, "no model is loaded yet")


def test_a_broken_model_at_start_is_reported(tmp_path: Path) -> None:
    """A worker whose model file went bad after the command's own check serves 503s that say why."""
    from classify.serve import create_app

    broken = tmp_path / "site.joblib"
    broken.write_bytes(b"not a model")
    app = create_app(ServeSettings(model=broken))
    app.state.host.load_first()  # what the app's startup does
    answer = asgi(app, "GET", "/v1/model")
    message = assert_error(answer, 503, "no model is loaded yet", "site.joblib: cannot load model")
    assert str(tmp_path) not in message
    assert_error(asgi(app, "GET", "/readyz"), 503)


def test_unexpected_failure_is_a_json_500(tiny_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from classify import load_model
    from classify.serve import create_app, hosting

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    app = create_app(ServeSettings(model=tiny_model_path), model=load_model(tiny_model_path))
    monkeypatch.setattr(hosting, "result_rows", crash)  # after the model's check at start
    answer = asgi(app, "POST", "/v1/classify", json={"headlines": SPORT})
    assert_error(answer, 500, "internal error")
    assert "secret" not in answer.text


def test_work_past_the_deadline_stops(tiny_model_path: Path) -> None:
    from classify import load_model
    from classify.serve import hosting

    model = load_model(tiny_model_path)
    path = tiny_model_path
    served = hosting.serve_model(model, path, hosting.signature(path), hosting.file_sha256(path))
    options = PredictOptions(explain=True)
    assert len(served.classify(SPORT, options, deadline=time.monotonic() + 60)) == 3
    # A request that waited past its deadline for a busy server is shed before any work.
    with pytest.raises(hosting.RequestTimeout, match="waited"):
        served.classify(SPORT, options, deadline=time.monotonic() - 1)
    # Work that runs past the deadline stops after the headline it is on.
    with pytest.raises(hosting.RequestTimeout, match="took longer"):
        hosting.result_rows(model, served.explainer, SPORT, options, deadline=time.monotonic() - 1)
    # Another request holds the model past this one's deadline.
    with served.lock, pytest.raises(hosting.RequestTimeout, match="busy"):
        served.classify(SPORT, options, deadline=time.monotonic() + 0.01)


def test_the_model_s_topics_are_a_request_option(client: Any) -> None:
    body = {"headlines": ["Central bank raises rates"]}
    assert client.post("/v1/classify", json=body).json()["model"]["topics"] == ["economy", "health", "sport"]
    short = client.post("/v1/classify", json={**body, "model_topics": False}).json()
    assert set(short["model"]) == {"id"}
    assert short["results"][0]["topic"] == "economy"


def test_the_api_docs_are_counted_under_their_own_routes(client: Any) -> None:
    for path in ("/docs", "/openapi.json"):
        assert client.get(path).status_code == 200
    samples = parse_metrics(client.get("/metrics").text)
    counted = [name for name in samples if name.startswith("classify_http_requests_total{")]
    for path in ("/docs", "/openapi.json"):
        assert any(f'route="{path}"' in name for name in counted), counted
