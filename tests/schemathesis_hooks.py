"""Schemathesis hooks for tests/test_serve_schema.py (loaded through ``SCHEMATHESIS_HOOKS``).

A JSON Schema cannot say "a regular expression that compiles and does not match the empty string",
so the generator is told that rule here, with the service's own check: a ``split_pattern`` the service
refuses (422, as its schema's description says) is not generated as a valid request.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from classify.errors import DataError
from classify.io.ticker import split_ticker


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    pattern = body.get("split_pattern") if isinstance(body, dict) else None
    if not isinstance(pattern, str):
        return True
    try:
        split_ticker("", pattern)
    except DataError:
        return False
    return True
