"""Models: a SQL editor with a preview of the first rows and the columns with their types.

Saving goes through the API's model routes, which run the query on the source first,
so a model saved here has SQL the source accepts and a primary key it returns.
"""

from __future__ import annotations

import logging
from typing import Any

import pydantic
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncline.api.previews import preview
from syncline.api.routes import models as model_routes
from syncline.api.schemas import ModelCreate, ModelUpdate, RawQuery, TableQuery
from syncline.catalog import Catalog
from syncline.errors import ConfigError, ConnectorError, NotFoundError, SynclineError
from syncline.numerals import whole_number
from syncline.web.forms import field_errors, in_form_words
from syncline.web.render import not_found, render
from syncline.web.users import AdminForm, SubmittedForm, Viewer, WebUser, catalog_of

logger = logging.getLogger(__name__)

router = APIRouter()

_ALIASES = {
    "raw.sql": "sql",
    "raw": "sql",
    "table.name": "table",
    "sourceId": "source",
    "primaryKey": "primary_key",
}

_FIXES = {
    model_routes.QUERY_REFUSED_FIX: "correct the query, or tick 'Save without running the query "
    "on the source' to store it unchecked",
}
"""The API's fixes as this form gives them."""


def _sources(catalog: Catalog, workspace_id: int) -> list[tuple[int, str]]:
    with catalog.session(workspace_id, read_only=True) as session:
        return [(s.id, s.name) for s in session.sources.list()]


