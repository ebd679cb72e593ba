"""``/sync-sequences``: trigger a sequence and read a run's status, plus definitions and history.

The trigger and the run status are Hightouch's operations (API.md 3.6). Listing,
creating, changing and deleting sequences, listing their runs and cancelling a run
are Syncline's additions (API.md 9.3). Sequence and run ids are UUID strings; a
sequence may also be named by its slug.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from syncline.api.deps import ReadSession, WriteSession
from syncline.api.errors import COMMON_RESPONSES, CONFLICT, NOT_FOUND
from syncline.api.listing import PagingDep
from syncline.api.routes.runs import TriggerBody
from syncline.api.run_schemas import RunOrderBy, TriggerRunInput
from syncline.api.schemas import OrderBy, Page, TextFilter
from syncline.api.sequence_schemas import (
    SequenceRef,
    SequenceRunId,
    SequenceStep,
    SyncSequence,
    SyncSequenceCreate,
    SyncSequenceRun,
    SyncSequenceStatusOutput,
    SyncSequenceUpdate,
    TriggerSequenceRunOutput,
)
from syncline.catalog import UNSET, CatalogSession
from syncline.catalog.repository import UnsetType, raise_problems
from syncline.catalog.shapes import timestamp
from syncline.catalog.tables import SequenceRunRecord
from syncline.errors import Problem
from syncline.project.schedule import check_schedule, found_at

RUN_FLAGS = frozenset(TriggerRunInput.model_fields)
"""The flags of a sync's trigger, which a sequence's trigger refuses by name."""

router = APIRouter(prefix="/sync-sequences", tags=["sync sequences"], responses=COMMON_RESPONSES)


@router.post(
    "/{syncSequenceId}/trigger",
    operation_id="TriggerSequenceRun",
    response_model=TriggerSequenceRunOutput,
    responses=NOT_FOUND,
)
def trigger_sequence(syncSequenceId: SequenceRef, body: TriggerBody, session: WriteSession) -> Any:
    """Queue a run of the sequence; while one is queued, every trigger returns its id.

    A sequence never runs concurrently with itself: a run triggered while another is
    running starts when that one ends. A disabled sequence is a 422, and so is a body
    with any flag: a sequence run takes none, and ignoring one (``fullResync``) would
    run the steps otherwise than the caller asked.
    """
    raise_problems([_flag_problem(key, value) for key, value in body.items()])
    run = session.sequences.trigger(syncSequenceId, triggered_by="api")
    return {"id": run.id}


@router.get(
    "/runs/{syncSequenceRunId}",
    operation_id="GetSyncSequenceRun",
    response_model=SyncSequenceStatusOutput,
    responses=NOT_FOUND,
)
def get_sequence_run(syncSequenceRunId: SequenceRunId, session: ReadSession) -> Any:
    """The status of a sequence run and of the sync runs its steps started so far."""
    return session.sequences.run_to_api(session.sequences.get_run(syncSequenceRunId))


@router.post(
    "/runs/{syncSequenceRunId}/cancel",
    operation_id="CancelSyncSequenceRun",
    response_model=SyncSequenceStatusOutput,
    responses=NOT_FOUND,
)
def cancel_sequence_run(syncSequenceRunId: SequenceRunId, session: WriteSession) -> Any:
    """Cancel a pending run at once; a running one stops, with its current sync run, shortly."""
    return session.sequences.run_to_api(session.sequences.cancel(syncSequenceRunId))


@router.get("", operation_id="ListSyncSequences", response_model=Page[SyncSequence])
def list_sequences(
    session: ReadSession,
    paging: PagingDep,
    name: TextFilter = None,
    slug: TextFilter = None,
    orderBy: OrderBy = OrderBy.createdAt,
) -> Any:
    """List the sequences of the key's workspace, ascending by ``orderBy``."""
    records = session.sequences.list(
        name=name, slug=slug, order_by=orderBy, offset=paging.offset, limit=paging.fetch
    )
    return paging.page(records, session.sequences.to_api)


