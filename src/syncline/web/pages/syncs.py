"""A sync's page: what it does in plain words, its runs as a table and a chart, and actions.

The actions go through the API's own route functions (trigger, update), so a run
queued here is exactly the run ``POST /api/v1/syncs/{id}/trigger`` queues.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncline.api.routes.runs import DISABLED_FIX, queue_run
from syncline.api.routes.syncs import delete_sync
from syncline.catalog import RunRecord
from syncline.connectors import registry
from syncline.errors import NotFoundError, SynclineError
from syncline.scheduling.state import next_run_at
from syncline.web.describe import mapping_words, mode_words, removed_words, schedule_words
from syncline.web.forms import in_form_words
from syncline.web.render import not_found, render
from syncline.web.users import UI_TRIGGER, AdminForm, Viewer, WebUser, catalog_of

router = APIRouter()

HISTORY = 50
"""How many of the newest runs the page lists and charts."""

_TRIGGERS = {
    "run": {},
    "full-resync": {"fullResync": True},
    "reset-cdc": {"resetCDC": True},
    "clear-and-fill": {"clearAndFill": True},
    "dry-run": {"dryRun": True},
}

_FIXES = {DISABLED_FIX: "press Enable on this sync's page, then run it again"}
"""The API's fixes as this page gives them."""


@dataclass(frozen=True)
class ChartBar:
    """One run in the chart: where its bars stand and how tall they are."""

    x: float
    rows_height: float
    rejected_height: float
    label: str


def chart(runs: list[RunRecord], width: float = 600, height: float = 160) -> list[ChartBar]:
    """Bars of rows sent and rows rejected per run, oldest first, scaled to the tallest."""
    ordered = list(reversed(runs))
    sent = [r.successful_added + r.successful_changed + r.successful_removed for r in ordered]
    rejected = [r.failed_added + r.failed_changed + r.failed_removed for r in ordered]
    tallest = max([*sent, *rejected, 1])
    step = width / max(len(ordered), 1)
    return [
        ChartBar(
            x=i * step,
            rows_height=height * s / tallest,
            rejected_height=height * f / tallest,
            label=f"run {run.id}: {s} rows sent, {f} rejected",
        )
        for i, (run, s, f) in enumerate(zip(ordered, sent, rejected, strict=True))
    ]


@router.get("/syncs/{sync_id:int}", response_class=HTMLResponse)
def sync_page(request: Request, sync_id: int, user: Viewer, older: int = 0) -> Response:
    """Configuration, mappings, schedule, run history and the buttons that act on a sync.

    The history shows :data:`HISTORY` runs, newest first; ``older`` skips that many of
    the newest, so every run stays reachable however long the sync has been running.
    """
    older = max(older, 0)
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        try:
            sync = session.syncs.get(sync_id)
        except NotFoundError:
            return _missing(request, user, sync_id)
        model = session.models.get(sync.model_id)
        destination = session.destinations.get(sync.destination_id)
        found = session.runs.list_runs(sync, newest_first=True, offset=older, limit=HISTORY + 1)
        runs, has_older = found[:HISTORY], len(found) > HISTORY
        status = session.syncs.status(sync)
        upcoming = next_run_at(session.orm, sync)
    clears = registry.destination_class(destination.type).capabilities.clears_objects

    configuration = sync.configuration
    guards = configuration.get("guards") or {}
    return render(
        request, "sync.html", user,
        sync=sync, model=model, destination=destination, runs=runs, status=status,
        next_run=upcoming, schedule=schedule_words(sync.schedule),
        mode=mode_words(configuration.get("mode")), removed=removed_words(configuration),
        mappings=[mapping_words(m) for m in configuration.get("mappings") or []],
        guards=guards, can_clear=clears, bars=chart(runs), older=older, has_older=has_older,
        page_size=HISTORY,
    )  # fmt: skip


@router.post("/syncs/{sync_id:int}/trigger/{kind}")
def trigger(request: Request, sync_id: int, kind: str, form: AdminForm) -> Response:
    """Queue a run (also a full resync, a reset of change tracking, a clear and fill or a dry
    run, as the API's trigger flags ask); then show the run."""
    body = _TRIGGERS.get(kind)
    if body is None:
        return RedirectResponse(f"/syncs/{sync_id}", status_code=303)
    if kind == "clear-and-fill" and form.text("confirm") != "on":
        message = "Tick the box to confirm that every row of the object is deleted first."
        return render(
            request, "message.html", form.user, status_code=422,
            heading="Nothing was run", message=message,
        )  # fmt: skip
    try:
        with catalog_of(request).session(form.user.workspace_id) as session:
            queued = queue_run(session, str(sync_id), dict(body), triggered_by=UI_TRIGGER)
    except SynclineError as exc:
        return render(
            request, "message.html", form.user, status_code=422,
            heading="Nothing was run", message=str(in_form_words(exc, _FIXES)),
        )  # fmt: skip
    return RedirectResponse(f"/syncs/{sync_id}/runs/{queued['id']}", status_code=303)


@router.post("/syncs/{sync_id:int}/enabled/{state}")
def switch(request: Request, sync_id: int, state: str, form: AdminForm) -> Response:
    """Enable (``on``) or disable (``off``) a sync's schedule."""
    with catalog_of(request).session(form.user.workspace_id) as session:
        session.syncs.update(sync_id, disabled=state != "on")
    return RedirectResponse(f"/syncs/{sync_id}", status_code=303)


@router.post("/syncs/{sync_id:int}/delete")
def delete(request: Request, sync_id: int, form: AdminForm) -> Response:
    """Delete a sync with no run in progress, its runs and its snapshot."""
    tasks = BackgroundTasks()
    try:
        with catalog_of(request).session(form.user.workspace_id) as session:
            delete_sync(sync_id, session, tasks, request.app.state.settings)
    except SynclineError as exc:
        return render(
            request, "message.html", form.user, status_code=409,
            heading="The sync was not deleted", message=str(exc),
        )  # fmt: skip
    response = RedirectResponse("/", status_code=303)
    response.background = tasks
    return response


def _missing(request: Request, user: WebUser, sync_id: int) -> Response:
    message = f"There is no sync {sync_id} in this workspace."
    return not_found(request, user, message)
