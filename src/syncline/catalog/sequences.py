"""Sync sequences: ordered syncs run one after another, and the runs of those sequences.

A sequence never runs concurrently with itself. It has at most one ``running`` run and
at most one ``pending`` run waiting behind it; two partial unique indexes make the
database refuse anything else, and a second trigger returns the pending run already
there (API.md 3.6). Moving runs forward is :mod:`syncline.scheduling.sequences`' job;
this module only stores definitions and runs and shows them in the API's shapes.
"""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from syncline.catalog.commit_log import info_on_commit
from syncline.catalog.errors import ConflictError, SlugTakenError
from syncline.catalog.repository import UNSET, UnsetType, check_slug, raise_problems
from syncline.catalog.shapes import timestamp
from syncline.catalog.tables import (
    RunRecord,
    SequenceRecord,
    SequenceRunRecord,
    SequenceRunStepRecord,
    SequenceStepRecord,
    SyncRecord,
)
from syncline.catalog.types import utcnow
from syncline.errors import ConfigError, NotFoundError, Problem, RunError, ValidationError
from syncline.numerals import whole_number

logger = logging.getLogger(__name__)

_TRIGGER_ATTEMPTS = 5
ROUTE_SLUGS = frozenset({"runs"})
"""Slugs a sequence cannot have: ``/sync-sequences/runs/...`` addresses sequence runs."""


def route_slug_problem(slug: str) -> tuple[str, str]:
    """The message and fix for a sequence slug that :data:`ROUTE_SLUGS` holds."""
    return (
        f"a sequence cannot be named {slug!r}: the API's path /sync-sequences/{slug}/ "
        "addresses sequence runs",
        f"choose another slug, such as {slug}-sequence",
    )


_SORTABLE = {"id": "id", "slug": "slug", "name": "name", "createdAt": "created_at"}
_SORTABLE |= {"updatedAt": "updated_at", "created_at": "created_at", "updated_at": "updated_at"}

_RUN_SORTABLE = {
    "id": SequenceRunRecord.id,
    "createdAt": SequenceRunRecord.created_at,
    "startedAt": SequenceRunRecord.started_at,
    "finishedAt": SequenceRunRecord.finished_at,
}
"""The orders of a sequence's runs, by their API names (those of a sync's runs)."""


class SequenceStatus(StrEnum):
    """Status of one sequence run, in the API's spelling (SyncSequenceRequestStatus)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """True once the sequence run can no longer change."""
        return self not in (SequenceStatus.PENDING, SequenceStatus.RUNNING)


class StopOn(StrEnum):
    """What outcome of a step's sync run ends the whole sequence."""

    FATAL = "fatal"
    """The run failed (or was cancelled or interrupted)."""
    FATAL_OR_REJECTED = "fatal_or_rejected"
    """As ``fatal``, and also a run that ended in ``warning`` because rows were rejected."""
    NEVER = "never"
    """Nothing: the sequence goes on whatever the step's run did."""


