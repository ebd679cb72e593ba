"""Syncs: which model goes to which destination, how, and when; and the status they show."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, select

from syncline.catalog.commit_log import info_on_commit
from syncline.catalog.errors import ConflictError, InUseError
from syncline.catalog.repository import (
    UNSET,
    Repository,
    UnsetType,
    check_slug,
    raise_problems,
)
from syncline.catalog.runs import RunQueue
from syncline.catalog.tables import (
    RUNNING_STATUSES,
    DestinationRecord,
    ModelRecord,
    RunRecord,
    SequenceRecord,
    SequenceStepRecord,
    SyncRecord,
)
from syncline.engine.config import SyncConfiguration
from syncline.engine.mapping import referenced_columns
from syncline.errors import Problem

logger = logging.getLogger(__name__)

REAL_RUN = RunRecord.dry_run.is_(False)
"""Runs that may write, as opposed to dry runs: only they set a sync's status and lastRunAt."""

RAN_OR_WILL_RUN = ~and_(RunRecord.status == "cancelled", RunRecord.started_at.is_(None))
"""Runs other than those cancelled before they started: such a run never ran, so the
sync's latest run, whose status is the sync's, is the one before it."""


class SyncRepository(Repository[SyncRecord]):
    """The syncs of one workspace."""

    kind = "sync"
    plural = "syncs"
    record = SyncRecord

    def create(
        self,
        *,
        slug: str,
        model: ModelRecord | int | str,
        destination: DestinationRecord | int | str,
        configuration: dict[str, Any],
        schedule: dict[str, Any] | None = None,
        disabled: bool = False,
        primary_key: str | None = None,
        referenced_columns: list[str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> SyncRecord:
        """Store a new sync; the primary key defaults to the model's.

        The configuration and schedule are stored as given: validating them against the
        destination and the schedule rules is the caller's job.
        """
        problems: list[Problem] = []
        check_slug(slug, problems)
        model_record = self._lookup(ModelRecord, model, "modelId", problems)
        destination_record = self._lookup(DestinationRecord, destination, "destinationId", problems)
        key = primary_key or (model_record.primary_key if model_record else None)
        if model_record is not None and not key:
            problems.append(
                Problem(
                    "primaryKey",
                    f"model {model_record.slug!r} has no primary key",
                    fix="set the model's primary key column",
                )
            )
        raise_problems(problems)

        assert model_record is not None
        assert destination_record is not None
        assert key
        record = SyncRecord(
            workspace_id=self.workspace_id,
            slug=slug,
            model_id=model_record.id,
            destination_id=destination_record.id,
            configuration=dict(configuration),
            schedule=schedule,
            disabled=disabled,
            primary_key=key,
            referenced_columns=list(referenced_columns or []),
            tags=dict(tags or {}),
        )
        self._add(record)
        info_on_commit(self.session, logger, "created sync %s (id %s)", slug, record.id)
        return record

    def update(
        self,
        ident: int | str,
        *,
        configuration: dict[str, Any] | None = None,
        schedule: dict[str, Any] | None | UnsetType = UNSET,
        disabled: bool | None = None,
        primary_key: str | None = None,
        referenced_columns: list[str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> SyncRecord:
        """Change the given fields; ``schedule=None`` makes the sync Manual.

        Disabling cancels the sync's queued run, naming the disable, so nothing more is
        written once the sync is off; a run already going is left to finish (cancel it
        to stop it at its next batch).
        """
        record = self.get(ident)
        if configuration is not None:
            record.configuration = dict(configuration)
        if not isinstance(schedule, UnsetType):
            record.schedule = schedule
        if disabled is not None:
            record.disabled = disabled
        if primary_key is not None:
            record.primary_key = primary_key
        if referenced_columns is not None:
            record.referenced_columns = list(referenced_columns)
        if tags is not None:
            record.tags = dict(tags)
        self.session.flush()
        if disabled:
            RunQueue(self.session, self.workspace_id).cancel_queued(
                record,
                f"cancelled before it started: sync {record.slug!r} was disabled; enable it "
                "and trigger it again",
            )
        return record

    def refresh_columns(self, model: ModelRecord, columns: list[str] | None) -> None:
        """Derive the ``referencedColumns`` of the model's syncs again, as their runs will.

        ``columns`` are the model's new columns; when its query was not run they are not
        known, and a sync without mappings keeps the columns it had until its next run
        records what it read.
        """
        key = model.primary_key
        if not key:
            return
        for sync in self.session.scalars(select(SyncRecord).where(SyncRecord.model_id == model.id)):
            configuration = SyncConfiguration.parse(sync.configuration)
            known = columns if columns is not None else sync.referenced_columns
            sync.referenced_columns = referenced_columns(configuration, key, known)

    def status(self, record: SyncRecord) -> str:
        """The sync's API status (API.md 9.1), from its real runs only.

        A run a worker is executing wins; else a disabled sync with no queued run is
        ``disabled``; else the latest run's status; ``pending`` when there is none. A run
        cancelled before it started never ran, so it is not the latest run. Dry
        runs write nothing, so they leave the status (and ``lastRunAt``) as the real runs
        set it; they are listed among the runs as themselves.
        """
        running = self.running_run(record.id, real_only=True)
        if running is not None:
            return running.status

        latest = self.latest_runs([record.id]).get(record.id)
        if record.disabled and (latest is None or latest.status != "queued"):
            return "disabled"
        return latest.status if latest is not None else "pending"

    def latest_runs(self, sync_ids: list[int]) -> dict[int, RunRecord]:
        """The most recently created real (not dry) run of each of the syncs, by sync id;
        a run cancelled before it started is passed over, as it never ran."""
        if not sync_ids:
            return {}
        newest = (
            select(func.max(RunRecord.id))
            .where(RunRecord.sync_id.in_(sync_ids), REAL_RUN, RAN_OR_WILL_RUN)
            .group_by(RunRecord.sync_id)
        )
        runs = self.session.scalars(select(RunRecord).where(RunRecord.id.in_(newest)))
        return {run.sync_id: run for run in runs}

    def running_run(self, sync_id: int, *, real_only: bool = False) -> RunRecord | None:
        """The run a worker is executing for this sync, if any (a dry one too, unless
        ``real_only``)."""
        query = select(RunRecord).where(
            RunRecord.sync_id == sync_id, RunRecord.status.in_(RUNNING_STATUSES)
        )
        if real_only:
            query = query.where(REAL_RUN)
        return self.session.scalar(query)

    def refuse_restart_while_running(
        self, sync_ids: Iterable[int], change: str, *, lock: bool = True
    ) -> None:
        """Refuse ``change`` (e.g. "changing its object"), which drops the snapshots of
        ``sync_ids``, while one of them has a run in progress.

        A run plans and sends with the configuration it read as it started: its snapshot
        dropped under it, it would send every row to the old object, and the next run,
        finding them all delivered, would send none to the new one. The syncs' rows are
        locked first, so that no worker starts a run of them until this change commits;
        ``lock=False`` only checks, for a session that reads (``syncline plan``).

        Raises:
            ConflictError: naming the sync, its run in progress and what to do.
        """
        ids = sorted(set(sync_ids))
        if not ids:
            return
        if lock:
            self.session.execute(
                select(SyncRecord.id).where(SyncRecord.id.in_(ids)).with_for_update()
            ).all()
        for sync_id in ids:
            running = self.running_run(sync_id)
            if running is None:
                continue
            slug = self.session.get(SyncRecord, sync_id).slug  # type: ignore[union-attr]
            raise ConflictError(
                f"sync {slug!r} has run {running.id} in progress ({running.status}), which "
                f"sends with the configuration it started with, and {change} makes the sync "
                f"start over; cancel it or wait for it to finish, then make the change again "
                f"(POST /api/v1/syncs/{sync_id}/runs/{running.id}/cancel, or Cancel on the "
                "run's page, cancels it)"
            )

    def _check_unused(self, record: SyncRecord) -> None:
        sequences = list(
            self.session.scalars(
                select(SequenceRecord.slug)
                .join(SequenceStepRecord, SequenceStepRecord.sequence_id == SequenceRecord.id)
                .where(SequenceStepRecord.sync_id == record.id)
                .distinct()
            )
        )
        if sequences:
            raise InUseError("sync", record.slug, "sync sequences", sorted(sequences))
        self.refuse_while_running(record)

    def refuse_while_running(self, record: SyncRecord) -> None:
        """ConflictError naming the run a worker is executing for ``record``, if any: a
        sync is not deleted under its run (``syncline plan`` asks too, as apply would)."""
        running = self.running_run(record.id)
        if running is not None:
            raise ConflictError(
                f"sync {record.slug!r} has run {running.id} in progress ({running.status}); "
                "cancel it or wait for it to finish, then delete the sync"
            )

    def _lookup(
        self,
        table: type[ModelRecord] | type[DestinationRecord],
        ident: ModelRecord | DestinationRecord | int | str,
        where: str,
        problems: list[Problem],
    ) -> Any:
        if isinstance(ident, ModelRecord | DestinationRecord):
            ident = ident.id
        column = table.id if isinstance(ident, int) else table.slug
        found = self.session.scalar(
            select(table).where(table.workspace_id == self.workspace_id, column == ident)
        )
        if found is None:
            kind = "model" if table is ModelRecord else "destination"
            problems.append(Problem(where, f"{kind} {ident!r} does not exist", value=ident))
        return found
