"""One sync's snapshot, failed-row index and journal, kept as tables in the source.

The same protocol as the local store (:mod:`syncline.engine.planner.store`): each
batch's keys are journaled as *in doubt* before the batch is handed over, and its
outcome once the destination answers, each in a transaction of its own; the journal is
folded into the snapshot at the end of the run, or at the start of the next when a
process died before it could. A key still in doubt at that fold becomes an unknown
snapshot entry, which the next diff plans again whatever the model holds. A full resync
and a clear and fill stay pending across runs as they do there (see
:meth:`~syncline.engine.planner.store.SnapshotStore.begin_full_load`). The sync's
``meta`` table names the run writing the journal, whose outcomes a later run settles on
that run's record if it was killed before reporting them (see
:meth:`WarehouseStore.interrupted_outcome`).
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc

from syncline.engine.planner.base import (
    CARRIED_ENTRIES,
    CARRIED_FAILED,
    TAKEN_OVER,
    CarriedSnapshot,
    journaled_outcome,
)
from syncline.engine.planner.warehouse.session import WarehouseSession
from syncline.engine.planner.warehouse.sql import PlannerSQL
from syncline.engine.report import InterruptedOutcome, Operation

logger = logging.getLogger(__name__)

_JOURNAL_COLUMNS = ("key", "kind", "operation", "fp", "ext", "reason", "attempts", "batch")

_JOURNAL_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("kind", pa.string()),
        ("operation", pa.string()),
        ("fp", pa.string()),
        ("ext", pa.string()),
        ("reason", pa.string()),
        ("attempts", pa.int32()),
        ("batch", pa.int64()),
    ]
)


class WarehouseStore:
    """The planner tables of one sync in one schema of the source, open for one run."""

    def __init__(self, session: WarehouseSession, sql: PlannerSQL) -> None:
        self.session = session
        self.sql = sql
        self.sync_id = sql.sync_id
        session.create_schema(sql.create_schema())
        # True when this run makes the sync's tables: the sync had no state before.
        self.created = int(session.fetch(sql.table_exists("snapshot"))[0][0]) == 0
        for statement in sql.create_tables():
            session.execute(statement)
        row = session.fetch(sql.journal_size())[0]
        self._last_batch = int(row[1]) if row[1] is not None else 0

    def snapshot_size(self) -> int:
        """How many rows the destination acknowledged, or was sent and may hold."""
        return int(self.session.fetch(self.sql.snapshot_size())[0][0])

    def absent_size(self, current: str) -> int:
        """How many snapshot entries name a key the model lacks, as the local store's."""
        return int(self.session.fetch(self.sql.absent_size())[0][0])

    def begin_journal(self, run_id: int) -> None:
        """Name ``run_id`` as the run whose outcomes the journal holds from now on."""
        with self.session.transaction():
            for statement in self.sql.begin_journal(run_id):
                self.session.execute(statement)

    def interrupted_outcome(self) -> InterruptedOutcome | None:
        """What the journal says its run delivered, as the local store's
        :meth:`~syncline.engine.planner.store.SnapshotStore.interrupted_outcome` tells it."""
        run = self.session.fetch(self.sql.journal_run())
        if not run:
            return None
        return journaled_outcome(
            run[0][0],
            self.session.fetch(self.sql.journal_outcomes()),
            self.session.fetch(self.sql.journal_rejections()),
        )

    def record_doubt(self, planned: pa.RecordBatch, sent: list[int]) -> int | None:
        """Journal the ``sent`` planned rows as in doubt, before they go to the destination."""
        if not sent:
            return None
        self._last_batch += 1
        self._append(_entries(planned, sent, "doubt", batch=self._last_batch))
        return self._last_batch

    def withdraw_doubt(self, planned: pa.RecordBatch, sent: list[int]) -> None:
        """Drop the doubt of rows whose batch the destination refused as a whole."""
        if not sent:
            return
        keys = planned.column("_sl_key").take(pa.array(sent, pa.int64())).to_pylist()
        self.session.execute(self.sql.withdraw([str(key) for key in keys]))

    def record(
        self,
        planned: pa.RecordBatch,
        acked: list[int],
        rejected: list[tuple[int, str]],
        *,
        batch: int | None = None,
    ) -> None:
        """Journal one batch's acknowledged and rejected rows in one transaction."""
        parts = []
        # Outcomes carry their batch's number: those without one were journaled unsent.
        if acked:
            parts.append(_entries(planned, acked, "ack", batch=batch))
        if rejected:
            parts.append(
                _entries(
                    planned,
                    [index for index, _ in rejected],
                    "fail",
                    batch=batch,
                    reasons=[reason for _, reason in rejected],
                )
            )
        if not parts:
            return
        with self.session.transaction():
            for part in parts:
                self._append(part)

    def _append(self, table: pa.Table) -> None:
        self.session.insert(self.sql.table("journal"), _JOURNAL_COLUMNS, table)

    def record_unsent(self, plan: str, operation: Operation) -> int:
        """Journal every planned row of ``operation`` as done without sending it.

        ``plan`` is the planner's plan table, which this store names itself.
        """
        self.session.execute(self.sql.record_unsent(operation.value))
        return 0

    def record_taken_over(self, plan: str) -> None:
        """Journal every removed key whose record a model row took over (see
        :data:`~syncline.engine.planner.base.TAKEN_OVER`) as removed without sending it,
        and make unknown the entries of the rows holding those records, sent again."""
        self.session.execute(self.sql.record_unsent(TAKEN_OVER, Operation.REMOVED.value))
        self.session.execute(self.sql.distrust_holders())

    def keep_replaced(self, plan: str) -> None:
        """Enter in the snapshot, as delivered, every replaced record the plan removes (see
        :data:`~syncline.engine.planner.base.REPLACED_SEPARATOR`)."""
        self.session.execute(self.sql.keep_replaced())

    def begin_full_load(self, current: str, *, clear: bool, forget: bool = False) -> None:
        """Distrust every snapshot entry before a full resync sends, as the local store
        does; with ``clear``, empty the snapshot and journal the clear as pending; with
        ``forget``, empty it only."""
        with self.session.transaction():
            for statement in self.sql.begin_full_load(clear=clear, forget=forget):
                self.session.execute(statement)
        logger.info(
            "sync %s: %s; rows are sent again until acknowledged, by later runs if need be",
            self.sync_id,
            "clear and fill started" if clear else "full resync started",
        )

    def clear_pending(self) -> bool:
        """True when a clear and fill journaled a clear the destination has not confirmed."""
        return bool(int(self.session.fetch(self.sql.clear_pending())[0][0]))

    def settle_clear(self) -> None:
        """Record that the destination emptied its object: the pending clear is done."""
        self.session.execute(self.sql.settle_clear())

    def merge(self) -> None:
        """Fold the journal into the snapshot and the failed-row index, atomically; a
        pending clear stays in the journal."""
        pending = int(self.session.fetch(self.sql.journal_size())[0][0])
        if pending == 0:
            return
        with self.session.transaction():
            for statement in self.sql.merge():
                self.session.execute(statement)
        logger.debug("merged %s journal entries of sync %s", pending, self.sync_id)

    def replace_baseline(self, current: str) -> None:
        """Make this run's model rows the acknowledged snapshot; clear failed rows."""
        with self.session.transaction():
            for statement in self.sql.replace_baseline():
                self.session.execute(statement)

    def forget_absent(self, current: str, *, snapshot: bool) -> None:
        """Drop failed rows (with ``snapshot`` also snapshot rows) no longer in the model."""
        with self.session.transaction():
            for statement in self.sql.forget_absent(snapshot=snapshot):
                self.session.execute(statement)

    def drop_if_new_and_empty(self) -> None:
        """Drop the tables this run created when they hold nothing, as after a dry run.

        A sync without rows in its tables has no state, so dropping them changes no
        plan; the local planner likewise leaves no snapshot file after such a run.
        """
        if not self.created or self.session.fetch(self.sql.holds_state())[0][0]:
            return
        for statement in self.sql.drop_tables(("snapshot", "failed", "journal", "meta")):
            self.session.execute(statement)
        logger.debug("sync %s: dropped its new planner tables, left empty", self.sync_id)

    def failed_rows(self) -> list[tuple[str, str, str, int]]:
        """Every row of the failed-row index: key, operation, reason, attempts."""
        rows = self.session.fetch(self.sql.failed_rows())
        return [(str(k), str(o), str(r), int(a)) for k, o, r, a in rows]

    def carry_out(self) -> CarriedSnapshot:
        """The snapshot as the local planner takes it over; fold the journal first."""
        entries = self.session.fetch(self.sql.carried_entries())
        failed = self.failed_rows()
        return CarriedSnapshot(
            entries=pa.Table.from_pylist(
                [{"key": key, "ext": ext} for key, ext in entries], schema=CARRIED_ENTRIES
            ),
            failed=pa.Table.from_pylist(
                [{"key": k, "operation": o, "reason": r, "attempts": a} for k, o, r, a in failed],
                schema=CARRIED_FAILED,
            ),
            clear_pending=self.clear_pending(),
        )

    def carry_in(self, carried: CarriedSnapshot) -> None:
        """Take over the local planner's snapshot in place of this one, in one
        transaction: its keys as unknown entries sent with ``added``, its failed rows as
        they are."""
        entries = carried.entries.append_column(
            "doubt", pa.repeat(pa.scalar("added"), carried.entries.num_rows)
        )
        with self.session.transaction():
            for statement in self.sql.empty_state():
                self.session.execute(statement)
            self.session.insert(self.sql.table("snapshot"), ["key", "ext", "doubt"], entries)
            self.session.insert(
                self.sql.table("failed"), ["key", "operation", "reason", "attempts"], carried.failed
            )
            if carried.clear_pending:
                self.session.execute(self.sql.journal_clear())


def _entries(
    planned: pa.RecordBatch,
    indices: list[int],
    kind: str,
    *,
    batch: int | None = None,
    reasons: list[str] | None = None,
) -> pa.Table:
    """Journal rows of kind ``kind`` for the planned rows at ``indices``."""
    rows = planned.take(pa.array(indices, pa.int64()))
    count = rows.num_rows
    attempts = pa.repeat(pa.scalar(0, pa.int32()), count)
    if kind == "fail":
        attempts = pc.add(rows.column("_sl_attempts").cast(pa.int32()), 1)
    return pa.Table.from_arrays(
        [
            rows.column("_sl_key").cast(pa.string()),
            pa.repeat(pa.scalar(kind), count),
            rows.column("_sl_op").cast(pa.string()),
            rows.column("_sl_fp").cast(pa.string()),
            rows.column("_sl_ext").cast(pa.string()),
            pa.array(reasons, pa.string()) if reasons else pa.nulls(count, pa.string()),
            attempts,
            pa.repeat(pa.scalar(batch, pa.int64()), count),
        ],
        schema=_JOURNAL_SCHEMA,
    )
