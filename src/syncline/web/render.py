"""Rendering pages: one Jinja2 environment, the filters every page uses, and the response.

Times are written as ``<time>`` elements in UTC; ``static/app.js`` shows them in the
viewer's timezone and keeps UTC in the hover title, so the server never guesses a zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from syncline.catalog.repository import SLUG_RULE
from syncline.catalog.run_notes import reset_note
from syncline.web.users import WebUser

environment = Environment(
    loader=PackageLoader("syncline.web", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["slug_rule"] = f"Use {SLUG_RULE}."


def time_element(value: datetime | str | None) -> Markup:
    """A ``<time>`` of an instant in UTC, which the browser rewrites in the viewer's zone."""
    if value is None or value == "":
        return Markup('<span class="muted">never</span>')
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    instant = value.astimezone(UTC)
    iso = instant.isoformat(timespec="seconds").replace("+00:00", "Z")
    shown = instant.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{0}" title="{1}">{1}</time>').format(iso, shown)


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long from ``start`` to ``end`` (now when not ended), e.g. ``2m 05s``; - if unknown."""
    if start is None:
        return "-"
    span = (end or datetime.now(UTC)) - start
    seconds = max(0, int(span / timedelta(seconds=1)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def badge(status: str | None) -> Markup:
    """A status badge; colour and text both tell the status, so colour is never the only cue."""
    text = status or "pending"
    return Markup('<span class="badge badge-{0}">{0}</span>').format(escape(text))


def with_query(path: str, **params: Any) -> str:
    """``path`` with ``params`` as its query string, every value encoded once.

    Autoescaping then writes each ``&`` as ``&amp;`` in the attribute, which is what
    browsers read back as ``&``.
    """
    return f"{path}?{urlencode(params)}"


environment.filters["time"] = time_element
environment.filters["badge"] = badge
environment.globals["duration"] = duration
environment.globals["reset_note"] = reset_note
environment.globals["with_query"] = with_query


def render(
    request: Request,
    template: str,
    user: WebUser | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with ``context``, the signed-in user and the request."""
    page = environment.get_template(template).render(
        request=request, user=user, path=request.url.path, **context
    )
    return HTMLResponse(page, status_code=status_code)


def not_found(request: Request, user: WebUser | None, message: str) -> HTMLResponse:
    """The 404 page, saying what was looked for and where."""
    return render(
        request, "message.html", user, status_code=404, heading="Not found", message=message
    )
