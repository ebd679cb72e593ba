"""The overview: every sync with its model, destination, schedule, status and runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from syncline.catalog import CatalogSession, RunRecord, SyncRecord
from syncline.scheduling.state import next_run_at
from syncline.web.describe import schedule_words
from syncline.web.render import render
from syncline.web.users import Viewer, catalog_of

router = APIRouter()


@dataclass(frozen=True)
class SyncRow:
    """One line of the overview."""

    sync: SyncRecord
    model: str
    destination: str
    destination_id: int
    schedule: str
    status: str
    last_run: RunRecord | None
    next_run: datetime | None

    def matches(self, text: str) -> bool:
        """Whether the search text appears in the sync's slug, model or destination."""
        text = text.lower()
        return any(text in v.lower() for v in (self.sync.slug, self.model, self.destination))


def overview_rows(session: CatalogSession) -> list[SyncRow]:
    """Every sync of the workspace, with what the overview shows of it."""
    syncs = session.syncs.list()
    models = {m.id: m.name for m in session.models.list()}
    destinations = {d.id: d.name for d in session.destinations.list()}
    last = session.syncs.latest_runs([s.id for s in syncs])
    return [
        SyncRow(
            sync=sync,
            model=models.get(sync.model_id, "?"),
            destination=destinations.get(sync.destination_id, "?"),
            destination_id=sync.destination_id,
            schedule=schedule_words(sync.schedule),
            status=session.syncs.status(sync),
            last_run=last.get(sync.id),
            next_run=next_run_at(session.orm, sync),
        )
        for sync in syncs
    ]


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request, user: Viewer, status: str = "", destination: str = "", q: str = ""
) -> HTMLResponse:
    """The syncs of the workspace, filtered by status, destination and a search text."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        rows = overview_rows(session)
        destinations = [(d.id, d.name) for d in session.destinations.list()]
        has_models = bool(session.models.list(limit=1))

    statuses = sorted({row.status for row in rows})
    shown = [
        row
        for row in rows
        if (not status or row.status == status)
        and (not destination or str(row.destination_id) == destination)
        and (not q.strip() or row.matches(q.strip()))
    ]
    return render(
        request, "overview.html", user,
        rows=shown, total=len(rows), statuses=statuses, destinations=destinations,
        status=status, destination=destination, q=q, has_models=has_models,
    )  # fmt: skip
