"""The labelling page in headless Chromium: five answers by keyboard, an undo, a reload, the CSV."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from classify import load_model
from tests.conftest import CHROMIUM_FLAGS, tiny_rows
from tests.label_server import label_server

pytest.importorskip("fastapi", reason="classify label needs the serve extra")
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright")

TRUTH = dict(tiny_rows())
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = CHROMIUM_FLAGS


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        except sync_api.Error as exc:  # e.g. missing system libraries in a minimal container
            pytest.skip(f"Chromium cannot be launched: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


def test_keyboard_labelling_undo_and_reload(browser, tmp_path: Path, tiny_model_path: Path) -> None:  # type: ignore[no-untyped-def]
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TRUTH) + "\n", encoding="utf-8")
    topics = load_model(tiny_model_path).topics  # the page's buttons, keys 1..n, in this order
    args = ["pool.txt", "--model", str(tiny_model_path), "-o", "labels.csv", "--refit-every", "100"]
    with label_server(args, tmp_path) as (url, _):
        page = browser.new_page()
        page.goto(url)
        headline = page.locator("#headline")
        labelled = page.locator("#labelled")
        sync_api.expect(page.locator("#topics button")).to_have_count(len(topics))
        answers: list[tuple[str, str]] = []
        for n in range(5):
            text = headline.inner_text()
            assert text in TRUTH
            if n == 2:
                # Enter accepts the outlined suggestion.
                topic = page.locator("#topics button.suggested").get_attribute("data-topic")
                page.keyboard.press("Enter")
            else:
                topic = TRUTH[text]
                page.keyboard.press(str(topics.index(topic) + 1))
            answers.append((text, str(topic)))
            sync_api.expect(labelled).to_have_text(str(n + 1))
            sync_api.expect(headline).not_to_have_text(text)
        # '?' shows the help, Escape hides it; keys do not answer while it is open.
        page.keyboard.press("?")
        sync_api.expect(page.locator("#help")).to_be_visible()
        page.keyboard.press("1")
        page.keyboard.press("Escape")
        sync_api.expect(page.locator("#help")).to_be_hidden()
        sync_api.expect(labelled).to_have_text("5")
        # 'u' undoes the fifth answer: its headline is back.
        page.keyboard.press("u")
        sync_api.expect(labelled).to_have_text("4")
        sync_api.expect(headline).to_have_text(answers[-1][0])
        page.reload()
        sync_api.expect(labelled).to_have_text("4")
        sync_api.expect(headline).to_have_text(answers[-1][0])
        # After the reload, 'x' skips the headline that came back.
        page.keyboard.press("x")
        sync_api.expect(page.locator("#skipped")).to_have_text("1")
        accepted = page.locator("#accepted").inner_text()
        page.close()
    with (tmp_path / "labels.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["headline"], r["topic"], r["status"]) for r in rows] == [
        *((h, t, "labelled") for h, t in answers[:4]),
        (answers[4][0], "", "skipped"),
    ]
    assert all(r["suggested"] in topics for r in rows)
    assert rows[2]["topic"] == rows[2]["suggested"]  # the one accepted with Enter
    agreed = sum(r["topic"] == r["suggested"] for r in rows[:4])
    assert accepted.startswith(f"{agreed}/4")


def test_topics_past_ten_have_letter_keys(browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """0 is the tenth topic; the eleventh and twelfth are a and b (x and u stay skip and undo)."""
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(TRUTH) + "\n", encoding="utf-8")
    names = [f"section{i:02d}" for i in range(1, 13)]
    args = ["pool.txt", "--topics", ",".join(names), "-o", "labels.csv", "--refit-every", "100"]
    with label_server(args, tmp_path) as (url, _):
        page = browser.new_page()
        page.goto(url)
        buttons = page.locator("#topics button")
        sync_api.expect(buttons).to_have_count(12)
        assert buttons.nth(10).locator("kbd").inner_text() == "a"
        assert buttons.nth(11).locator("kbd").inner_text() == "b"
        labelled = page.locator("#labelled")
        for n, key in enumerate(("a", "b", "0"), start=1):
            page.keyboard.press(key)
            sync_api.expect(labelled).to_have_text(str(n))
        page.close()
    with (tmp_path / "labels.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["topic"] for r in rows] == ["section11", "section12", "section10"]
