"""Setting up and editing a sync: model, destination, mode, mappings, guards and schedule.

The form is turned into the API's SyncCreate or SyncUpdate body and handed to the
API's own route functions, so the checks of ``syncline validate`` and the API judge
it, and each problem comes back next to the input it concerns. The mapping editor
offers the model's columns and the destination object's fields as suggestions, and
any name may still be typed (the object may not exist until the first run).
"""

from __future__ import annotations

import logging
from typing import Any

import pydantic
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncline.api.routes import syncs as sync_routes
from syncline.api.routes.destinations import destination_fields
from syncline.api.schemas import MAX_ID, SyncCreate, SyncUpdate
from syncline.connectors.destinations.base import SyncMode
from syncline.errors import ConnectorError, NotFoundError, SynclineError, ValidationError
from syncline.numerals import whole_number
from syncline.security.files import confined_source, file_policy
from syncline.web.forms import field_errors, problem_text
from syncline.web.mapping_rows import (
    KINDS,
    VARIABLES,
    MappingRow,
    MappingsOfForm,
    mappings_of,
    row_errors,
    rows_from,
)
from syncline.web.render import not_found, render
from syncline.web.schedule_form import (
    SCHEDULE_ALIASES,
    SCHEDULE_CHOICES,
    schedule_from,
    schedule_values,
    visual_slots_of,
)
from syncline.web.users import AdminForm, SubmittedForm, Viewer, WebUser, catalog_of

logger = logging.getLogger(__name__)

router = APIRouter()

BLANK_MAPPING_ROWS = 3
"""Empty mapping rows the form offers beyond the sync's own."""

_ALIASES = {
    "slug": "slug",
    "modelId": "model",
    "destinationId": "destination",
    "configuration.mode": "mode",
    "configuration.object": "object",
    "configuration.mappings": "mappings",
    "configuration.guards": "guards",
    "configuration": "mappings",
    **SCHEDULE_ALIASES,
    "disabled": "disabled",
}


def configuration_from(form: SubmittedForm, made: MappingsOfForm) -> dict[str, Any]:
    """The sync configuration the form describes, with the mappings its rows ``made``."""
    guards: dict[str, Any] = {"allowEmpty": form.text("allow_empty") == "on"}
    share = form.text("max_removed_percent")
    if share:
        try:
            guards["maxRemovedShare"] = float(share) / 100
        except ValueError:
            guards["maxRemovedShare"] = share  # the configuration check names the problem
    return {
        "mode": form.text("mode") or "upsert",
        "object": form.text("object"),
        "mappings": made.mappings,
        "guards": guards,
    }


def values_of(sync: Any) -> dict[str, Any]:
    """The form's values for a stored sync."""
    configuration = {"mappings": [], **sync.configuration}
    guards = configuration.get("guards") or {}
    share = guards.get("maxRemovedShare")
    values: dict[str, Any] = {
        "slug": sync.slug,
        "model": str(sync.model_id),
        "destination": str(sync.destination_id),
        "mode": configuration.get("mode", "upsert"),
        "object": configuration.get("object", ""),
        "mappings": [MappingRow.of(m) for m in configuration["mappings"]],
        "allow_empty": "on" if guards.get("allowEmpty") else "",
        "max_removed_percent": "" if share is None else f"{share * 100:g}",
        "disabled": "on" if sync.disabled else "",
    }
    values.update(schedule_values(sync.schedule))
    return values


def _values(form: SubmittedForm, rows: list[MappingRow]) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in form.data.items() if isinstance(v, str)}
    # Trailing blank rows go (the page adds fresh ones); earlier rows keep their place,
    # which is what their errors are keyed by.
    kept = list(rows)
    while kept and kept[-1].blank:
        kept.pop()
    values["mappings"] = kept
    values["visual_slots"] = visual_slots_of(form)
    return values


def _errors(exc: Exception, form: SubmittedForm, made: MappingsOfForm) -> dict[str, str]:
    """Where each problem goes: a mapping's problems on its row, the rest by field."""
    placed: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        placed, rest = row_errors(exc.problems, made)
        errors = field_errors(ValidationError(rest), _ALIASES) if rest else {}
    else:
        errors = field_errors(exc, _ALIASES)
        for row, reason in made.own_errors.items():
            placed[f"mapping.{row}.value"] = reason
    if placed and "mappings" not in errors:
        errors["mappings"] = "Some mappings need attention; each problem is shown on its row."
    errors.update(placed)
    _percent_error(form, errors)
    return errors


def percent_problem(text: str) -> str | None:
    """Why a percentage typed in the form is not one, or None when it is (or is blank)."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return f"{text!r} is not a number; enter a percentage such as 20"
    if not 0 <= value <= 100:
        return f"{text} is not a percentage; enter a number from 0 to 100"
    return None


def _form_page(
    request: Request,
    user: WebUser,
    *,
    record: Any = None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        models = [(m.id, m.name) for m in session.models.list()]
        destinations = [(d.id, d.name, d.type) for d in session.destinations.list()]
    return render(
        request, "sync_form.html", user, status_code=status_code, record=record,
        values=values, errors=errors or {}, models=models, destinations=destinations,
        modes=[m.value for m in SyncMode], blank_rows=BLANK_MAPPING_ROWS,
        blank_row=MappingRow(), kinds=KINDS, variables=VARIABLES, **SCHEDULE_CHOICES,
    )  # fmt: skip


@router.get("/syncs/new", response_class=HTMLResponse)
def new(request: Request, user: Viewer) -> Response:
    """An empty sync form."""
    return _form_page(request, user, values={"schedule_type": "manual", "mappings": []})


@router.post("/syncs/new")
def create(request: Request, form: AdminForm) -> Response:
    """Create the sync through the API's route."""
    rows = rows_from(form)
    made = mappings_of(rows)
    try:
        body = SyncCreate(
            slug=form.text("slug"),
            modelId=_id(form.text("model")),
            destinationId=_id(form.text("destination")),
            configuration=configuration_from(form, made),
            schedule=schedule_from(form),
            disabled=form.text("disabled") == "on",
        )
        made = sync_routes.create_sync(
            body, form.user.workspace_id, catalog_of(request), request.app.state.settings
        )
    except (SynclineError, pydantic.ValidationError) as exc:
        errors = _errors(exc, form, made)
        for field in ("model", "destination"):
            if whole_number(form.text(field)) is None:
                errors[field] = f"choose a {field}"
        return _form_page(
            request, form.user, values=_values(form, rows), errors=errors, status_code=422
        )
    return RedirectResponse(f"/syncs/{made['id']}", status_code=303)


