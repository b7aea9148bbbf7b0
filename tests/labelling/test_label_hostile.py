"""`classify label` under attack: its -o file, cross-site requests and DNS rebinding, odd answers files.

Each test failed before the fix: the -o file was cut before it was checked, a whole last row without
its line feed was dropped, any page could POST /api/undo, and a topic found only in the answers file
became a button without a word.
"""

from __future__ import annotations

import csv
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from classify.cli import app
from classify.errors import DataError
from classify.labelling._answers import COLUMNS, AnswersFile
from tests.conftest import CHROMIUM_FLAGS, tiny_rows
from tests.label_server import label_client, label_server, page_token

pytest.importorskip("fastapi", reason="classify label needs the serve extra")

TRUTH = dict(tiny_rows())
HEADER = ",".join(COLUMNS) + "\n"
ROW = "Coach sacked after defeat,sport,labelled,,1.5,2026-12-01T10:00:00+00:00"
runner = CliRunner()


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# The -o file ---------------------------------------------------------------------------------
def test_an_output_file_that_is_not_answers_is_left_untouched(tmp_path: Path) -> None:
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TRUTH) + "\n", encoding="utf-8")
    for name, content in (
        ("precious.json", b'{"precious": "config"}'),  # no line feed at all
        ("notes.txt", b"first line\nsecond line, no line feed"),
        ("binary.bin", b"\x89PNG\r\n\x1a\n\x00\x00"),
    ):
        target = tmp_path / name
        target.write_bytes(content)
        result = runner.invoke(app, ["label", str(pool), "--topics", "a,b", "-o", str(target)])
        assert result.exit_code == 1, result.output
        assert "not a 'classify label' answers file" in result.stderr
        assert target.read_bytes() == content  # not one byte changed


def test_a_whole_last_row_without_a_line_feed_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + ROW, encoding="utf-8")  # an editor dropped the final line feed
    answers = AnswersFile.open(path)
    answers.close()
    assert [r["headline"] for r in answers.rows] == ["Coach sacked after defeat"]
    assert path.read_text(encoding="utf-8") == HEADER + ROW + "\n"


@pytest.mark.parametrize(
    "torn",
    [
        ROW[:20],  # cut inside the headline
        ROW[: ROW.index("labelled") + 4],  # inside the status
        ROW[:-4],  # inside the time zone: the time still parses, but it is not whole
        '"Coach, sacked',  # an unclosed quote
    ],
)
def test_a_torn_last_line_is_dropped(tmp_path: Path, torn: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + ROW + "\n" + torn, encoding="utf-8")
    answers = AnswersFile.open(path)
    answers.close()
    assert len(answers.rows) == 1
    assert path.read_text(encoding="utf-8") == HEADER + ROW + "\n"


def test_a_header_torn_at_creation_is_rewritten_and_a_foreign_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(HEADER[:10], encoding="utf-8")
    AnswersFile.open(path).close()
    assert path.read_text(encoding="utf-8") == HEADER
    other = tmp_path / "other.csv"
    other.write_text("headline,topic\nx,y", encoding="utf-8")
    with pytest.raises(DataError, match="not a 'classify label' answers file"):
        AnswersFile.open(other)
    assert other.read_text(encoding="utf-8") == "headline,topic\nx,y"


# Cross-site requests and DNS rebinding against the real server --------------------------------------
@pytest.fixture()
def running(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TRUTH) + "\n", encoding="utf-8")
    args = ["pool.txt", "--topics", "sport,economy,health", "-o", "labels.csv", "--refit-every", "100"]
    with label_server(args, tmp_path) as (url, _):
        yield url, tmp_path / "labels.csv"


def test_state_changing_routes_need_the_token_and_this_origin(running: tuple[str, Path]) -> None:
    url, output = running
    with label_client(url) as http:
        item = http.get("/api/state").json()["item"]
        assert http.post("/api/answer", json={"id": item["id"], "topic": "sport"}).status_code == 200
    before = output.read_bytes()
    port = url.rsplit(":", 1)[1]
    with httpx.Client(base_url=url, timeout=30) as bare:
        token = page_token(bare)
        refused = [
            bare.post("/api/undo"),  # no token: what a no-cors fetch from any page sends
            bare.post("/api/undo", headers={"X-Classify-Token": "guess"}),
            bare.post("/api/undo", headers={"X-Classify-Token": token, "Origin": "http://evil.example"}),
            bare.post("/api/undo", headers={"X-Classify-Token": token, "Origin": "null"}),
            bare.post("/api/undo", headers={"X-Classify-Token": token, "Host": f"rebound.example:{port}"}),
            bare.get("/", headers={"Host": f"rebound.example:{port}"}),  # DNS rebinding: no page, no token
        ]
        for response in refused:
            assert response.status_code == 403, response.text
            assert response.headers["content-type"].startswith("application/json")
            assert list(response.json()) == ["error"]
        assert output.read_bytes() == before  # nothing was undone
        same = bare.post("/api/undo", headers={"X-Classify-Token": token, "Origin": url})
        assert same.status_code == 200 and same.json()["undone"] is True
        assert bare.get("/api/state", headers={"Host": f"localhost:{port}"}).status_code == 200


# The browser ---------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ATTACK = """<!doctype html><script>
const target = "TARGET";
window.sent = Promise.all([
  fetch(target + "/api/undo", {method: "POST", mode: "no-cors"}),
  fetch(target + "/api/answer", {method: "POST", mode: "no-cors", body: '{"id": 0, "topic": "sport"}',
    headers: {"Content-Type": "text/plain"}}),
]).then(() => "sent", (e) => "failed: " + e);
</script>"""


def test_another_sites_page_cannot_undo_and_a_rebound_name_gets_no_page(
    running: tuple[str, Path],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    url, output = running
    port = url.rsplit(":", 1)[1]
    with label_client(url) as http:
        item = http.get("/api/state").json()["item"]
        http.post("/api/answer", json={"id": item["id"], "topic": "sport"}).raise_for_status()
    before = output.read_bytes()

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = ATTACK.replace("TARGET", url).encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    # rebound.test resolves to 127.0.0.1 in this browser, as a rebinding attacker's name would.
    flags = [*CHROMIUM_FLAGS, "--host-resolver-rules=MAP rebound.test 127.0.0.1"]
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=flags, headless=True)
            page = browser.new_page()
            page.goto(f"http://localhost:{evil.server_address[1]}/")
            assert page.evaluate("window.sent") == "sent"  # the requests left the browser
            rebound = page.goto(f"http://rebound.test:{port}/")
            assert rebound is not None and rebound.status == 403
            assert "classify-token" not in page.content()
            browser.close()
    finally:
        evil.shutdown()
        evil.server_close()
    assert output.read_bytes() == before
    assert len(rows_of(output)) == 1


# Topics found only in the answers file -------------------------------------------------------
def test_a_topic_only_in_the_answers_file_is_announced(tmp_path: Path) -> None:
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TRUTH) + "\n", encoding="utf-8")
    (tmp_path / "labels.csv").write_text(HEADER + ROW.replace(",sport,", ",sprot,") + "\n", encoding="utf-8")
    args = ["pool.txt", "--topics", "sport,economy", "-o", "labels.csv"]
    with label_server(args, tmp_path) as (url, _), label_client(url) as http:
        assert http.get("/api/state").json()["topics"] == ["sport", "economy", "sprot"]
        log = (tmp_path / f"label-{url.rsplit(':', 1)[1]}.log").read_text(encoding="utf-8")
    assert "warning: labels.csv holds answers with topics not in --topics: sprot" in log, log
