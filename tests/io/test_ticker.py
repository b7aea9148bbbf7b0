"""Behaviour of classify.io.ticker: splitting ticker lines and picking headlines out of pages.

Every headline and page below is invented for these tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from itertools import count, islice
from pathlib import Path

import pytest

from classify.errors import DataError
from classify.io.ticker import (
    DEFAULT_SEPARATOR,
    extract_from_page,
    is_byline,
    iter_split,
    rejection_reason,
    split_ticker,
)

A = "Port city opens new ferry terminal"
B = "Wheat harvest beats forecasts in the north"
C = "Chess prodigy wins regional title"

NBSP = "\u00a0"
EN_DASH = "\u2013"
EM_DASH = "\u2014"

# ---------------------------------------------------------------------------------------------------
# split_ticker


@pytest.mark.parametrize(
    "separator",
    [
        " | ",
        " \u2022 ",  # bullet
        " \u25c6 ",  # black diamond
        " \u00b7 ",  # middle dot
        " \u2666 ",  # diamond suit
        " \u25a0 ",  # black square
        " \u25cf ",  # black circle
        " \u25aa ",  # small black square
        " +++ ",
        "\t",
        " \t ",
        "   ",
        "      ",
        NBSP * 4,
    ],
    ids=repr,
)
def test_split_ticker_on_each_default_separator(separator: str) -> None:
    assert split_ticker(separator.join([A, B, C])) == [A, B, C]


def test_split_ticker_strips_parts_and_drops_empty_ones() -> None:
    line = f" | {A} |  | {B}\u2022 x \u2022{C} |   "
    # "B\u2022 x \u2022C": a symbol touching a word is not a separator.
    assert split_ticker(line) == [A, f"{B}\u2022 x \u2022{C}"]
    assert split_ticker(f"\u2022 {A} \u2022 {B} \u2022") == [A, B]


def test_split_ticker_collapses_white_space_inside_a_headline() -> None:
    assert split_ticker(f"Port city  opens{NBSP}new ferry terminal   {B}") == [A, B]


def test_split_ticker_without_separator_returns_the_line() -> None:
    assert split_ticker(A) == [A]
    assert split_ticker(f"  {A}\n") == [A]


def test_split_ticker_on_blank_line_returns_nothing() -> None:
    assert split_ticker("") == []
    assert split_ticker(" \t  ") == []


@pytest.mark.parametrize("dash", [EN_DASH, EM_DASH, "-"])
def test_split_ticker_keeps_a_spaced_dash_inside_a_headline(dash: str) -> None:
    headline = f"Rents climb again in the capital {dash} official figures"
    assert split_ticker(headline) == [headline]
    assert split_ticker(f"{headline}   {A}") == [headline, A]


@pytest.mark.parametrize(
    "headline",
    [
        "Telecom giant AT&T|Verizon merger talk denied",
        "Col\u00b7legi students return to class",
        "Two spaces  between words do not split",
    ],
)
def test_split_ticker_does_not_split_on_ambiguous_marks(headline: str) -> None:
    assert split_ticker(headline) == [" ".join(headline.split())]


def test_split_with_user_pattern_replaces_the_default() -> None:
    line = f"{A} {EM_DASH} {B} {EM_DASH} {C}"
    assert split_ticker(line, f" {EM_DASH} ") == [A, B, C]
    # The default separators no longer apply.
    assert split_ticker(f"{A} | {B} // {C}", r"\s*//\s*") == [f"{A} | {B}", C]


def test_split_with_user_pattern_ignores_its_groups() -> None:
    assert split_ticker(f"{A} ## {B} %% {C}", r"\s*(#|%){2}\s*") == [A, B, C]


@pytest.mark.parametrize("pattern", ["(", "[a-", "*+", r"\p"])
def test_split_with_invalid_pattern_raises_data_error_naming_it(pattern: str) -> None:
    with pytest.raises(DataError, match=re.escape(f"split pattern {pattern!r} is not a valid regular")):
        split_ticker(A, pattern)


@pytest.mark.parametrize("pattern", ["", "x*", r"\s*", "a|"])
def test_split_with_pattern_matching_nothing_raises(pattern: str) -> None:
    with pytest.raises(DataError, match=re.escape(f"split pattern {pattern!r} matches the empty string")):
        split_ticker(A, pattern)


def test_default_separator_is_a_public_regex_usable_as_pattern() -> None:
    line = f"{A} \u2022 {B}\t{C}"
    assert re.compile(DEFAULT_SEPARATOR).search(line)
    assert split_ticker(line, DEFAULT_SEPARATOR) == split_ticker(line) == [A, B, C]


# ---------------------------------------------------------------------------------------------------
# iter_split


def test_iter_split_streams_in_order() -> None:
    lines = [f"{A} | {B}\n", "\n", f"{C}\n"]
    assert list(iter_split(lines, None)) == [A, B, C]
    assert list(iter_split([f"{A} ; {B}"], r"\s;\s")) == [A, B]


def test_iter_split_is_lazy() -> None:
    endless = (f"Headline number {n} | Headline number {n} again" for n in count())
    assert list(islice(iter_split(endless, None), 3)) == [
        "Headline number 0",
        "Headline number 0 again",
        "Headline number 1",
    ]


def test_iter_split_checks_the_pattern_before_reading_input() -> None:
    def untouchable() -> Iterator[str]:
        raise AssertionError("input read before the pattern was checked")
        yield ""  # makes this a generator

    with pytest.raises(DataError, match="not a valid regular expression"):
        iter_split(untouchable(), "(")


# ---------------------------------------------------------------------------------------------------
# extract_from_page

TITLE = "Storm closes mountain pass for second day"
BYLINE = "Published in Valley Herald on 03 - 02 - 2019"
PARAGRAPH = (
    "Snow blocked the road overnight and crews worked until dawn to reach the stranded trucks, "
    "officials said on Sunday."
)


def page(*lines: str) -> str:
    return "\n".join(lines)


def test_extract_keeps_ticker_items_and_title_in_page_order() -> None:
    text = page(
        f"{A}    {B}    {C}",
        "",
        "Thanks for reporting this photo!",
        TITLE,
        BYLINE,
        "",
        PARAGRAPH,
        "Click here to read the full article at the source.",
    )
    assert extract_from_page(text) == [A, B, C, TITLE]


def test_extract_keeps_order_when_ticker_comes_after_the_article() -> None:
    text = page(TITLE, BYLINE, PARAGRAPH, f"{C} | {A}", B)
    assert extract_from_page(text) == [TITLE, C, A, B]


def test_extract_keeps_a_repeated_headline_once() -> None:
    text = page(f"{A}   {B}   {A}   {B}", A)
    assert extract_from_page(text) == [A, B]


@pytest.mark.parametrize(
    "dropped",
    [
        # paragraphs
        PARAGRAPH,
        "The council will meet again next week.",
        "The council met for six hours on Tuesday and into Wednesday morning but could not agree "
        "on a budget for the coming year and members said",
        "Crews cleared one lane. The other lane stays shut",
        "Farmers, traders, drivers and shop owners in the valley said the closure, which began on "
        "Friday, hurt business",
        # bylines and dates
        BYLINE,
        "Posted on March 4, 2019",
        "Updated 10:15 GMT",
        "By Jane Doe and Omar Haddad",
        "Monday, 4 March 2019 10:15",
        "04/03/2019",
        # site boilerplate, including a misspelling seen on scraped pages
        "Thanks for reporting this photo!",
        "This photo will be automatically removed once several readers flag it.",
        "Click here to read the full article at the source.",
        "Clic here to view the original story",
        "Clik here for more",
        "Click here",
        "Read more",
        "Advertisement",
        "\u00a9 2019 Valley Herald. All rights reserved",
        "Subscribe to our newsletter",
        # subheadings, quotations, links, navigation
        "THE LONG ROAD HOME",
        '"THE LONG ROAD HOME"',
        '"We did everything we could."',
        "\u201cWe did everything we could\u201d",
        '"We will reopen the pass soon," the mayor told reporters on Monday',
        "https://example.org/news/storm-pass",
        "Home",
        "Weather Sport",
    ],
)
def test_extract_drops_non_headlines(dropped: str) -> None:
    assert extract_from_page(page(A, dropped, B)) == [A, B]


@pytest.mark.parametrize(
    "kept",
    [
        "Trade talks stall with the U.S.",
        "Minister: 'We will not raise taxes' this year",
        '"Open skies" deal signed with neighbours',
        "Why are bread prices rising?",
        "Record crowds at the spring fair!",
        "Rents climb again \u2013 official figures",
        "UN agency warns of drought in the south",
        "Markets slide as oil jumps\u2026",
        "Stores stay open until 10 on Fridays in December",
        "Updated: storm closes mountain pass",
        "Scouts sell cookies to raise funds for the library",
        "Millions subscribe to new streaming service",
        "Elections set for 21 January 2019 in the valley",
    ],
)
def test_extract_keeps_headlines(kept: str) -> None:
    assert extract_from_page(page(kept)) == [kept]


def test_extract_keeps_the_title_above_a_byline_even_if_sentence_like() -> None:
    title = "Council approves the new budget after a long night of talks."
    assert extract_from_page(page(title, "By Jane Doe", PARAGRAPH)) == [title]
    assert extract_from_page(page(title, PARAGRAPH)) == []


def test_extract_does_not_keep_boilerplate_above_a_byline() -> None:
    assert extract_from_page(page("Click here to subscribe", BYLINE, PARAGRAPH)) == []


def test_extract_uses_the_user_pattern() -> None:
    text = page(f"{A} ;; {B}", f"{C} | {TITLE}")
    assert extract_from_page(text, pattern=r"\s*;;\s*") == [A, B, f"{C} | {TITLE}"]


def test_extract_with_invalid_pattern_raises() -> None:
    with pytest.raises(DataError, match=r"split pattern '\[' is not a valid"):
        extract_from_page(A, pattern="[")


def test_extract_from_empty_page() -> None:
    assert extract_from_page("") == []
    assert extract_from_page("\n \n\t\n") == []


# ---------------------------------------------------------------------------------------------------
# rejection_reason and is_byline


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (A, None),
        ("", "empty"),
        ("Thanks for reading", "boilerplate"),
        (BYLINE, "byline or date"),
        ("FLOOD WARNING ISSUED", "all capitals"),
        ('"We did everything we could"', "quotation"),
        (" ".join(["word"] * 26), "more than 25 words"),
        ("Crews reopened the pass on Monday.", "ends with a period"),
        ("Crews cleared one lane. The other lane stays shut", "several sentences"),
        ("Top stories", "fewer than 3 words"),
    ],
)
def test_rejection_reason(text: str, reason: str | None) -> None:
    assert rejection_reason(text) == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Published in Valley Herald on 03 - 02 - 2019", True),
        ("Last updated: 21 January 2019", True),
        ("By Jane Doe, Valley Herald", True),
        ("Posted by admin", True),
        ("Published in Valley Herald", True),
        ("Published: new atlas of valley birds", False),
        ("By the numbers: a year of storms", False),
        ("Sunday 3 February 2019", True),
        ("10:15 pm GMT", True),
        ("Festival returns on 3 February with new acts", False),
        (A, False),
    ],
)
def test_is_byline(text: str, expected: bool) -> None:
    assert is_byline(text) is expected


# ---------------------------------------------------------------------------------------------------
# acceptance check on the shared example page (not part of the project; skipped when absent)

EXAMPLE_PAGE = Path(__file__).resolve().parents[3] / "shared" / "examples" / "ticker-page.txt"
# SHA-256 of the article title expected last, so the page's text need not be copied here.
EXAMPLE_TITLE_SHA256 = "3f645cec2205bd4aa3bae5c42e984088414d03d0cf8469c0e94ea0744d444cbb"


def test_example_page_gives_ticker_headlines_then_the_title() -> None:
    if not EXAMPLE_PAGE.exists():
        pytest.skip(f"{EXAMPLE_PAGE} not available")
    text = EXAMPLE_PAGE.read_text(encoding="utf-8")
    found = extract_from_page(text)
    ticker = split_ticker(text.splitlines()[0])
    assert len(ticker) == 48
    assert len(found) == 49
    assert found[:48] == ticker
    title = found[-1]
    assert hashlib.sha256(title.encode("utf-8")).hexdigest() == EXAMPLE_TITLE_SHA256
    # The title is the line just above the byline.
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert is_byline(lines[lines.index(title) + 1])
    assert not any(h.endswith(".") for h in found)