def _form_page(
    request: Request,
    user: WebUser,
    *,
    record: Any = None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    sources = _sources(catalog_of(request), user.workspace_id)
    return render(
        request, "model_form.html", user, status_code=status_code, record=record,
        values=values, errors=errors or {}, sources=sources,
    )  # fmt: skip


def _values(form: SubmittedForm) -> dict[str, Any]:
    return {key: value for key, value in form.data.items() if isinstance(value, str)}


@router.get("/models", response_class=HTMLResponse)
def listing(request: Request, user: Viewer) -> Response:
    """Every model of the workspace."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        sources = {s.id: s.name for s in session.sources.list()}
        rows = [
            (m.id, m.name, m.slug, sources.get(m.source_id, "?"), m.primary_key, m.updated_at)
            for m in session.models.list()
        ]
    return render(request, "models.html", user, rows=rows, has_sources=bool(sources))


@router.get("/models/new", response_class=HTMLResponse)
def new(request: Request, user: Viewer) -> Response:
    """An empty model form."""
    return _form_page(request, user, values={})


@router.post("/models/new")
def create(request: Request, form: AdminForm) -> Response:
    """Create the model through the API's route, which checks the query on the source
    unless the form asks to save it unchecked (the API's ``skipColumnQuery``)."""
    catalog = catalog_of(request)
    source = form.text("source")
    by_table = form.text("query_type") == "table"
    try:
        body = ModelCreate(
            name=form.text("name"),
            slug=form.text("slug"),
            queryType="table" if by_table else "raw_sql",
            sourceId=whole_number(source) or 0,
            isSchema=False,
            primaryKey=form.text("primary_key") or None,
            raw=None if by_table else RawQuery(sql=form.text("sql")),
            table=TableQuery(name=form.text("table")) if by_table else None,
        )
        made = model_routes.create_model(
            body, form.user.workspace_id, catalog, request.app.state.settings,
            skipColumnQuery=form.text("skip_check") == "on",
        )  # fmt: skip
    except (SynclineError, pydantic.ValidationError) as exc:
        errors = field_errors(in_form_words(exc, _FIXES), _ALIASES)
        if whole_number(source) is None:
            errors["source"] = "choose the source the query runs on"
        return _form_page(request, form.user, values=_values(form), errors=errors, status_code=422)
    return RedirectResponse(f"/models/{made['id']}?saved=1", status_code=303)


@router.get("/models/{model_id:int}", response_class=HTMLResponse)
def edit(request: Request, model_id: int, user: Viewer) -> Response:
    """A model's form, filled in."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        try:
            record = session.models.get(model_id)
        except NotFoundError as exc:
            return not_found(request, user, str(exc))
    values = {
        "name": record.name,
        "slug": record.slug,
        "source": str(record.source_id),
        "sql": record.sql or "",
        "table": record.table_name or "",
        "query_type": record.query_type,
        "primary_key": record.primary_key or "",
    }
    return _form_page(request, user, record=record, values=values)


@router.post("/models/{model_id:int}")
def update(request: Request, model_id: int, form: AdminForm) -> Response:
    """Change the model through the API's route (a new key makes its syncs start over)."""
    catalog = catalog_of(request)
    with catalog.session(form.user.workspace_id, read_only=True) as session:
        record = session.models.get(model_id)
    try:
        # Only what the form holds is sent: the API refuses a null it cannot store.
        fields: dict[str, Any] = {"name": form.text("name")}
        if record.query_type == "raw_sql":
            fields["raw"] = RawQuery(sql=form.text("sql"))
        else:
            fields["table"] = TableQuery(name=form.text("table"))
        if form.text("primary_key"):
            fields["primaryKey"] = form.text("primary_key")
        body = ModelUpdate.model_validate(fields)
        tasks = BackgroundTasks()
        model_routes.update_model(
            model_id, body, form.user.workspace_id, catalog, tasks, request.app.state.settings,
            skipColumnQuery=form.text("skip_check") == "on",
        )  # fmt: skip
    except (SynclineError, pydantic.ValidationError) as exc:
        return _form_page(
            request, form.user, record=record, values=_values(form),
            errors=field_errors(in_form_words(exc, _FIXES), _ALIASES), status_code=422,
        )  # fmt: skip
    response = RedirectResponse(f"/models/{model_id}?saved=1", status_code=303)
    response.background = tasks
    return response


@router.post("/models/{model_id:int}/delete")
def delete(request: Request, model_id: int, form: AdminForm) -> Response:
    """Delete a model no sync uses; otherwise say which syncs use it."""
    try:
        with catalog_of(request).session(form.user.workspace_id) as session:
            model_routes.delete_model(model_id, session)
    except SynclineError as exc:
        return render(
            request, "message.html", form.user, status_code=409,
            heading="The model was not deleted", message=str(exc),
        )  # fmt: skip
    return RedirectResponse("/models", status_code=303)


@router.post("/models/preview", response_class=HTMLResponse)
def preview_fragment(request: Request, form: AdminForm) -> Response:
    """The first rows and the columns of the SQL in the form, or the source's error."""
    source = form.text("source")
    by_table = form.text("query_type") == "table"
    sql = None if by_table else form.text("sql")
    table = form.text("table") if by_table else None
    source_id = whole_number(source)
    missing = []
    if source_id is None:
        missing.append("choose a source")
    if not (sql or table):
        missing.append("name a table" if by_table else "write a query")
    if missing or source_id is None:
        unasked = f"Nothing was run yet: {' and '.join(missing)} to preview."
        return _preview(request, form.user, unasked=unasked)
    try:
        shown = preview(
            catalog_of(request), form.user.workspace_id, source_id, sql, table,
            request.app.state.settings,
        )  # fmt: skip
    except NotFoundError as exc:
        return _preview(request, form.user, unasked=f"Nothing was run: {exc}")
    except (ConnectorError, ConfigError) as exc:
        logger.info("model preview failed on source %s", source)
        return _preview(request, form.user, error=str(exc))
    columns = [(c.name, c.type) for c in shown.columns]
    return _preview(request, form.user, columns=columns, rows=shown.rows)


def _preview(
    request: Request,
    user: WebUser,
    *,
    unasked: str | None = None,
    error: str | None = None,
    columns: list[tuple[str, str]] | None = None,
    rows: list[Any] | None = None,
) -> Response:
    """The preview fragment: what to fill in, the source's refusal, or columns and rows."""
    return render(
        request, "_preview.html", user, unasked=unasked, error=error,
        columns=columns or [], rows=rows or [],
    )  # fmt: skip
