"""What the service is told: :class:`ServeSettings` (the options of ``classify serve``), sizes, the key.

Nothing here imports the web framework, so that the command line can read the defaults and check
the options without the ``serve`` extra.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from classify.errors import ClassifyError
from classify.monitoring.settings import DEFAULT_WINDOW
from classify.paths import install_hint

if TYPE_CHECKING:
    pass

#: The environment variable that hands the settings to worker processes (``--workers`` > 1).
SETTINGS_ENV = "CLASSIFY_SERVE_SETTINGS"
EXTRA_HINT = "install it with " + install_hint("serve")


class ServeError(ClassifyError):
    """The service cannot start: missing extra, bad setting, port taken, no API key in the environment."""


@dataclass(frozen=True)
class ServeSettings:
    """How the service runs (the options of ``classify serve``).

    Attributes
    ----------
    model
        Model file to serve and watch for replacement; None serves the default model.
    host, port
        Where to listen; loopback unless told otherwise.
    workers
        Worker processes, each with its own copy of the model (prediction is CPU-bound: more
        processes use more cores).
    max_batch
        Most headlines in one request (after a ticker or page is split); more is answered 413.
    max_body
        Largest request body in bytes; more is answered 413 before it is parsed.
    api_key_env
        Name of the environment variable holding the API key; when set, ``/v1/*`` and ``/metrics``
        need the key (``X-API-Key`` or ``Authorization: Bearer``).
    cors
        Origins allowed to call the API from a browser page of theirs (none by default).
    allowed_hosts
        Host names answered besides loopback ones while listening on loopback (a reverse proxy's
        public name); any other ``Host`` is refused there, against DNS rebinding.
    timeout
        Seconds a client has to send its body (else 408), and seconds from a request's arrival to
        its answer (checked before and during the work, else 503).
    reload_interval
        Seconds between checks of the model file for a replacement (0: never reload).
    access_log
        Log one line per request (uvicorn's access log).
    monitor_window
        Headlines in the rolling window that ``/v1/monitor``, the drift gauges of ``/metrics`` and
        the page's topic-mix panel describe (:mod:`classify.monitoring`); 0 turns monitoring off.
    """

    model: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_batch: int = 1000
    max_body: int = 1_000_000
    api_key_env: str | None = None
    cors: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    timeout: float = 10.0
    reload_interval: float = 1.0
    access_log: bool = True
    monitor_window: int = DEFAULT_WINDOW

    def __post_init__(self) -> None:
        for name in ("workers", "max_batch", "max_body"):
            if getattr(self, name) < 1:
                raise ServeError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.port <= 65535:
            raise ServeError(f"port must be between 0 and 65535, got {self.port}")
        if self.timeout <= 0:
            raise ServeError(f"timeout must be positive, got {self.timeout}")
        if self.monitor_window < 0:
            raise ServeError(f"monitor window must be 0 (off) or positive, got {self.monitor_window}")
        if self.reload_interval < 0:
            raise ServeError(f"reload interval must be 0 (off) or positive, got {self.reload_interval}")

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["model"] = None if self.model is None else str(self.model)
        data["cors"] = list(self.cors)
        data["allowed_hosts"] = list(self.allowed_hosts)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        data = json.loads(text)
        data["model"] = None if data["model"] is None else Path(data["model"])
        data["cors"] = tuple(data["cors"])
        data["allowed_hosts"] = tuple(data.get("allowed_hosts", ()))
        return cls(**data)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "ki": 2**10, "mi": 2**20, "gi": 2**30}


def parse_size(text: str) -> int:
    """Bytes in a size such as ``1MB``, ``512KB``, ``2MiB`` or ``1000000``.

    Raises
    ------
    ValueError
        If ``text`` is not such a size, or is zero.
    """
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size; write it like 1MB, 512KB or 1000000")
    number, unit = match.groups()
    unit = (unit or "").lower()
    unit = unit[:-1] if unit.endswith("b") and unit != "b" else unit
    size = int(float(number) * _UNITS[unit])
    if size < 1:
        raise ValueError(f"{text!r} is too small; give at least 1 byte")
    return size


def require_extra() -> None:
    """Fail with one clear line if the ``serve`` extra (fastapi, uvicorn, prometheus-client) is missing."""
    missing = []
    for module, package in (
        ("fastapi", "fastapi"),
        ("uvicorn", "uvicorn"),
        ("prometheus_client", "prometheus-client"),
    ):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise ServeError(f"classify serve needs {', '.join(missing)}; {EXTRA_HINT}")


def api_key(settings: ServeSettings) -> str | None:
    """The API key from the environment variable the settings name (None when no key is asked)."""
    if settings.api_key_env is None:
        return None
    key = os.environ.get(settings.api_key_env, "")
    if not key.strip():
        raise ServeError(
            f"environment variable {settings.api_key_env} is not set or empty; set it to the API key"
        )
    if not all(" " <= c <= "~" for c in key) or key != key.strip():
        # HTTP header values are bytes that clients encode differently (latin-1, UTF-8): a key
        # outside printable ASCII would never match what some clients send.
        raise ServeError(
            f"environment variable {settings.api_key_env} holds characters other than printable ASCII "
            "(or spaces at its ends); use a key such as the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return key
