"""Sync sequences: list, create, edit and run syncs one after another.

Saving and running go through the API's sequence route functions, so the steps and
the schedule are checked exactly as ``POST /api/v1/sync-sequences`` checks them.
"""

from __future__ import annotations

from typing import Any

import pydantic
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncline.api.routes import sequences as sequence_routes
from syncline.api.sequence_schemas import (
    SequenceStep,
    StopOn,
    SyncSequenceCreate,
    SyncSequenceUpdate,
)
from syncline.errors import NotFoundError, SynclineError
from syncline.numerals import whole_number
from syncline.web.describe import schedule_words
from syncline.web.forms import field_errors
from syncline.web.render import not_found, render
from syncline.web.schedule_form import (
    SCHEDULE_ALIASES,
    SCHEDULE_CHOICES,
    schedule_from,
    schedule_values,
    visual_slots_of,
)
from syncline.web.users import UI_TRIGGER, AdminForm, SubmittedForm, Viewer, WebUser, catalog_of

router = APIRouter()

BLANK_STEPS = 3
"""Empty step rows the form offers beyond the sequence's own."""

RUNS_SHOWN = 20
"""How many of a sequence's newest runs its page lists."""

_ALIASES = {"steps": "steps", "name": "name", "slug": "slug", **SCHEDULE_ALIASES}


def steps_from(form: SubmittedForm) -> list[SequenceStep]:
    """The steps the form lists, in order; rows with no sync chosen are skipped."""
    steps = []
    for sync, stop_on in zip(form.texts("step_sync"), form.texts("step_stop"), strict=False):
        sync_id = whole_number(sync.strip())
        if sync_id is not None:
            steps.append(SequenceStep(syncId=sync_id, stopOn=StopOn(stop_on or "fatal")))
    return steps


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
        syncs = [(s.id, s.slug) for s in session.syncs.list()]
    return render(
        request, "sequence_form.html", user, status_code=status_code, record=record,
        values=values, errors=errors or {}, syncs=syncs, stop_rules=[s.value for s in StopOn],
        blank_rows=BLANK_STEPS, **SCHEDULE_CHOICES,
    )  # fmt: skip


def _values(form: SubmittedForm) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in form.data.items() if isinstance(v, str)}
    values["steps"] = list(zip(form.texts("step_sync"), form.texts("step_stop"), strict=False))
    values["visual_slots"] = visual_slots_of(form)
    return values


@router.get("/sequences", response_class=HTMLResponse)
def listing(request: Request, user: Viewer) -> Response:
    """Every sequence of the workspace with its schedule and latest run."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        rows = []
        for record in session.sequences.list():
            runs = session.sequences.list_runs(record.id, newest_first=True, limit=1)
            steps = len(session.sequences.steps(record))
            rows.append((record, steps, schedule_words(record.schedule), runs[0] if runs else None))
        has_syncs = bool(session.syncs.list(limit=1))
    return render(request, "sequences.html", user, rows=rows, has_syncs=has_syncs)


@router.get("/sequences/new", response_class=HTMLResponse)
def new(request: Request, user: Viewer) -> Response:
    """An empty sequence form."""
    return _form_page(request, user, values={"schedule_type": "manual", "steps": []})


@router.post("/sequences/new")
def create(request: Request, form: AdminForm) -> Response:
    """Create the sequence through the API's route."""
    try:
        body = SyncSequenceCreate(
            slug=form.text("slug"),
            name=form.text("name") or None,
            steps=steps_from(form),
            schedule=schedule_from(form),
            disabled=form.text("disabled") == "on",
        )
        with catalog_of(request).session(form.user.workspace_id) as session:
            made = sequence_routes.create_sequence(body, session)
    except (SynclineError, pydantic.ValidationError) as exc:
        return _form_page(
            request, form.user, values=_values(form),
            errors=field_errors(exc, _ALIASES), status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"/sequences/{made['id']}", status_code=303)


