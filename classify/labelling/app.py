"""The web layer of ``classify label``: FastAPI over a :class:`~classify.labelling.session.LabelSession`.

Endpoints (JSON; the page is ``classify/labelling/static/label.html``, self-contained, no CDN):

- ``GET /``: the labelling page;
- ``GET /api/state``: ``{"item", "progress", "topics"}``: the question to show now;
- ``POST /api/answer`` ``{"id", "topic" | null, "seconds"}``: record (``null`` skips); replies with the
  next question once the answer is flushed to the file; 404 unknown id, 409 already answered, 422
  unknown topic;
- ``POST /api/undo``: take back the last answer; its headline is the next question.

Every request must name a loopback host (against DNS rebinding, when listening on loopback), and every
``POST`` must come from no other site's page and carry the session's token, which only the page
served here holds (:class:`classify.origins.Guard`).

The endpoints are plain ``def`` functions: FastAPI runs them in its thread pool, so a request never
waits on another, and the session's background refit never blocks one for longer than a lock.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoint annotations at run time,
# and the request models are defined inside create_app (pydantic is imported only when serving).
from pathlib import Path
from typing import TYPE_CHECKING, Any

from classify.errors import ClassifyError, MissingExtraError
from classify.labelling.session import AlreadyAnswered, AnswerError, Item, LabelSession, Progress
from classify.paths import install_hint

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE = STATIC_DIR / "label.html"


def require_serve() -> None:
    """Fail with the install line when the ``serve`` extra (FastAPI, uvicorn) is missing."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            f"'classify label' needs {exc.name or 'fastapi'}: {install_hint('serve')}"
        ) from None


def item_json(item: Item | None) -> dict[str, Any] | None:
    """An :class:`Item` as the page reads it."""
    if item is None:
        return None
    return {
        "id": item.id,
        "headline": item.headline,
        "probabilities": [[t, p] for t, p in item.probabilities],
        "suggested": item.suggested,
    }


def progress_json(progress: Progress) -> dict[str, Any]:
    """A :class:`Progress` as the page reads it."""
    return dict(vars(progress))


#: Where the page carries the session's token (filled in when the page is served).
TOKEN_META = '<meta name="classify-token" content="">'


def create_app(session: LabelSession, *, host: str = "127.0.0.1", token: str | None = None) -> "FastAPI":
    """The FastAPI app serving ``session``, listening on ``host``.

    ``token`` (random by default) is what every ``POST`` must send in the ``X-Classify-Token`` header:
    the page gets it inside its HTML, which another site's page cannot read.
    """
    import secrets

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, Field

    class Answer(BaseModel):
        id: int = Field(ge=0)
        topic: str | None = None
        seconds: float = Field(default=0.0, ge=0.0)

    from classify.origins import Guard

    app = FastAPI(title="classify label", docs_url=None, redoc_url=None, openapi_url=None)
    token = token or secrets.token_urlsafe(32)
    page = PAGE.read_text(encoding="utf-8")
    assert TOKEN_META in page, "the page lost its token placeholder"
    page = page.replace(TOKEN_META, f'<meta name="classify-token" content="{token}">')
    app.add_middleware(Guard, listening_on=host, token=token)  # type: ignore[arg-type]

    def state(undone: bool | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "item": item_json(session.current()),
            "progress": progress_json(session.progress()),
            "topics": session.topics,
            "output": str(session.output),
        }
        if undone is not None:
            out["undone"] = undone
        return out

    @app.exception_handler(AnswerError)
    def answer_error(request: Request, exc: AnswerError) -> JSONResponse:
        status = 409 if isinstance(exc, AlreadyAnswered) else 404 if "no headline" in str(exc) else 422
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(
            {"error": f"{where or 'request'}: {first.get('msg', 'invalid')}"}, status_code=422
        )

    @app.exception_handler(ClassifyError)
    def classify_error(request: Request, exc: ClassifyError) -> JSONResponse:
        # e.g. the answers file became unwritable: the answer was NOT recorded, and the page says so.
        return JSONResponse({"error": str(exc)}, status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/api/state")
    def get_state() -> dict[str, Any]:
        return state()

    @app.post("/api/answer")
    def post_answer(answer: Answer) -> dict[str, Any]:
        try:
            session.answer(answer.id, answer.topic, seconds=answer.seconds)
        except OSError as exc:
            raise ClassifyError(f"{session.output}: answer not saved ({exc.strerror or exc})") from None
        return state()

    @app.post("/api/undo")
    def post_undo() -> dict[str, Any]:
        try:
            undone = session.undo()
        except OSError as exc:
            raise ClassifyError(f"{session.output}: undo not saved ({exc.strerror or exc})") from None
        return state(undone=undone is not None)

    @app.get("/api/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(session: LabelSession, *, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Serve the page until Ctrl-C (or SIGTERM), then stop the session's refit thread."""
    import uvicorn

    try:
        app = create_app(session, host=host)
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        session.close()