@router.get("/syncs/{sync_id:int}/edit", response_class=HTMLResponse)
def edit(request: Request, sync_id: int, user: Viewer) -> Response:
    """A sync's form, filled in."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        try:
            record = session.syncs.get(sync_id)
        except NotFoundError as exc:
            return not_found(request, user, str(exc))
    return _form_page(request, user, record=record, values=values_of(record))


@router.post("/syncs/{sync_id:int}/edit")
def update(request: Request, sync_id: int, form: AdminForm) -> Response:
    """Change the sync through the API's route (a new object makes it start over)."""
    catalog = catalog_of(request)
    with catalog.session(form.user.workspace_id, read_only=True) as session:
        record = session.syncs.get(sync_id)
    tasks = BackgroundTasks()
    rows = rows_from(form)
    made = mappings_of(rows)
    try:
        body = SyncUpdate(
            configuration=configuration_from(form, made),
            schedule=schedule_from(form),
            disabled=form.text("disabled") == "on",
        )
        sync_routes.update_sync(
            sync_id, body, form.user.workspace_id, catalog, tasks, request.app.state.settings
        )
    except (SynclineError, pydantic.ValidationError) as exc:
        return _form_page(
            request, form.user, record=record, values=_values(form, rows),
            errors=_errors(exc, form, made), status_code=422,
        )  # fmt: skip
    response = RedirectResponse(f"/syncs/{sync_id}", status_code=303)
    response.background = tasks
    return response


@router.get("/syncs/form/mapping-row", response_class=HTMLResponse)
def mapping_row(
    request: Request,
    user: Viewer,
    map_type: str = "standard",
    map_from: str = "",
    map_value: str = "",
    map_value_as: str = "text",
    map_variable: str = VARIABLES[0],
    map_template: str = "",
    map_to: str = "",
) -> Response:
    """One mapping row: an empty one to add, or a row redrawn for the kind just chosen.

    The row's inputs come along, so switching kinds and back loses nothing typed.
    """
    row = MappingRow(
        kind=map_type if map_type in KINDS else "standard", column=map_from, value=map_value,
        value_as=map_value_as, variable=map_variable, template=map_template, to=map_to,
    )  # fmt: skip
    return render(
        request, "_mapping_row.html", user, row=row, index=None, errors={},
        kinds=KINDS, variables=VARIABLES,
    )  # fmt: skip


@router.get("/syncs/form/fields", response_class=HTMLResponse)
def fields(request: Request, user: Viewer, destination: str = "", object: str = "") -> Response:
    """The fields the chosen object has in the chosen destination, as field suggestions."""
    found = None
    error = None
    destination_id = whole_number(destination.strip())
    if destination_id is not None and object.strip():
        try:
            with catalog_of(request).session(user.workspace_id, read_only=True) as session:
                policy = file_policy(request.app.state.settings, session.workspace.slug)
                found = destination_fields(session, destination_id, object, policy)
        except ValidationError as exc:
            error = "; ".join(problem_text(problem) for problem in exc.problems)
        except NotFoundError as exc:
            error = str(exc)
    return render(
        request, "_fields.html", user, fields=found, error=error, object=object.strip(),
        chosen=destination_id is not None and bool(object.strip()),
    )  # fmt: skip


@router.get("/syncs/form/columns", response_class=HTMLResponse)
def columns(request: Request, user: Viewer, model: str = "") -> Response:
    """The model's columns as choices for the mapping editor (queried on its source)."""
    names: list[str] = []
    error = None
    model_id = whole_number(model.strip())
    if model_id is not None:
        try:
            names = model_columns(request, user, model_id)
        except (ConnectorError, NotFoundError, ValidationError) as exc:
            error = str(exc)
    return render(request, "_columns.html", user, names=names, error=error)


def model_columns(request: Request, user: WebUser, model_id: int) -> list[str]:
    """The column names a model's query returns."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        model = session.models.get(model_id)
        record = session.sources.get(model.source_id)
        source_type, configuration = record.type, session.sources.plain_configuration(record)
        sql, table = model.sql, model.table_name
        policy = file_policy(request.app.state.settings, session.workspace.slug)
    source = confined_source(source_type, configuration, policy)
    try:
        return [c.name for c in source.describe(sql or source.table_query(table or ""))]
    finally:
        source.close()


def _percent_error(form: SubmittedForm, errors: dict[str, str]) -> None:
    # The configuration holds a share from 0 to 1; the form asks for a percentage, so
    # its problem is said in the form's terms.
    problem = percent_problem(form.text("max_removed_percent"))
    if problem is not None:
        errors["guards"] = problem


def _id(text: str) -> int:
    # An id no resource has, so that the API's checks run on the rest of the form and
    # report every problem at once; the "does not exist" they say is then replaced
    # by "choose a ...".
    number = whole_number(text)
    return number if number is not None and number <= MAX_ID else MAX_ID
