"""Turning raw text into headlines: news tickers and scraped news pages.

Everything here is a pure function of its text arguments, so the CLI can stream through it and the
tests need no files. Two jobs:

* :func:`split_ticker` / :func:`iter_split` cut a ticker line (many headlines on one line, joined by
  runs of spaces or bullet-like separators) into its headlines.
* :func:`extract_from_page` keeps the headline-like lines of text scraped from a news page and drops
  the article body, bylines, dates and site boilerplate.

The page heuristics are deliberately general (a headline is short, has no final period, is neither a
quotation nor an all-capitals subheading) rather than fitted to one site; :func:`rejection_reason`
says which rule dropped a line, so a surprising result can be explained.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from classify.errors import DataError
from classify.text import collapse

#: Symbols that separate ticker items when they stand alone between spaces: | ¦ • ◆ ◇ · ∙ ♦ ■ ● ▪ ◦ ‣
#: ► ▶. Dashes are left out on purpose: a spaced en or em dash is common *inside* one headline
#: ("Prices rise \u2013 official data"), so splitting on it would cut headlines in two; a ticker that
#: really uses dashes can pass its own pattern.
_SEPARATOR_SYMBOLS = "|\u00a6\u2022\u25c6\u25c7\u00b7\u2219\u2666\u25a0\u25cf\u25aa\u25e6\u2023\u25ba\u25b6"

#: What a line must hold for :data:`DEFAULT_SEPARATOR` to split it, besides a tab or a run of white
#: space: a separator symbol, or two plus signs. A line holding none of them (and no tab or run of
#: white space) is one headline, which lets a reader skip the regular expression.
SEPARATOR_MARKS = (*_SEPARATOR_SYMBOLS, "++")
#: The default ticker separator (a regular expression for :func:`re.split`). It matches
#: a tab with any white space around it; a separator symbol, or a run such as ``+++``, that touches no
#: other character (so ``AT&T|Verizon`` or ``l·l`` stay whole); or a run of three or more white-space
#: characters (non-breaking spaces count, as scraped tickers often pad with them).
DEFAULT_SEPARATOR = rf"\s*(?:\t|(?<!\S)(?:[{_SEPARATOR_SYMBOLS}]+|\+{{2,}})(?!\S))\s*|\s{{3,}}"

#: Seconds of CPU time a separator pattern of the user's may spend on one line (also capped by what
#: is left of a caller's deadline; the regex engine counts CPU time, so under load the wall time is
#: longer, while other threads run meanwhile). A separator is found in microseconds; a pattern that
#: takes longer backtracks catastrophically (``(a+)+$``) and would otherwise hold the process for
#: minutes.
PATTERN_SECONDS = 1.0

#: A headline has at most this many words; longer lines are article prose.
MAX_WORDS = 25
#: And at least this many; shorter lines are navigation and buttons ("Home", "Read more").
MIN_WORDS = 3

_QUOTE_OPEN = "\"'\u201c\u2018\u201e\u00ab"
_QUOTE_CLOSE = "\"'\u201d\u2019\u00bb"
_QUOTES = set(_QUOTE_OPEN + _QUOTE_CLOSE)
_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)|(?<=s)'(?=\s)")

# Abbreviations that end a headline with a period without ending a sentence ("Talks stall with U.S.").
_ABBREVIATION_END = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|\b(?:Inc|Co|Corp|Ltd|Jr|Sr|St|Bros|No|vs)\.)$")
# A sentence ending inside the line: a lower-case word, a period, then a capital ("... here. The ...").
_INNER_SENTENCE_END = re.compile(r"\b[a-z]{2,}\.[\"'\u201d\u2019)]?\s+[\"'\u201c\u2018(]?[A-Z]")
# Quoted speech with attribution: the closing quote comes right after a comma ("We will win," he said).
_SPEECH = re.compile(r",[\"'\u201d\u2019]\s")
_URL = re.compile(r"https?://|\bwww\.\S", re.IGNORECASE)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(
    rf"\b\d{{1,4}}\s*[-/.]\s*\d{{1,2}}\s*[-/.]\s*\d{{1,4}}\b"  # 21 - 01 - 2017, 2017/01/21
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?\b"  # 21 January 2017
    rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b",  # Jan 21, 2017
    re.IGNORECASE,
)
_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}\b")
_DATE_FILLER = re.compile(
    r"\b(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\b"
    r"|\b\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?|\b\d{4}\b"  # times, years
    r"|\b(?:at|on|updated|gmt|utc|bst|c?e[sd]?t|eest|[cmp][sd]t|ist|msk|ast)\b",  # glue, time zones
    re.IGNORECASE,
)
_BYLINE_START = re.compile(
    r"^(?:(?:first\s+|last\s+)?(?:published|posted|updated|modified)|written|filed)\b", re.IGNORECASE
)
# Without a date, a byline still reads "Published in <site>" or "Posted by <name>" (not "Updated: <news>").
_BYLINE_NO_DATE = re.compile(_BYLINE_START.pattern + r"(?:\s+(?:in|on|at|by)\s|\W*$)", re.IGNORECASE)
_BY = re.compile(r"^by\s+(\S.*)$", re.IGNORECASE)
_BY_NAME_GLUE = {"and", "&", "in", "for", "of", "de", "la", "van", "von", "al", "el", "bin"}

# Site furniture: buttons, reporting widgets, source links, legal lines. Typos such as "Clic here"
# are common on scraped pages, hence the loose spellings.
_BOILERPLATE = re.compile(
    r"^(?:cli(?:c?k|c)|tap|press)\s+here\b"
    r"|\b(?:cli(?:c?k|c)|tap)\s+here\s+(?:to|for)\b"
    r"|\bthanks?(?:\s+you)?\s+for\s+(?:reporting|reading|visiting|subscribing|signing\s+up"
    r"|sharing|your\s+(?:feedback|report|interest|support))\b"
    r"|\bwill\s+be\s+automatically\s+(?:disabled|removed|hidden)\b"
    r"|\bread\s+(?:the\s+)?(?:full\s+)?(?:story|article)\s+(?:from|at|on)\s+(?:its|the)\s+(?:source|original)"
    r"|\ball\s+rights\s+reserved\b|\u00a9|\(c\)\s*\d{4}"
    r"|^(?:subscribe|sign\s+up|log\s*in|register)\b|\bfollow\s+us\b|^share\s+(?:this|on)\b"
    r"|\b(?:report|flag)\s+(?:this|an?)\s+(?:image|comment|abuse|error)\b"
    r"|^(?:advertisement|sponsored(?:\s+content)?|loading|related\s+(?:articles|stories|news)"
    r"|most\s+(?:read|popular|viewed)|read\s+more|see\s+more|show\s+more|comments?)\W*$"
    r"|\bwe\s+use\s+cookies\b|\bcookie\s+(?:policy|settings|preferences)\b|\bprivacy\s+policy\b"
    r"|\bterms\s+of\s+(?:use|service)\b",
    re.IGNORECASE,
)


class PatternTimeout(DataError):
    """A separator pattern of the user's ran past its time limit on a line."""