@router.post("", operation_id="CreateSyncSequence", response_model=SyncSequence, responses=CONFLICT)
def create_sequence(body: SyncSequenceCreate, session: WriteSession) -> Any:
    """Create a sequence of syncs of this workspace, run in the order of ``steps``."""
    schedule, problems = _schedule(body.schedule)
    if body.name is not None and not body.name.strip():
        fix = "leave it out to use the slug"
        problems.append(Problem("name", "the name is empty", fix=fix, value=body.name))
    raise_problems([*problems, *session.sequences.check_steps(_steps(body.steps))])
    record = session.sequences.create(
        slug=body.slug, name=body.name, steps=_steps(body.steps), schedule=schedule,
        disabled=body.disabled,
    )  # fmt: skip
    return session.sequences.to_api(record)


@router.get(
    "/{syncSequenceId}",
    operation_id="GetSyncSequence",
    response_model=SyncSequence,
    responses=NOT_FOUND,
)
def get_sequence(syncSequenceId: SequenceRef, session: ReadSession) -> Any:
    """Read one sequence and its steps."""
    return session.sequences.to_api(session.sequences.get(syncSequenceId))


@router.patch(
    "/{syncSequenceId}",
    operation_id="UpdateSyncSequence",
    response_model=SyncSequence,
    responses={**NOT_FOUND, **CONFLICT},
)
def update_sequence(
    syncSequenceId: SequenceRef, body: SyncSequenceUpdate, session: WriteSession
) -> Any:
    """Change a sequence; changing its steps is a 409 while one of its runs is in progress."""
    if body.name is not None and not body.name.strip():
        raise_problems([Problem("name", "the name is empty", value=body.name)])
    schedule: dict[str, Any] | None | UnsetType = UNSET
    problems: list[Problem] = []
    if "schedule" in body.model_fields_set:
        schedule, problems = _schedule(body.schedule)
    if body.steps is not None:
        problems += session.sequences.check_steps(_steps(body.steps))
    raise_problems(problems)
    record = session.sequences.update(
        syncSequenceId, name=body.name,
        steps=_steps(body.steps) if body.steps is not None else None,
        schedule=schedule, disabled=body.disabled,
    )  # fmt: skip
    return session.sequences.to_api(record)


@router.delete(
    "/{syncSequenceId}",
    operation_id="DeleteSyncSequence",
    response_model=SyncSequence,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_sequence(syncSequenceId: SequenceRef, session: WriteSession) -> Any:
    """Delete a sequence and its run history (409 while it runs); returns what it was."""
    shape = session.sequences.to_api(session.sequences.get(syncSequenceId))
    session.sequences.delete(syncSequenceId)
    return shape


@router.get(
    "/{syncSequenceId}/runs",
    operation_id="ListSyncSequenceRuns",
    response_model=Page[SyncSequenceRun],
    responses=NOT_FOUND,
)
def list_sequence_runs(
    syncSequenceId: SequenceRef,
    session: ReadSession,
    paging: PagingDep,
    orderBy: RunOrderBy = RunOrderBy.createdAt,
) -> Any:
    """The runs of a sequence, ascending by ``orderBy``; runs not started yet come last."""
    runs = session.sequences.list_runs(
        syncSequenceId, order_by=orderBy.value, offset=paging.offset, limit=paging.fetch
    )
    return paging.page(runs, lambda run: _run(session, run))


def _run(session: CatalogSession, run: SequenceRunRecord) -> dict[str, Any]:
    return {
        **session.sequences.run_to_api(run),
        "createdAt": timestamp(run.created_at),
        "startedAt": timestamp(run.started_at),
        "finishedAt": timestamp(run.finished_at),
        "triggeredBy": run.triggered_by,
        "error": run.error,
    }


def _flag_problem(key: str, value: object) -> Problem:
    if key in RUN_FLAGS:
        return Problem(
            f"body.{key}",
            f"a sync sequence run takes no flags; {key} applies to the run of one sync",
            fix="trigger that sync with POST /syncs/{id}/trigger, or send no body",
            value=value,
        )
    return Problem(f"body.{key}", f"unknown key {key!r}", fix="send no body", value=value)


def _steps(steps: list[SequenceStep]) -> list[dict[str, Any]]:
    return [{"sync": step.syncId, "stopOn": str(step.stopOn)} for step in steps]


def _schedule(raw: dict[str, Any] | None) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The schedule normalised as for syncs, and its problems keyed ``schedule.<where>``."""
    schedule, found = check_schedule(raw)
    problems = [
        Problem(
            ".".join(["schedule", *(str(part) for part in where)]),
            message,
            fix,
            value=found_at(raw, where),
        )
        for where, message, fix in found
    ]
    return schedule, problems
