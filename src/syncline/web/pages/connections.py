"""Sources and destinations: lists, set-up and edit forms, connection tests, deletion.

Both kinds are one connector type plus its settings, so one set of pages serves
both; saving goes through the API's route functions, with the API's checks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncline.api.connections import (
    merged,
    secrets_to_give_again,
    try_connection,
    with_stored_urls,
)
from syncline.api.routes import destinations as destination_routes
from syncline.api.routes import sources as source_routes
from syncline.api.schemas import ConnectionCreate, ConnectionUpdate
from syncline.catalog import Catalog, CatalogSession
from syncline.connectors import registry
from syncline.errors import ConfigError, NotFoundError, SynclineError
from syncline.numerals import whole_number
from syncline.security.files import file_policy
from syncline.settings import Settings
from syncline.web.forms import (
    ConfigField,
    config_fields,
    configuration_from_form,
    field_errors,
    in_form_words,
)
from syncline.web.render import not_found, render
from syncline.web.users import AdminForm, SubmittedForm, Viewer, WebUser, catalog_of

logger = logging.getLogger(__name__)

router = APIRouter()


@dataclass(frozen=True)
class Kind:
    """What differs between sources and destinations."""

    path: str
    singular: str
    types: Callable[[], list[str]]
    lookup: Callable[[str], Any]
    create: Callable[[ConnectionCreate, CatalogSession, Settings], Any]
    update: Callable[..., Any]
    """The API route: ``(id, body, session)``, then tasks (destinations only) and settings."""
    delete: Callable[[int, CatalogSession], Any]
    empty_hint: str

    def repository(self, session: CatalogSession) -> Any:
        """The catalog repository of this kind."""
        return session.sources if self.path == "sources" else session.destinations


SOURCES = Kind(
    "sources", "source", registry.source_types, registry.source_class,
    source_routes.create_source, source_routes.update_source, source_routes.delete_source,
    "A source is the warehouse or database your models query.",
)  # fmt: skip
DESTINATIONS = Kind(
    "destinations", "destination", registry.destination_types, registry.destination_class,
    destination_routes.create_destination, destination_routes.update_destination,
    destination_routes.delete_destination,
    "A destination is where syncs send rows: a database table, files or a webhook.",
)  # fmt: skip


def _fields(kind: Kind, type_name: str) -> list[ConfigField]:
    try:
        return config_fields(kind.lookup(type_name))
    except (ConfigError, ImportError, AttributeError):
        return []


def _form_page(
    request: Request,
    user: WebUser,
    kind: Kind,
    *,
    record: Any = None,
    type_name: str,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request, "connection_form.html", user, status_code=status_code,
        kind=kind, record=record, type_name=type_name, types=kind.types(),
        fields=_fields(kind, type_name), values=values, errors=errors or {},
    )  # fmt: skip


def _values(form: SubmittedForm) -> dict[str, Any]:
    return {key: value for key, value in form.data.items() if isinstance(value, str)}


def _register(kind: Kind) -> None:
    base = f"/{kind.path}"

    @router.get(base, response_class=HTMLResponse, name=f"{kind.path}_list")
    def listing(request: Request, user: Viewer) -> Response:
        with catalog_of(request).session(user.workspace_id, read_only=True) as session:
            records = kind.repository(session).list()
            rows = [(r.id, r.name, r.slug, r.type, r.updated_at) for r in records]
        return render(request, "connections.html", user, kind=kind, rows=rows)

    @router.get(f"{base}/new", response_class=HTMLResponse, name=f"{kind.path}_new")
    def new(request: Request, user: Viewer, type: str = "") -> Response:
        type_name = type or (kind.types()[0] if kind.types() else "")
        return _form_page(request, user, kind, type_name=type_name, values={})

    @router.post(f"{base}/new", name=f"{kind.path}_create")
    def create(request: Request, form: AdminForm) -> Response:
        type_name = form.text("type")
        fields = _fields(kind, type_name)
        try:
            body = ConnectionCreate(
                name=form.text("name"),
                slug=form.text("slug"),
                type=type_name,
                configuration=configuration_from_form(fields, form, for_update=False),
            )
            with catalog_of(request).session(form.user.workspace_id) as session:
                made = kind.create(body, session, request.app.state.settings)
        except (SynclineError, pydantic.ValidationError) as exc:
            return _form_page(
                request, form.user, kind, type_name=type_name, values=_values(form),
                errors=field_errors(exc), status_code=422,
            )  # fmt: skip
        return RedirectResponse(f"{base}/{made['id']}?saved=1", status_code=303)

    @router.get(f"{base}/{{ident:int}}", response_class=HTMLResponse, name=f"{kind.path}_edit")
    def edit(request: Request, ident: int, user: Viewer, saved: int = 0) -> Response:
        with catalog_of(request).session(user.workspace_id, read_only=True) as session:
            try:
                record = kind.repository(session).get(ident)
            except NotFoundError as exc:
                return not_found(request, user, str(exc))
            shown = kind.repository(session).redacted_configuration(record)
        values = {"name": record.name, "slug": record.slug}
        values.update({f"config.{k}": _shown(v) for k, v in shown.items()})
        response = _form_page(
            request, user, kind, record=record, type_name=record.type, values=values
        )
        if saved:
            response.headers["X-Saved"] = "1"
        return response

    @router.post(f"{base}/{{ident:int}}", name=f"{kind.path}_update")
    def update(request: Request, ident: int, form: AdminForm) -> Response:
        catalog = catalog_of(request)
        with catalog.session(form.user.workspace_id, read_only=True) as session:
            record = kind.repository(session).get(ident)
        fields = _fields(kind, record.type)
        changes = configuration_from_form(fields, form, for_update=True)
        try:
            body = ConnectionUpdate(name=form.text("name"), configuration=changes)
            # A destination pointed elsewhere drops its syncs' snapshots after the commit.
            tasks = BackgroundTasks()
            settings = request.app.state.settings
            extra = (tasks, settings) if kind.path == "destinations" else (settings,)
            with catalog.session(form.user.workspace_id) as session:
                kind.update(ident, body, session, *extra)
        except (SynclineError, pydantic.ValidationError) as exc:
            fixes = _secret_fixes(catalog, form.user.workspace_id, kind, record, changes)
            return _form_page(
                request, form.user, kind, record=record, type_name=record.type,
                values=_values(form), errors=field_errors(in_form_words(exc, fixes)),
                status_code=422,
            )  # fmt: skip
        response = RedirectResponse(f"{base}/{ident}?saved=1", status_code=303)
        response.background = tasks
        return response

    @router.post(f"{base}/{{ident:int}}/delete", name=f"{kind.path}_delete")
    def delete(request: Request, ident: int, form: AdminForm) -> Response:
        try:
            with catalog_of(request).session(form.user.workspace_id) as session:
                kind.delete(ident, session)
        except SynclineError as exc:
            return render(
                request, "message.html", form.user, status_code=409,
                heading=f"The {kind.singular} was not deleted", message=str(exc),
            )  # fmt: skip
        return RedirectResponse(base, status_code=303)

    @router.post(f"{base}/test", response_class=HTMLResponse, name=f"{kind.path}_test")
    def test(request: Request, form: AdminForm) -> Response:
        """Try the settings in the form (stored secrets fill blank ones when editing).

        A stored secret fills a blank only while the form keeps the stored target: with
        another host, port, login ... the test answers which secrets to give again.
        """
        type_name, ident = form.text("type"), form.text("id")
        if not ident:
            configuration = configuration_from_form(
                _fields(kind, type_name), form, for_update=False
            )
            return _test_result(request, form.user, kind, type_name, configuration)

        try:
            with catalog_of(request).session(form.user.workspace_id, read_only=True) as session:
                repository = kind.repository(session)
                record = repository.get(whole_number(ident) or -1)
                type_name, stored = record.type, repository.plain_configuration(record)
        except NotFoundError:
            message = f"There is no {kind.singular} {ident!r} in this workspace to test."
            return render(request, "_test_result.html", form.user, ok=False, message=message)
        changes = configuration_from_form(_fields(kind, type_name), form, for_update=True)
        changes, masked = with_stored_urls(kind.lookup, type_name, stored, changes)
        again = masked + secrets_to_give_again(kind.lookup, type_name, stored, changes)
        if again:
            message = "; ".join(f"{p.location}: {p.message}" for p in again)
            return render(request, "_test_result.html", form.user, ok=False, message=message)
        return _test_result(request, form.user, kind, type_name, merged(stored, changes))


def _secret_fixes(
    catalog: Catalog, workspace_id: int, kind: Kind, record: Any, changes: dict[str, Any]
) -> dict[str, str]:
    """The API's fix for each secret to give again (``send ... or null``), as the form says it.

    A blank secret input keeps the stored secret, so the form cannot send null: the way
    here is to type the secret again.
    """
    with catalog.session(workspace_id, read_only=True) as session:
        stored = kind.repository(session).plain_configuration(record)
    changes, _ = with_stored_urls(kind.lookup, record.type, stored, changes)
    again = secrets_to_give_again(kind.lookup, record.type, stored, changes)
    key_of = {p.fix: p.location.removeprefix("configuration.") for p in again if p.fix}
    return {
        fix: f"type the {key} again in its field; a blank {key} keeps the stored one, which "
        "is not sent to a new target"
        for fix, key in key_of.items()
    }


def _test_result(
    request: Request, user: WebUser, kind: Kind, type_name: str, configuration: dict[str, Any]
) -> Response:
    files = file_policy(request.app.state.settings, user.workspace)
    outcome = try_connection(kind.lookup, kind.singular, type_name, configuration, files)
    message = "Connection OK." if outcome.success else outcome.message
    return render(request, "_test_result.html", user, ok=outcome.success, message=message)


def _shown(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value


_register(SOURCES)
_register(DESTINATIONS)
