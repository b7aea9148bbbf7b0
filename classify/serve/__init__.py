"""``classify serve``: an HTTP service and a web page that classify headlines.

The service is a FastAPI app (:mod:`classify.serve.routes`) run by uvicorn; the model it serves is held by
:class:`classify.serve.hosting.ModelHost`, which swaps in a new model when its file is replaced. This
module holds what the command line needs and nothing that imports the web framework at import time,
so that ``classify --help`` stays fast and a missing serve extra is one clear error.

Python use::

    from classify.serve import ServeSettings, create_app, run

    run(ServeSettings(model=Path("models/site.joblib"), port=8000))  # blocks until stopped
    app = create_app(ServeSettings())  # an ASGI app, for another ASGI server or a test client
"""

from classify.serve.running import app_from_env, check_port, create_app, run
from classify.serve.settings import (
    EXTRA_HINT,
    SETTINGS_ENV,
    ServeError,
    ServeSettings,
    api_key,
    parse_size,
    require_extra,
)

__all__ = [
    "EXTRA_HINT",
    "SETTINGS_ENV",
    "ServeError",
    "ServeSettings",
    "api_key",
    "app_from_env",
    "check_port",
    "create_app",
    "parse_size",
    "require_extra",
    "run",
]