def split_ticker(line: str, pattern: str | None = None, *, deadline: float | None = None) -> list[str]:
    """Split one ticker line into its headlines.

    Parameters
    ----------
    line
        Text holding one or more headlines, e.g. a scraped news ticker.
    pattern
        A regular expression matching the separators (the CLI's ``--split``); it replaces
        :data:`DEFAULT_SEPARATOR`. Groups in it are not returned, unlike with :func:`re.split`.
        It runs in the ``regex`` engine with a time limit (:data:`PATTERN_SECONDS`).
    deadline
        A :func:`time.monotonic` time the work must end by (a service's request deadline).

    Returns
    -------
    list of str
        The headlines in order, white space collapsed; empty parts are dropped, so a line with no
        separator gives ``[line]`` (stripped) and a blank line gives ``[]``.

    Raises
    ------
    DataError
        If ``pattern`` is not a valid regular expression or matches the empty string.
    PatternTimeout
        If ``pattern`` ran past its time limit or ``deadline``.
    """
    return _split(_compile(pattern), line, deadline)


def iter_split(
    lines: Iterable[str], pattern: str | None = None, *, deadline: float | None = None
) -> Iterator[str]:
    """Split each of ``lines`` like :func:`split_ticker`, lazily, for input of any length.

    The pattern is checked here, before the first line is read, so that a bad ``--split`` fails at
    once instead of after part of the output has been written.

    Raises
    ------
    DataError
        If ``pattern`` is not a valid regular expression or matches the empty string.
    PatternTimeout
        If ``pattern`` ran past its time limit on a line, or the lines past ``deadline``.
    """
    regex = _compile(pattern)
    return (part for line in lines for part in _split(regex, line, deadline))