@router.get("/sequences/{ident}", response_class=HTMLResponse)
def sequence_page(request: Request, ident: str, user: Viewer, older: int = 0) -> Response:
    """A sequence's steps, schedule and runs, with buttons to run and edit it.

    The runs show :data:`RUNS_SHOWN` at a time, newest first; ``older`` skips that many
    of the newest, so the whole history stays reachable.
    """
    older = max(older, 0)
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        try:
            record = session.sequences.get(ident)
        except NotFoundError as exc:
            return not_found(request, user, str(exc))
        syncs = {s.id: s.slug for s in session.syncs.list()}
        steps = [(s.sync_id, syncs.get(s.sync_id, "?"), s.stop_on)
                 for s in session.sequences.steps(record)]  # fmt: skip
        found = session.sequences.list_runs(
            record.id, newest_first=True, offset=older, limit=RUNS_SHOWN + 1
        )
        runs = [(run, session.sequences.run_to_api(run)) for run in found[:RUNS_SHOWN]]
    return render(
        request, "sequence.html", user, record=record, steps=steps, runs=runs,
        schedule=schedule_words(record.schedule), older=older,
        has_older=len(found) > RUNS_SHOWN, page_size=RUNS_SHOWN,
    )  # fmt: skip


@router.get("/sequences/{ident}/edit", response_class=HTMLResponse)
def edit(request: Request, ident: str, user: Viewer) -> Response:
    """A sequence's form, filled in."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        record = session.sequences.get(ident)
        steps = [(str(s.sync_id), s.stop_on) for s in session.sequences.steps(record)]
    values = {
        "slug": record.slug,
        "name": record.name,
        "steps": steps,
        "disabled": "on" if record.disabled else "",
        **schedule_values(record.schedule),
    }
    return _form_page(request, user, record=record, values=values)


@router.post("/sequences/{ident}/edit")
def update(request: Request, ident: str, form: AdminForm) -> Response:
    """Change the sequence through the API's route."""
    with catalog_of(request).session(form.user.workspace_id, read_only=True) as session:
        record = session.sequences.get(ident)
    try:
        # A blank name keeps the current one: the API refuses a null it cannot store.
        name = {"name": form.text("name")} if form.text("name") else {}
        body = SyncSequenceUpdate(
            **name,
            steps=steps_from(form),
            schedule=schedule_from(form),
            disabled=form.text("disabled") == "on",
        )
        with catalog_of(request).session(form.user.workspace_id) as session:
            sequence_routes.update_sequence(ident, body, session)
    except (SynclineError, pydantic.ValidationError) as exc:
        return _form_page(
            request, form.user, record=record, values=_values(form),
            errors=field_errors(exc, _ALIASES), status_code=422,
        )  # fmt: skip
    return RedirectResponse(f"/sequences/{record.id}", status_code=303)


@router.post("/sequences/{ident}/run")
def run(request: Request, ident: str, form: AdminForm) -> Response:
    """Queue a run of the sequence (or join the one already pending)."""
    with catalog_of(request).session(form.user.workspace_id) as session:
        session.sequences.trigger(ident, triggered_by=UI_TRIGGER)
    return RedirectResponse(f"/sequences/{ident}", status_code=303)


@router.post("/sequences/{ident}/delete")
def delete(request: Request, ident: str, form: AdminForm) -> Response:
    """Delete a sequence that is not running, with its run history."""
    try:
        with catalog_of(request).session(form.user.workspace_id) as session:
            sequence_routes.delete_sequence(ident, session)
    except SynclineError as exc:
        return render(
            request, "message.html", form.user, status_code=409,
            heading="The sequence was not deleted", message=str(exc),
        )  # fmt: skip
    return RedirectResponse("/sequences", status_code=303)


@router.post("/sequences/{ident}/runs/{run_id}/cancel")
def cancel(request: Request, ident: str, run_id: str, form: AdminForm) -> Response:
    """Cancel a pending sequence run now, or a running one at its current step."""
    with catalog_of(request).session(form.user.workspace_id) as session:
        session.sequences.get(ident)  # the sequence must be in the user's workspace
        sequence_routes.cancel_sequence_run(run_id, session)
    return RedirectResponse(f"/sequences/{ident}", status_code=303)
