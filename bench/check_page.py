"""Acceptance check for :func:`classify.io.ticker.extract_from_page` on a saved news page.

The page is read at run time from the shared examples folder; it is not part of the project, and
none of its text is copied here. It holds a ticker line of 48 headlines and one article, so the
expected result is those 48 headlines in order, then the article's title (the line just above the
byline, identified by its SHA-256) and nothing else. Prints the headlines found, then PASS or FAIL
with the counts.

Usage: ``python bench/check_page.py [PAGE]``
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from classify.io.ticker import extract_from_page, is_byline, rejection_reason, split_ticker

PAGE = Path(__file__).resolve().parents[2] / "shared" / "examples" / "ticker-page.txt"
TICKER_ITEMS = 48
TITLE_SHA256 = "3f645cec2205bd4aa3bae5c42e984088414d03d0cf8469c0e94ea0744d444cbb"


def expected_headlines(text: str) -> tuple[list[str], str]:
    """The first line's ticker items, and the line just above the first byline (the title)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    ticker = split_ticker(lines[0])
    title = next((lines[i - 1] for i in range(1, len(lines)) if is_byline(lines[i])), "")
    return ticker, title


def main(argv: list[str]) -> int:
    page = Path(argv[0]) if argv else PAGE
    if not page.exists():
        print(f"SKIP: {page}: no such file")
        return 0
    text = page.read_text(encoding="utf-8")
    found = extract_from_page(text)
    for number, headline in enumerate(found, start=1):
        print(f"{number:3d}  {headline}")

    ticker, title = expected_headlines(text)
    title_ok = hashlib.sha256(title.encode("utf-8")).hexdigest() == TITLE_SHA256
    expected = [*ticker, title]
    missing = [h for h in expected if h not in found]
    extra = [h for h in found if h not in expected]
    print()
    print(f"ticker items on the first line: {len(ticker)} (expected {TICKER_ITEMS})")
    print(f"title found above the byline: {'yes' if title_ok else 'NO'}")
    print(f"found {len(found)}, expected {len(expected)}; missing {len(missing)}, extra {len(extra)}")
    for headline in missing:
        print(f"  missing: {headline}  [{rejection_reason(headline)}]")
    for headline in extra:
        print(f"  extra:   {headline}")
    ok = len(ticker) == TICKER_ITEMS and title_ok and found == expected
    if ok:
        print("PASS")
    else:
        print("FAIL (order differs)" if not missing and not extra else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