def extract_from_page(text: str, *, pattern: str | None = None, deadline: float | None = None) -> list[str]:
    """Pick the headlines out of text scraped from a news page.

    Each line is split like a ticker, and each part is kept when :func:`rejection_reason` finds
    nothing against it. One exception: the line just before a byline ("Published in ... on ...") is
    the article's title and is kept even if it reads like a sentence, unless it is boilerplate.

    Parameters
    ----------
    text
        The page's text, one block per line (as copied from a browser or a scraper).
    pattern
        Ticker separator pattern, as for :func:`split_ticker`.
    deadline
        A :func:`time.monotonic` time the work must end by, checked at every line.

    Returns
    -------
    list of str
        The headlines in page order, white space collapsed; a headline that occurs again (tickers
        are often repeated for a seamless scroll) is kept once, where it first appears.

    Raises
    ------
    DataError
        If ``pattern`` is not a valid regular expression or matches the empty string.
    PatternTimeout
        If ``pattern`` ran past its time limit on a line, or the page past ``deadline``.
    """
    regex = _compile(pattern)
    # Lines keep their white space until split: runs of spaces are ticker separators.
    lines = [line for line in text.splitlines() if line.strip()]
    found: dict[str, None] = {}  # an ordered set
    for index, line in enumerate(lines):
        parts = _split(regex, line, deadline)
        is_title = (
            len(parts) == 1
            and index + 1 < len(lines)
            and is_byline(lines[index + 1])
            and not is_byline(line)
            and not _BOILERPLATE.search(line)
        )
        for part in parts:
            if is_title or rejection_reason(part) is None:
                found.setdefault(part)
    return list(found)


def rejection_reason(text: str) -> str | None:
    """Say why ``text`` is not a headline, or return None if it looks like one.

    The rules, in order: empty; boilerplate (site furniture such as "Click here to ..."); byline or
    date; a link; all capitals (a subheading); a quotation (the whole line in quotes, or quoted
    speech with attribution); more than :data:`MAX_WORDS` words; a final period (headlines have
    none, abbreviations such as "U.S." aside); a sentence ending inside the line; many clauses;
    fewer than :data:`MIN_WORDS` words (navigation, buttons).

    Returns
    -------
    str or None
        A short reason such as ``"ends with a period"``, for messages and debugging.
    """
    text = collapse(text)
    words = len(text.split())
    checks = (
        (not text, "empty"),
        (bool(_BOILERPLATE.search(text)), "boilerplate"),
        (is_byline(text), "byline or date"),
        (bool(_URL.search(text)), "link"),
        (_is_all_caps(text), "all capitals"),
        (_is_quotation(text), "quotation"),
        (words > MAX_WORDS, f"more than {MAX_WORDS} words"),
        (_ends_sentence(text), "ends with a period"),
        (bool(_INNER_SENTENCE_END.search(text)), "several sentences"),
        (sum(text.count(mark) for mark in ",;") >= 3 and words > 15, "many clauses"),
        (words < MIN_WORDS, f"fewer than {MIN_WORDS} words"),
    )
    return next((reason for failed, reason in checks if failed), None)


