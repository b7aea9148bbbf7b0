"""The page of `classify serve` in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Types headlines, submits, reads the result table and compares it with the API's answer, and saves
screenshots at desktop and phone widths into the test's temp folder. Skips, saying why, only where
the browser or its driver is not installed or cannot start.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx", reason="the page test needs httpx: pip install -e '.[test]'")
pytest.importorskip("fastapi", reason="the page test needs the serve extra: pip install -e '.[test]'")

from tests.conftest import CHROMIUM_FLAGS, TINY  # noqa: E402
from tests.serving import Server, start  # noqa: E402

CHROMIUM = os.environ.get("CLASSIFY_CHROMIUM", "/usr/bin/chromium")
FLAGS = CHROMIUM_FLAGS
HEADLINES = [TINY["sport"][0], TINY["economy"][2], TINY["health"][1], TINY["sport"][4]]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed: pip install -e '.[test]'")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CLASSIFY_CHROMIUM)")
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh profile for every run
    try:
        pw = sync_playwright().start()
    except Error as exc:
        pytest.skip(f"Playwright's driver cannot start: {str(exc).splitlines()[0]}")
    try:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True, viewport=None
        )
    except Error as exc:
        pw.stop()
        pytest.skip(f"Chromium at {CHROMIUM} cannot start: {str(exc).splitlines()[0]}")
    try:
        yield context
    finally:
        context.close()
        pw.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_path: Path) -> Iterator[Server]:
    srv = start(["--model", str(tiny_model_path), "--max-batch", "10"], tmp_path_factory.mktemp("serve-page"))
    yield srv
    srv.stop()


def table_rows(page: Any) -> list[dict[str, str]]:
    rows = []
    for tr in page.locator("#table tbody tr").all():
        cells = tr.locator("td")
        rows.append(
            {
                "n": cells.nth(0).inner_text().strip(),
                "headline": cells.nth(1).inner_text().strip(),
                "topic": cells.nth(2).locator(".chip").inner_text().strip(),
                "confidence": cells.nth(3).locator(".value").inner_text().strip(),
                "why": " ".join(w.inner_text().strip() for w in cells.nth(4).locator(".word").all()),
            }
        )
    return rows


def test_type_submit_and_read_the_table(browser: Any, server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(server.url + "/")
    # Locator assertions, not wait_for_function: the page's CSP forbids the eval that it needs.
    expect(page.locator("#model")).to_contain_text("3 topics")

    page.locator("#text").fill("\n".join(HEADLINES))
    page.locator("#go").click()
    expect(page.locator("#table tbody tr")).to_have_count(4)
    rows = table_rows(page)

    api = httpx.post(f"{server.url}/v1/classify", json={"headlines": HEADLINES, "explain": True}).json()
    assert [r["headline"] for r in rows] == HEADLINES
    assert [r["topic"] for r in rows] == [r["topic"] for r in api["results"]]
    assert [r["topic"] for r in rows] == ["sport", "economy", "health", "sport"]
    assert [r["confidence"] for r in rows] == [f"{r['confidence']:.2f}" for r in api["results"]]
    assert [r["why"] for r in rows] == [" ".join(r["why"]) for r in api["results"]]
    assert [r["n"] for r in rows] == ["1", "2", "3", "4"]
    # The per-topic chart: one bar per topic, the largest first.
    labels = page.locator("#chart .chart-label").all_inner_texts()
    assert labels == ["sport", "economy", "health"]
    assert page.locator("#chart .chart-count").first.inner_text() == "2 · 50%"
    expect(page.locator("#status")).to_contain_text("4 headlines")
    page.screenshot(path=str(tmp_path / "page-desktop.png"), full_page=True)

    # A ticker blob on one line is split into its headlines.
    page.locator("#text").fill(" | ".join(HEADLINES[:3]))
    page.locator("#text").press("Control+Enter")
    expect(page.locator("#table tbody tr")).to_have_count(3)
    assert [r["headline"] for r in table_rows(page)] == HEADLINES[:3]

    # On a phone each result is a small card, and nothing overflows sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#text").fill("\n".join(HEADLINES))
    page.locator("#go").click()
    expect(page.locator("#table tbody tr")).to_have_count(4)
    width = page.locator("html").evaluate("element => element.scrollWidth")
    assert width <= 390
    assert page.locator("#table thead").is_hidden()
    page.screenshot(path=str(tmp_path / "page-phone.png"), full_page=True)
    assert errors == []
    assert (tmp_path / "page-desktop.png").stat().st_size > 0 and (
        tmp_path / "page-phone.png"
    ).stat().st_size > 0


def test_errors_are_shown(browser: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(server.url + "/")
    page.locator("#go").click()
    assert page.locator("#error").inner_text() == "Paste or type some headlines first."
    page.locator("#text").fill("\n".join(TINY["economy"] + TINY["health"][:3]))  # 11: over --max-batch
    page.locator("#go").click()
    expect(page.locator("#error")).to_have_text(
        "11 headlines in one request, more than the limit of 10; send smaller batches"
    )
    assert page.locator("#results").is_hidden()


def test_the_page_asks_for_the_api_key(browser: Any, tmp_path: Path, tiny_model_path: Path) -> None:
    from playwright.sync_api import expect

    key = "page-test-key"
    srv = start(
        ["--model", str(tiny_model_path), "--api-key-env", "CLASSIFY_PAGE_KEY"],
        tmp_path,
        {"CLASSIFY_PAGE_KEY": key},
    )
    try:
        page = browser.new_page()
        page.goto(srv.url + "/")
        expect(page.locator("#model")).to_have_text("API key needed")
        expect(page.locator("#keyrow")).to_be_visible()
        page.locator("#text").fill(HEADLINES[0])
        page.locator("#key").fill("wrong")
        page.locator("#go").click()
        expect(page.locator("#error")).to_have_text("the API key is not valid")
        page.locator("#key").fill(key)
        page.locator("#go").click()
        expect(page.locator("#table tbody tr")).to_have_count(1)
        expect(page.locator("#model")).to_contain_text("3 topics")
        assert page.locator("#error").is_hidden()
    finally:
        srv.stop()


def test_sets_and_labels_show_as_pills(browser: Any, server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    expect(page.locator("#model")).to_contain_text("3 topics")
    page.locator("#text").fill("\n".join(HEADLINES))
    page.locator("#coverage").fill("0.95")
    page.locator("#go").click()
    expect(page.locator("#table tbody tr")).to_have_count(4)
    api = httpx.post(f"{server.url}/v1/classify", json={"headlines": HEADLINES, "coverage": 0.95}).json()
    for tr, result in zip(page.locator("#table tbody tr").all(), api["results"], strict=True):
        pills = tr.locator(".pills.set .pill").all_inner_texts()
        assert pills == result["set"]
        assert pills[0] == tr.locator(".chip").inner_text().strip()
    page.screenshot(path=str(tmp_path / "page-sets.png"), full_page=True)
    # Without a coverage, no sets.
    page.locator("#coverage").fill("")
    page.locator("#go").click()
    expect(page.locator(".pills.set")).to_have_count(0)
    assert errors == []


def test_the_topic_mix_panel_says_when_the_mix_moved(
    browser: Any, tmp_path: Path, tiny_model_path: Path
) -> None:
    from playwright.sync_api import expect

    srv = start(["--model", str(tiny_model_path), "--monitor-window", "40"], tmp_path)
    try:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(srv.url + "/")
        expect(page.locator("#monitor")).to_be_visible()
        expect(page.locator("#monitor-verdict")).to_have_text("No headlines classified yet.")
        # A mixed batch through the page: the mix looks like the training data.
        mixed = [t for texts in TINY.values() for t in texts[:6]]
        page.locator("#text").fill("\n".join(mixed))
        page.locator("#go").click()
        expect(page.locator("#monitor-verdict")).to_contain_text("No change")
        # Then sport only, from another client: the panel says plainly that the mix moved.
        for _ in range(8):
            httpx.post(f"{srv.url}/v1/classify", json={"headlines": TINY["sport"] * 2}).raise_for_status()
        page.locator("#text").fill(TINY["sport"][0])
        page.locator("#go").click()
        expect(page.locator("#monitor-verdict")).to_have_text(
            "The news has moved away from what the model was trained on."
        )
        expect(page.locator("#monitor-reasons li").first).to_contain_text("topic mix moved")
        # One column for the training mix, then one per point of the history.
        assert page.locator("#monitor-chart .mix-col.reference").count() == 1
        assert page.locator("#monitor-chart .mix-col").count() > 3
        expect(page.locator("#monitor-legend")).to_contain_text("sport")
        page.screenshot(path=str(tmp_path / "page-monitor.png"), full_page=True)
        assert errors == []
    finally:
        srv.stop()


def test_topics_past_ten_get_their_own_colours_and_the_results_download_as_csv(
    browser: Any, tmp_path: Path
) -> None:
    """A site with fourteen sections: fourteen colours, and the table as a CSV file."""
    import csv

    from playwright.sync_api import expect

    from classify import load_labelled, save_model, train
    from tests.conftest import write_csv

    sections = [f"section {chr(97 + i)}" for i in range(14)]
    rows = [(f"{word} {s} news item number {n}", s) for s in sections for n, word in enumerate("abcdef")]
    rows = [(f"Word{s[-1]} {h}", s) for h, s in rows]
    model = save_model(
        train(load_labelled(write_csv(tmp_path / "s.csv", ["headline", "topic"], rows))).model,
        tmp_path / "s.model",
    )
    srv = start(["--model", str(model)], tmp_path)
    try:
        page = browser.new_page()
        page.goto(srv.url + "/")
        expect(page.locator("#model")).to_contain_text("14 topics")
        headlines = [f"Word{s[-1]} {s} report" for s in sections]
        page.locator("#text").fill("\n".join(headlines))
        page.locator("#go").click()
        expect(page.locator("#table tbody tr")).to_have_count(14)
        chips = page.locator("#table .chip").all()
        shown = {
            c.inner_text().strip(): c.evaluate("e => getComputedStyle(e).backgroundColor") for c in chips
        }
        assert len(shown) >= 12
        assert len(set(shown.values())) == len(shown), shown  # no two topics share a colour
        with page.expect_download() as download:
            page.locator("#download").click()
        path = tmp_path / "headlines.csv"
        download.value.save_as(str(path))
        with path.open(newline="", encoding="utf-8") as fh:
            table = list(csv.DictReader(fh))
        api = httpx.post(f"{srv.url}/v1/classify", json={"headlines": headlines}).json()["results"]
        assert [r["headline"] for r in table] == headlines
        assert [r["topic"] for r in table] == [r["topic"] for r in api]
        assert [float(r["confidence"]) for r in table] == [r["confidence"] for r in api]
        page.close()
    finally:
        srv.stop()
