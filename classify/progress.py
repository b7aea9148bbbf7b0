"""Progress of long work, told by the library and shown (or not) by a front end.

The library calls :func:`report` at the steps that can take a while (reading, features, fitting,
calibrating, each fold, grouping, each tuning round); nothing happens unless a front end has installed
a handler with :func:`reporting`, as the command line does on a terminal. A context variable rather
than an ``on_progress`` argument threaded through every function: the steps sit deep inside fitting
code that many callers share, and a caller that does not ask pays nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """What the work is doing now: ``done`` of ``total`` units where they are known."""

    what: str
    done: int | None = None
    total: int | None = None


Handler = Callable[[Step], None]
_handler: ContextVar[Handler | None] = ContextVar("classify_progress", default=None)


def report(what: str, done: int | None = None, total: int | None = None) -> None:
    """Tell the installed handler, if any, what the work is doing."""
    handler = _handler.get()
    if handler is not None:
        handler(Step(what, done, total))


@contextlib.contextmanager
def reporting(handler: Handler) -> Iterator[None]:
    """Send the steps reported inside this block (in this thread) to ``handler``."""
    token = _handler.set(handler)
    try:
        yield
    finally:
        _handler.reset(token)
