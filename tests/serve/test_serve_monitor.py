"""The service's drift monitor against a real `classify serve` process: /v1/monitor, its window.txt,
the gauges of /metrics, and one alarm per episode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="the service tests need httpx: pip install -e '.[test]'")
pytest.importorskip("fastapi", reason="the service tests need the serve extra: pip install -e '.[test]'")

from tests.conftest import TINY  # noqa: E402
from tests.serve.test_serve import parse_metrics  # noqa: E402
from tests.serving import Server, start  # noqa: E402

WINDOW = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: Path) -> Iterator[Server]:
    srv = start(
        ["--model", str(tiny_model_path), "--monitor-window", str(WINDOW)], tmp_path_factory.mktemp("monitor")
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[Any]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def test_window_route_metrics_and_one_alarm_per_episode(client: Any, server: Server) -> None:
    empty = client.get("/v1/monitor").json()
    assert empty["enabled"] and empty["seen"] == 0 and empty["window"] == WINDOW and not empty["alarm"]

    mixed = [t for texts in TINY.values() for t in texts]  # 24 headlines, as in training
    assert client.post("/v1/classify", json={"headlines": mixed}).status_code == 200
    steady = client.get("/v1/monitor").json()
    assert steady["seen"] == 24 and steady["report"]["current"]["n"] == 24
    assert steady["report"]["drift"] is False and not steady["alarm"]
    assert set(steady["report"]["current"]["topic_shares"]) == set(TINY)
    assert client.get("/v1/monitor/window.txt").text.splitlines() == mixed

    metrics = parse_metrics(client.get("/metrics").text)
    shares = [metrics[f'classify_window_topic_share{{topic="{t}"}}'] for t in TINY]
    assert sum(shares) == pytest.approx(1.0)
    assert 0 < metrics["classify_window_mean_confidence"] <= 1
    assert 0 <= metrics["classify_window_oov_rate"] < 0.5
    assert 0 < metrics["classify_window_estimated_accuracy"] <= 1
    assert metrics["classify_drift"] == 0

    for _ in range(20):  # 160 sport headlines in 20 requests: one episode, one alarm
        assert client.post("/v1/classify", json={"headlines": TINY["sport"]}).status_code == 200
    moved = client.get("/v1/monitor").json()
    assert moved["alarm"] and moved["alarms"] == 1
    assert moved["report"]["drift"] and moved["report"]["current"]["topic_shares"]["sport"] > 0.9
    assert any(name == "sport up" for name in moved["detector"]["charts"])
    window = client.get("/v1/monitor/window.txt").text.splitlines()
    assert len(window) == WINDOW and set(window) == set(TINY["sport"])
    metrics = parse_metrics(client.get("/metrics").text)
    assert metrics["classify_drift"] == 1 and metrics["classify_drift_alarms_total"] == 1
    assert metrics['classify_window_topic_share{topic="sport"}'] > 0.9
    assert server.log().count("drift alarm:") == 1
    assert len(moved["history"]) > 3 and moved["history"][-1]["alarm"]


def test_a_model_without_statistics_keeps_a_window_and_says_why(tiny_model_path: Path) -> None:
    from prometheus_client import CollectorRegistry

    from classify.pipeline.model import Model, load_model
    from classify.serve.monitor import NO_REFERENCE, Monitor

    model = load_model(tiny_model_path)

    class Served:
        id = "old"

    served = Served()
    served.model = Model(model.fitted, {k: v for k, v in model.meta.items() if k != "reference"})  # type: ignore[attr-defined]
    monitor = Monitor(10, CollectorRegistry())
    rows = [{"topic": "sport", "confidence": 0.9}] * 3
    monitor.observe(served, TINY["sport"][:3], rows)
    body = monitor.describe(served)
    assert body["seen"] == 3 and body["report"] is None and body["note"] == NO_REFERENCE
    assert body["detector"] is None and not body["alarm"]
    assert monitor.headlines(served) == TINY["sport"][:3]
    assert Monitor(0, CollectorRegistry()).describe(served) == {"enabled": False, "model": "old"}