def is_byline(text: str) -> bool:
    """Tell whether ``text`` is a byline or dateline rather than content.

    Matches "Published in <site> on <date>" style lines (also posted/updated), "By <Name> and
    <Name>", and lines that are only a date with a weekday or time around it.
    """
    text = collapse(text)
    words = text.split()
    if not words or len(words) > 20:
        return False
    dated = bool(_DATE.search(text) or _TIME.search(text))
    if (_BYLINE_START.match(text) and dated) or (_BYLINE_NO_DATE.match(text) and len(words) <= 8):
        return True
    by = _BY.match(text)
    if by and len(words) <= 8 and _is_name_list(by.group(1)):
        return True
    if dated:
        rest = _DATE_FILLER.sub(" ", _DATE.sub(" ", text))
        return len(re.findall(r"\w+", rest)) <= 1
    return False


@lru_cache(maxsize=64)
def _compile(pattern: str | None) -> Any:
    """Compile a separator pattern once, with errors that name it and say how to fix it.

    The default pattern is ours and runs in :mod:`re`; a user's runs in the ``regex`` engine (the
    same syntax), which can stop a match after a time limit and lets other threads run meanwhile.
    """
    if pattern is None:
        return re.compile(DEFAULT_SEPARATOR)
    import regex

    try:
        re.compile(pattern)  # the syntax is re's (regex alone would take, say, a stray \p as "p")
        compiled = regex.compile(pattern, flags=regex.VERSION0)
    except (re.error, regex.error, OverflowError, RecursionError) as exc:
        raise DataError(
            f"split pattern {pattern!r} is not a valid regular expression ({exc}); "
            r"escape special characters such as | . ( with a backslash, e.g. '\|'"
        ) from None
    try:
        empty = compiled.search("", timeout=PATTERN_SECONDS) is not None
    except TimeoutError:
        empty = True
    if empty:
        # Such a pattern would cut between every pair of characters.
        raise DataError(
            f"split pattern {pattern!r} matches the empty string; make it match at least one "
            "character (use + rather than *)"
        )
    return compiled


def _split(regex: Any, line: str, deadline: float | None = None) -> list[str]:
    # re.split also returns the text of any groups; keep only the parts between separators.
    step = regex.groups + 1
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0:
        raise PatternTimeout("splitting the text into headlines ran past the time limit; send less text")
    if isinstance(regex, re.Pattern):
        parts = regex.split(line)[::step]
    else:
        limit = PATTERN_SECONDS if left is None else min(PATTERN_SECONDS, left)
        try:
            parts = regex.split(line, timeout=limit, concurrent=True)[::step]
        except TimeoutError:
            raise PatternTimeout(
                f"split pattern {regex.pattern!r} took more than {limit:.3g} s of CPU time on a line of "
                f"{len(line)} characters; simplify it (nested repeats such as (a+)+ or (a|a)+ "
                "backtrack exponentially)"
            ) from None
    return [clean for part in parts if (clean := collapse(part))]


def _is_all_caps(text: str) -> bool:
    # Needs three capitals, so "UN" or a headline with an acronym only is not a subheading.
    return not any(c.islower() for c in text) and sum(c.isupper() for c in text) >= 3


def _is_quotation(text: str) -> bool:
    if _SPEECH.search(text) and text[0] in _QUOTE_OPEN:
        return True
    if len(text) < 2 or text[0] not in _QUOTE_OPEN or text.rstrip(".!?\u2026")[-1] not in _QUOTE_CLOSE:
        return False
    # The whole line is one quotation: it closes at the very end and nowhere before. Apostrophes
    # inside words ("don't", "children's") are not quotes.
    body = _APOSTROPHE.sub("", text.rstrip(".!?\u2026")[1:-1])
    return not any(c in _QUOTES for c in body)


def _ends_sentence(text: str) -> bool:
    core = text.rstrip("\"'\u201d\u2019)] ")
    if not core.endswith(".") or core.endswith(("..", "\u2026")):
        return False  # an ellipsis marks a cut, not a sentence
    return not _ABBREVIATION_END.search(core)


def _is_name_list(names: str) -> bool:
    """Tell whether ``names`` is capitalised words joined by a few small words ("Jane Doe and Omar Said")."""
    words = re.findall(r"[^\s,|/]+", names)
    return bool(words) and all(w[0].isupper() or w.lower() in _BY_NAME_GLUE for w in words)
