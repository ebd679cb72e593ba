"""A run's page: stage timeline, counts by operation, error and the rejected rows.

While the run is queued or running, its summary polls a fragment every second with
htmx and swaps only that part, so the page shows progress without reloading.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from syncline.api.routes.runs import cancel_sync_run
from syncline.catalog import RowResultRecord, RunRecord
from syncline.catalog import rows as row_results
from syncline.engine.report import RunStatus
from syncline.errors import NotFoundError, SynclineError
from syncline.numerals import whole_number
from syncline.settings import Settings
from syncline.web.render import not_found, render
from syncline.web.users import AdminForm, Viewer, catalog_of

router = APIRouter()

ROWS_SHOWN = 100
"""How many rejected rows one page of results shows."""

STAGES = ("queued", "querying", "processing", "reporting")
"""The stages a run goes through before it ends, in order."""

OPERATIONS = ("added", "changed", "removed")

MAX_OFFSET_DIGITS = 18
"""Longer offsets are no row number a run has, and would overflow the database's integer."""


def stage_states(status: str) -> list[tuple[str, str]]:
    """Each stage with ``done``, ``now`` or ``todo``, and the outcome as the last step."""
    terminal = RunStatus(status).terminal
    current = STAGES.index(status) if status in STAGES else len(STAGES)
    steps = [
        (stage, "done" if terminal or i < current else "now" if i == current else "todo")
        for i, stage in enumerate(STAGES)
    ]
    steps.append((status if terminal else "finished", "done" if terminal else "todo"))
    return steps


def counts(run: RunRecord) -> list[tuple[str, int, int, int]]:
    """Planned, successful and failed rows of each operation."""
    return [
        (
            op,
            getattr(run, f"planned_{op}"),
            getattr(run, f"successful_{op}"),
            getattr(run, f"failed_{op}"),
        )
        for op in OPERATIONS
    ]


def rejected_rows(
    request: Request, workspace_id: int, run_id: int, key: str, op: str = "", offset: int = 0
) -> tuple[list[RowResultRecord], bool]:
    """One page of the run's rejected rows whose primary key contains ``key`` (all when
    empty), only of operation ``op`` when it names one; and whether more rows follow.

    The same rows ``GET /api/v1/syncs/{id}/runs/{runId}/rows?status=failed&op=`` pages
    through.
    """
    with catalog_of(request).session(workspace_id, read_only=True) as session:
        session.runs.get(run_id)  # the run must be in the user's workspace
        query = (
            select(RowResultRecord)
            .where(RowResultRecord.run_id == run_id, RowResultRecord.status == "failed")
            .order_by(RowResultRecord.id)
            .offset(max(offset, 0))
            .limit(ROWS_SHOWN + 1)
        )
        if key:
            escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(RowResultRecord.primary_key.like(f"%{escaped}%", escape="\\"))
        if op in OPERATIONS:
            query = query.where(RowResultRecord.operation == op)
        found = list(session.orm.scalars(query))
    return found[:ROWS_SHOWN], len(found) > ROWS_SHOWN


def pruned_after(request: Request, run: RunRecord) -> int | None:
    """The retention in days when it may have pruned the run's rejected rows, else None."""
    settings: Settings = request.app.state.settings
    if row_results.pruned(run, settings.row_results_retention):
        return settings.row_results_retention_days
    return None


def _run_context(request: Request, user: Viewer, sync_id: int, run_id: int) -> dict[str, Any]:
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        sync = session.syncs.get(sync_id)
        run = session.runs.get(run_id, sync=sync)
    status = RunStatus(run.status)
    return {
        "sync": sync,
        "run": run,
        "live": not status.terminal,
        "stages": stage_states(run.status),
        "counts": counts(run),
        "rejected": sum(getattr(run, f"failed_{op}") for op in OPERATIONS),
        "pruned_after": pruned_after(request, run),
    }


@router.get("/syncs/{sync_id:int}/runs/{run_id:int}", response_class=HTMLResponse)
def run_page(
    request: Request, sync_id: int, run_id: int, user: Viewer, key: str = "", op: str = ""
) -> Response:
    """The whole run page."""
    try:
        context = _run_context(request, user, sync_id, run_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    op = op if op in OPERATIONS else ""
    rows, more = rejected_rows(request, user.workspace_id, run_id, key.strip(), op)
    return render(
        request, "run.html", user, rows=rows, more=more, key=key, op=op, offset=0, oob=False,
        **context,
    )  # fmt: skip


@router.get("/syncs/{sync_id:int}/runs/{run_id:int}/live", response_class=HTMLResponse)
def run_live(request: Request, sync_id: int, run_id: int, user: Viewer) -> Response:
    """The run's summary alone, which the page polls while the run is not finished."""
    context = _run_context(request, user, sync_id, run_id)
    rows, more = None, False
    if not context["live"]:
        # The run just ended: its rejected rows replace the "still running" note
        # out of band, in the same response.
        rows, more = rejected_rows(request, user.workspace_id, run_id, "")
    return render(
        request, "_run_summary.html", user, rows=rows, more=more, key="", op="", offset=0,
        oob=True, **context,
    )  # fmt: skip


@router.get("/syncs/{sync_id:int}/runs/{run_id:int}/rows", response_class=HTMLResponse)
def run_rows(
    request: Request,
    sync_id: int,
    run_id: int,
    user: Viewer,
    key: str = "",
    op: str = "",
    offset: str = "0",
) -> Response:
    """One page of the rejected rows table alone, for the search box, filter and pager.

    A bad ``offset`` or an unknown run answers the UI's message page, not the API's JSON.
    """
    start = whole_number(offset.strip())
    if start is None or len(offset.strip()) > MAX_OFFSET_DIGITS:
        message = f"The offset {offset!r} is not a row number; give 0 or more."
        return render(
            request, "message.html", user, status_code=422,
            heading="Not a page of rejected rows", message=message,
        )  # fmt: skip
    try:
        with catalog_of(request).session(user.workspace_id, read_only=True) as session:
            run = session.runs.get(run_id, sync=sync_id)
    except NotFoundError as exc:
        return not_found(request, user, str(exc))
    op = op if op in OPERATIONS else ""
    rows, more = rejected_rows(request, user.workspace_id, run_id, key.strip(), op, start)
    return render(
        request, "_rejected_rows.html", user, rows=rows, more=more, key=key, op=op,
        offset=start, run_id=run_id, sync_id=sync_id, pruned_after=pruned_after(request, run),
    )  # fmt: skip


@router.post("/syncs/{sync_id:int}/runs/{run_id:int}/cancel")
def cancel(request: Request, sync_id: int, run_id: int, form: AdminForm) -> Response:
    """Cancel a queued run now, or ask the worker of a running one to stop."""
    try:
        with catalog_of(request).session(form.user.workspace_id) as session:
            cancel_sync_run(float(sync_id), float(run_id), session)
    except SynclineError as exc:
        return render(
            request, "message.html", form.user, status_code=409,
            heading="The run was not cancelled", message=str(exc),
        )  # fmt: skip
    return RedirectResponse(f"/syncs/{sync_id}/runs/{run_id}", status_code=303)
