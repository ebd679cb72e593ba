"""The web UI: server-rendered pages (Jinja2 and htmx) in the same app as the REST API.

:func:`mount` adds the pages, the static files and the sign-in handling to the app
:func:`syncline.api.app.create_app` builds. Pages read and change the catalog through
the same repositories and checks as the API, so both accept and refuse the same
things.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from syncline.web.render import render
from syncline.web.users import Forbidden, SignInRequired

STATIC = Path(__file__).parent / "static"

PAGES = (
    "signin", "overview", "syncs", "runs", "connections", "models", "sync_form", "sequences",
    "alerts", "account",
)  # fmt: skip
"""Page modules under :mod:`syncline.web.pages`, each exposing ``router``."""


def mount(app: FastAPI) -> None:
    """Serve the UI from ``app``: pages at ``/``, files at ``/static``."""
    for name in PAGES:
        module = importlib.import_module(f"syncline.web.pages.{name}")
        app.include_router(module.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.middleware("http")(_page_headers)


SECURITY_HEADERS = {
    # Pages load scripts, styles and data from this server only, and never in a frame.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Headers every UI response carries (the API's JSON answers are left as they are)."""


async def _page_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    if not request.url.path.startswith("/api/"):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def _to_sign_in(request: Request, _exc: Exception) -> Response:
    target = "/login?next=" + quote(request.url.path)
    if request.headers.get("HX-Request"):
        # htmx swaps fragments; a plain redirect would put the sign-in page inside one.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _forbidden(request: Request, exc: Exception) -> Response:
    message = exc.message if isinstance(exc, Forbidden) else "Not allowed."
    return render(
        request, "message.html", None, status_code=403, heading="Not allowed", message=message
    )