class SequenceRepository:
    """The sequences of one workspace, their steps and their runs."""

    kind = "sync sequence"

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    # -- definitions ------------------------------------------------------------------

    def create(
        self,
        *,
        slug: str,
        steps: Sequence[Mapping[str, Any]],
        name: str | None = None,
        schedule: dict[str, Any] | None = None,
        disabled: bool = False,
    ) -> SequenceRecord:
        """Store a new sequence; ``steps`` are ``{"sync": id or slug, "stopOn": ...}``.

        The schedule is stored as given: validating it is the caller's job, as for syncs.

        Raises:
            ValidationError: a bad slug, no steps, an unknown sync or stop rule.
            SlugTakenError: another sequence of the workspace has this slug.
        """
        problems: list[Problem] = []
        check_slug(slug, problems)
        if slug in ROUTE_SLUGS:
            problems.append(Problem("slug", *route_slug_problem(slug), value=slug))
        resolved = self._resolve_steps(steps, problems)
        raise_problems(problems)

        if self.session.scalar(self._select().where(SequenceRecord.slug == slug)) is not None:
            raise SlugTakenError(self.kind, slug)
        record = SequenceRecord(
            id=str(uuid.uuid4()),
            workspace_id=self.workspace_id,
            slug=slug,
            name=name or slug,
            schedule=schedule,
            disabled=disabled,
        )
        try:
            with self.session.begin_nested():
                self.session.add(record)
        except IntegrityError:
            # Another session took the slug between our check and our insert.
            raise SlugTakenError(self.kind, slug) from None
        self._store_steps(record, resolved)
        info_on_commit(
            self.session,
            logger,
            "created sync sequence %s (%s) with %d steps",
            slug,
            record.id,
            len(resolved),
        )
        return record

    def update(
        self,
        ident: str,
        *,
        name: str | None = None,
        steps: Sequence[Mapping[str, Any]] | None = None,
        schedule: dict[str, Any] | None | UnsetType = UNSET,
        disabled: bool | None = None,
    ) -> SequenceRecord:
        """Change the given fields; ``schedule=None`` makes the sequence Manual.

        The slug cannot change, as no other resource's can: a project file names the
        sequence by it. New steps apply to runs that start afterwards; changing them is
        refused while a run is in progress, since that run must follow the steps it
        started with and the catalog keeps only the current ones.

        Raises:
            ConflictError: the steps differ from the stored ones and a run is in progress.
        """
        record = self.get(ident)
        problems: list[Problem] = []
        resolved = self._resolve_steps(steps, problems) if steps is not None else None
        raise_problems(problems)
        if resolved == [(step.sync_id, step.stop_on) for step in self.steps(record)]:
            resolved = None  # the same steps again: nothing to replace
        if resolved is not None:
            self.refuse_while_running(record, "change its steps")

        if name is not None:
            record.name = name
        if not isinstance(schedule, UnsetType):
            record.schedule = schedule
        if disabled is not None:
            record.disabled = disabled
        if resolved is not None:
            for step in self.steps(record):
                self.session.delete(step)
            self.session.flush()
            self._store_steps(record, resolved)
        record.updated_at = utcnow()
        self.session.flush()
        return record

    def get(self, ident: str) -> SequenceRecord:
        """The sequence with this id (a UUID) or slug; NotFoundError names the others."""
        found = self.find(ident)
        if found is None:
            raise NotFoundError(self.kind, ident, hint=self._existing())
        return found

    def find(self, ident: str) -> SequenceRecord | None:
        """The sequence with this id or slug, or None."""
        if "\x00" in str(ident):
            return None  # no id or slug holds a NUL, and PostgreSQL refuses to compare one
        by_id = self.session.scalar(self._select().where(SequenceRecord.id == str(ident)))
        if by_id is not None:
            return by_id
        return self.session.scalar(self._select().where(SequenceRecord.slug == str(ident)))

    def list(
        self,
        *,
        slug: str | None = None,
        name: str | None = None,
        order_by: str = "createdAt",
        offset: int = 0,
        limit: int | None = None,
    ) -> list[SequenceRecord]:
        """Sequences in ascending ``order_by`` order (id, slug, name, createdAt, updatedAt)."""
        column = _SORTABLE.get(order_by)
        if column is None:
            raise ValidationError(
                [
                    Problem(
                        "orderBy",
                        f"cannot sort sync sequences by {order_by!r}",
                        fix="use id, name, slug, createdAt or updatedAt",
                        value=order_by,
                    )
                ]
            )
        query = self._select()
        if slug is not None:
            query = query.where(SequenceRecord.slug == slug)
        if name is not None:
            query = query.where(SequenceRecord.name == name)
        query = query.order_by(getattr(SequenceRecord, column), SequenceRecord.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def steps(self, sequence: SequenceRecord | str) -> builtins.list[SequenceStepRecord]:
        """The steps of a sequence, in order."""
        sequence_id = sequence.id if isinstance(sequence, SequenceRecord) else sequence
        query = select(SequenceStepRecord).where(SequenceStepRecord.sequence_id == sequence_id)
        return list(self.session.scalars(query.order_by(SequenceStepRecord.position)))

    def delete(self, ident: str) -> None:
        """Delete the sequence and its history; refused while one of its runs is running."""
        record = self.get(ident)
        self.refuse_while_running(record, "delete the sequence")
        self.session.delete(record)
        self.session.flush()

    # -- runs -------------------------------------------------------------------------

    def trigger(self, ident: str, *, triggered_by: str = "manual") -> SequenceRunRecord:
        """Queue a run of the sequence, or return the pending run already queued for it.

        A sequence never runs concurrently with itself: a run started while another is
        running waits as ``pending`` until that one ends.

        Raises:
            ConfigError: the sequence is disabled.
        """
        record = self.get(ident)
        if record.disabled:
            raise ConfigError(
                f"sync sequence {record.slug!r} is disabled; set disabled to false, then "
                "trigger it again"
            )
        for _ in range(_TRIGGER_ATTEMPTS):
            pending = self._active(record.id, SequenceStatus.PENDING, lock=True)
            if pending is not None:
                return pending
            run = SequenceRunRecord(
                id=str(uuid.uuid4()),
                sequence_id=record.id,
                status=SequenceStatus.PENDING.value,
                triggered_by=triggered_by,
                created_at=utcnow(),
            )
            try:
                with self.session.begin_nested():
                    self.session.add(run)
            except IntegrityError:
                # Another session queued a run first; loop to take that one.
                continue
            logger.info("queued run %s of sync sequence %s (%s)", run.id, record.slug, triggered_by)
            return run
        raise RunError(
            f"could not queue a run of sync sequence {record.slug!r}: the queue kept changing; "
            "try again"
        )

    def get_run(self, run_id: str) -> SequenceRunRecord:
        """The sequence run with this id in this workspace."""
        if "\x00" in str(run_id):
            raise NotFoundError("sync sequence run", run_id)
        query = (
            select(SequenceRunRecord)
            .join(SequenceRecord, SequenceRecord.id == SequenceRunRecord.sequence_id)
            .where(
                SequenceRunRecord.id == str(run_id),
                SequenceRecord.workspace_id == self.workspace_id,
            )
        )
        run = self.session.scalar(query)
        if run is None:
            raise NotFoundError("sync sequence run", run_id)
        return run

    def list_runs(
        self,
        ident: str,
        *,
        order_by: str = "createdAt",
        newest_first: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> builtins.list[SequenceRunRecord]:
        """Runs of the sequence, ascending by ``order_by`` (newest first with ``newest_first``).

        ``order_by`` is ``id``, ``createdAt``, ``startedAt`` or ``finishedAt``, as for a
        sync's runs; runs whose time is not known yet come last, and ties go by id.

        Raises:
            ValidationError: ``order_by`` is none of those.
        """
        column = _RUN_SORTABLE.get(order_by)
        if column is None:
            raise ValidationError(
                [
                    Problem(
                        "orderBy",
                        f"cannot sort sync sequence runs by {order_by!r}",
                        fix=f"use one of {', '.join(_RUN_SORTABLE)}",
                        value=order_by,
                    )
                ]
            )
        record = self.get(ident)
        query = select(SequenceRunRecord).where(SequenceRunRecord.sequence_id == record.id)
        if newest_first:
            query = query.order_by(SequenceRunRecord.created_at.desc(), SequenceRunRecord.id)
        else:
            query = query.order_by(column.is_(None), column, SequenceRunRecord.id)
        query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return list(self.session.scalars(query))

    def cancel(self, run_id: str) -> SequenceRunRecord:
        """Cancel a pending run now, or ask the next advance to stop a running one.

        Stopping a running sequence also cancels the sync run of its current step.
        """
        run = self.get_run(run_id)
        if run.status == SequenceStatus.PENDING:
            run.status = SequenceStatus.CANCELLED.value
            run.finished_at = utcnow()
            run.error = "cancelled by a user before it started"
        elif run.status == SequenceStatus.RUNNING:
            run.cancel_requested = True
        self.session.flush()
        return run

    def run_steps(
        self, run: SequenceRunRecord
    ) -> builtins.list[tuple[SequenceRunStepRecord, RunRecord]]:
        """The sync runs a sequence run has started so far, in step order."""
        query = (
            select(SequenceRunStepRecord, RunRecord)
            .join(RunRecord, RunRecord.id == SequenceRunStepRecord.run_id)
            .where(SequenceRunStepRecord.sequence_run_id == run.id)
            .order_by(SequenceRunStepRecord.position)
        )
        return [(step, sync_run) for step, sync_run in self.session.execute(query)]

    # -- API shapes -------------------------------------------------------------------

    def to_api(self, record: SequenceRecord) -> dict[str, Any]:
        """A SyncSequence (API.md 9.3): the definition with its steps."""
        return {
            "id": record.id,
            "slug": record.slug,
            "name": record.name,
            "workspaceId": record.workspace_id,
            "steps": [
                {"syncId": step.sync_id, "stopOn": step.stop_on} for step in self.steps(record)
            ],
            "schedule": record.schedule,
            "disabled": record.disabled,
            "createdAt": timestamp(record.created_at),
            "updatedAt": timestamp(record.updated_at),
        }

    def run_to_api(self, run: SequenceRunRecord) -> dict[str, Any]:
        """A SyncSequenceStatusOutput (API.md 4.6): status and the sync runs so far."""
        return {
            "id": run.id,
            "status": run.status,
            "syncRuns": [
                {
                    "syncId": step.sync_id,
                    "syncRunId": sync_run.id,
                    "status": sync_run.status,
                    "finishedAt": _offset_timestamp(sync_run.finished_at),
                }
                for step, sync_run in self.run_steps(run)
            ],
        }

    # -- helpers ----------------------------------------------------------------------

    def _select(self) -> Select[SequenceRecord]:
        return select(SequenceRecord).where(SequenceRecord.workspace_id == self.workspace_id)

    def _active(
        self, sequence_id: str, status: SequenceStatus, *, lock: bool = False
    ) -> SequenceRunRecord | None:
        query = select(SequenceRunRecord).where(
            SequenceRunRecord.sequence_id == sequence_id,
            SequenceRunRecord.status == status.value,
        )
        return self.session.scalar(query.with_for_update() if lock else query)

    def refuse_while_running(self, record: SequenceRecord, action: str) -> None:
        """ConflictError naming the running run of ``record``, if it has one."""
        running = self._active(record.id, SequenceStatus.RUNNING)
        if running is not None:
            raise ConflictError(
                f"sync sequence {record.slug!r} has run {running.id} in progress; cancel it "
                f"or wait for it to finish, then {action}"
            )

    def check_steps(self, steps: Sequence[Mapping[str, Any]]) -> builtins.list[Problem]:
        """Every problem of ``steps`` (unknown syncs, stop rules), to report with others."""
        problems: builtins.list[Problem] = []
        self._resolve_steps(steps, problems)
        return problems

    def _resolve_steps(
        self, steps: Sequence[Mapping[str, Any]], problems: builtins.list[Problem]
    ) -> builtins.list[tuple[int, str]]:
        if not steps:
            problems.append(
                Problem("steps", "a sequence needs at least one step", "add {sync, stopOn}")
            )
            return []
        stop_rules = ", ".join(rule.value for rule in StopOn)
        resolved: builtins.list[tuple[int, str]] = []
        for index, step in enumerate(steps):
            ident = step.get("sync")
            sync = self._sync(ident)
            if sync is None:
                problems.append(
                    Problem(
                        f"steps.{index}.syncId",
                        f"sync {ident!r} does not exist in this workspace",
                        fix=self._existing_syncs(),
                        value=ident,
                    )
                )
            stop_on = step.get("stopOn", StopOn.FATAL.value)
            if stop_on not in tuple(StopOn):
                problems.append(
                    Problem(
                        f"steps.{index}.stopOn",
                        f"unknown stop rule {stop_on!r}",
                        fix=f"use one of {stop_rules}",
                        value=stop_on,
                    )
                )
            if sync is not None and stop_on in tuple(StopOn):
                resolved.append((sync.id, str(stop_on)))
        return resolved

    def _store_steps(
        self, record: SequenceRecord, resolved: builtins.list[tuple[int, str]]
    ) -> None:
        self.session.add_all(
            SequenceStepRecord(sequence_id=record.id, position=position, sync_id=sync_id,
                               stop_on=stop_on)
            for position, (sync_id, stop_on) in enumerate(resolved)
        )  # fmt: skip
        self.session.flush()

    def _sync(self, ident: object) -> SyncRecord | None:
        if isinstance(ident, SyncRecord):
            ident = ident.id
        query = select(SyncRecord).where(SyncRecord.workspace_id == self.workspace_id)
        if isinstance(ident, int) and not isinstance(ident, bool):
            return self.session.scalar(query.where(SyncRecord.id == ident))
        if isinstance(ident, str) and ident:
            found = self.session.scalar(query.where(SyncRecord.slug == ident))
            number = whole_number(ident)
            if found is None and number is not None:
                found = self.session.scalar(query.where(SyncRecord.id == number))
            return found
        return None

    def _existing_syncs(self) -> str:
        slugs = self.session.scalars(
            select(SyncRecord.slug)
            .where(SyncRecord.workspace_id == self.workspace_id)
            .order_by(SyncRecord.id)
            .limit(10)
        ).all()
        return f"use one of: {', '.join(slugs)}" if slugs else "create the sync first"

    def _existing(self) -> str:
        count = self.session.scalar(select(func.count()).select_from(self._select().subquery()))
        if not count:
            return "this workspace has no sync sequences yet"
        slugs = [record.slug for record in self.list(order_by="slug", limit=10)]
        return f"existing sync sequences: {', '.join(slugs)}{', ...' if count > 10 else ''}"


def _offset_timestamp(value: datetime | None) -> str | None:
    # The API's sequence status example writes finishedAt with "+00:00", not "Z".
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds")
