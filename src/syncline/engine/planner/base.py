"""What the run asks of a planner, whichever keeps the snapshot.

Two planners satisfy these protocols: the local one (a DuckDB file beside the worker,
see :mod:`syncline.engine.planner.local`) and the in-warehouse one (tables in a schema
of the source, see :mod:`syncline.engine.planner.warehouse`). The run and the delivery
depend on the protocols only, so both planners follow one snapshot discipline: rows in
doubt are journaled before a batch is handed over, outcomes after it is answered, and
the journal is folded into the snapshot at the end of the run or the start of the next.
The journal also names the run that writes it, so that what a killed run journaled but
never reported is settled on that run's record before the fold (see
:func:`fold_journal`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from syncline.engine.report import InterruptedOutcome, Operation, RejectedRow, RowCounts
from syncline.errors import RunError

logger = logging.getLogger(__name__)

TAKEN_OVER = "taken over"
"""The plan's operation for a removed key whose external id a row of the model holds.

The destination matches records on that id, so the record is the current row's now: the
key is forgotten from the snapshot without its record being deleted or cleared, and it
is not counted as removed. Only syncs matched on an external id other than the primary
key plan it (see :func:`may_take_over`).

The record still holds what the departed row sent last, so the row holding the id is
planned as changed beside it and sent again (see :func:`holders_distrust_sql`).
"""


REPLACED_SEPARATOR = "\x1f"
"""Joins a row's key to an external id the row held before, into the key of a *replaced*
record: the record of that id, which the row left for another (an email changed).

In a sync that removes records (mirror mode, or a delete behaviour that deletes or clears)
the plan carries such a record as removed, under this key, beside the row's change (see
:func:`replaced_plan_sql`); the run enters the key in the snapshot before it sends
anything (see :meth:`PlannerStore.keep_replaced`), so that a removal the destination
rejects, or a run killed before it, is planned again by the next run, as any removed key.
The unit separator is in no key a model gives, so the key names no row of the model.
"""


CARRIED_ENTRIES = pa.schema([("key", pa.string()), ("ext", pa.string())])
"""The columns of :attr:`CarriedSnapshot.entries`."""

CARRIED_FAILED = pa.schema(
    [
        ("key", pa.string()),
        ("operation", pa.string()),
        ("reason", pa.string()),
        ("attempts", pa.int32()),
    ]
)
"""The columns of :attr:`CarriedSnapshot.failed`."""


@dataclass(frozen=True)
class CarriedSnapshot:
    """What one planner's snapshot of a sync hands the other when the sync's source
    switches planner, its journal folded in first.

    Both planners key rows, keep external ids and index failed rows alike, but their
    fingerprints differ: the keys are taken over as unknown entries, as sent with
    ``added``, so that the next run sends every model row once and removes the
    delivered records the model lacks.
    """

    entries: pa.Table
    """Every delivered (or maybe delivered) key with its external id as text."""
    failed: pa.Table
    """The failed-row index: key, operation, reason, attempts."""
    clear_pending: bool
    """A clear and fill journaled a clear the destination has not confirmed."""


class PlanSummary(Protocol):
    """How many rows of each operation a diff found, and how big the snapshot was."""

    counts: RowCounts
    snapshot_size: int


class PlannerStore(Protocol):
    """The snapshot, the failed-row index and the journal of one sync."""

    def snapshot_size(self) -> int:
        """How many rows the destination acknowledged, or was sent and may hold."""

    def absent_size(self, current: str) -> int:
        """How many snapshot entries name a key the model rows of ``current`` lack: records
        the destination holds, or may hold, for rows that left the model."""

    def begin_journal(self, run_id: int) -> None:
        """Name ``run_id`` as the run whose outcomes the journal holds from now on."""

    def interrupted_outcome(self) -> InterruptedOutcome | None:
        """What the journal says its run delivered, when a run left one unfolded: None
        when the journal holds no outcome or names no run (written by an older version)."""

    def record_doubt(self, planned: pa.RecordBatch, sent: list[int]) -> int | None:
        """Journal ``sent`` planned rows as in doubt; returns the batch's number."""

    def withdraw_doubt(self, planned: pa.RecordBatch, sent: list[int]) -> None:
        """Drop the doubt of rows whose batch the destination refused as a whole."""

    def record(
        self,
        planned: pa.RecordBatch,
        acked: list[int],
        rejected: list[tuple[int, str]],
        *,
        batch: int | None = None,
    ) -> None:
        """Journal one batch's acknowledged and rejected rows."""

    def record_unsent(self, plan: str, operation: Operation) -> int:
        """Journal every planned row of ``operation`` as done without sending it."""

    def record_taken_over(self, plan: str) -> None:
        """Journal every removed key whose record a model row took over (see
        :data:`TAKEN_OVER`) as removed without sending it: the fold forgets it; and make
        unknown, at once, the entries of the rows holding those records, which ``plan``
        sends again (see :func:`holders_distrust_sql`)."""

    def keep_replaced(self, plan: str) -> None:
        """Enter in the snapshot, as delivered, every replaced record ``plan`` removes
        (see :data:`REPLACED_SEPARATOR`): its removal is then journaled as any other."""

    def begin_full_load(self, current: str, *, clear: bool, forget: bool = False) -> None:
        """Distrust every snapshot entry before a full resync sends, so that the run that
        comes next finishes it; with ``clear``, journal the clear as pending; with
        ``forget`` (insert mode), drop the entries instead, so that a row the resync does
        not insert is planned as new, never as in doubt (which insert mode upserts)."""

    def clear_pending(self) -> bool:
        """True when a clear and fill journaled a clear the destination has not confirmed."""

    def settle_clear(self) -> None:
        """Record that the destination emptied its object: the pending clear is done."""

    def merge(self) -> None:
        """Fold the journal into the snapshot and the failed-row index, atomically; the
        journal then names no run."""

    def replace_baseline(self, current: str) -> None:
        """Make the current model rows the acknowledged snapshot; clear failed rows."""

    def forget_absent(self, current: str, *, snapshot: bool) -> None:
        """Drop failed rows (with ``snapshot`` also snapshot rows) no longer in the model."""


class Planner(Protocol):
    """Plans one run of one sync once the model's rows are loaded.

    ``current_table`` and ``plan_table`` name the planner's tables of this run's model
    rows and planned rows, as its store's methods take them.
    """

    @property
    def store(self) -> PlannerStore:
        """The sync's snapshot store, journaled by the delivery."""

    @property
    def current_table(self) -> str:
        """The table of this run's model rows."""

    @property
    def plan_table(self) -> str:
        """The table of this run's planned rows."""

    def check_unique_keys(self) -> None:
        """Fail the run, showing example keys, when the model repeats a primary key."""

    def diff(
        self, *, every_row: bool = False, full_resync: bool = False, removes: bool = False
    ) -> PlanSummary:
        """Compute the plan: added, changed and removed rows, plus last run's failed rows;
        when the sync ``removes`` records, also the records replaced by a changed
        external id (see :data:`REPLACED_SEPARATOR`)."""

    def planned_batches(
        self, operation: Operation, batch_rows: int, *, in_doubt: bool | None = None
    ) -> Generator[pa.RecordBatch, None, None]:
        """Stream the planned rows of one operation, model columns included."""

    def close(self) -> None:
        """Release the planner's connection and its scratch tables."""


def fold_journal(store: PlannerStore, settle: Callable[[InterruptedOutcome], None] | None) -> None:
    """Fold the journal a killed run left, first handing what it delivered to ``settle``.

    The journal is the truth of what that run delivered, while its record counts only
    the batches it reported before it died; once folded, the journal's outcomes are
    gone. Should ``settle`` fail, nothing is folded and the next run settles them.
    """
    if settle is not None:
        outcome = store.interrupted_outcome()
        if outcome is not None:
            settle(outcome)
    store.merge()


def journaled_outcome(
    run: object,
    counts: Iterable[tuple[object, object, object]],
    rejected: Iterable[tuple[object, object, object, object]],
) -> InterruptedOutcome | None:
    """The outcome a journal names for ``run`` (as stored, None when it names none), from
    its ``(kind, operation, rows)`` counts of outcomes and its rejected rows' ``(key,
    operation, reason, attempts)``; None when it holds no outcome."""
    if run is None:
        return None
    outcome = InterruptedOutcome(run_id=int(str(run)))
    for kind, operation, count in counts:
        tally = outcome.successful if kind == "ack" else outcome.failed
        tally.add(Operation(str(operation)), int(str(count)))
    if outcome.successful.total + outcome.failed.total == 0:
        return None
    outcome.rejected = [
        RejectedRow(
            key=str(key),
            operation=Operation(str(operation)),
            reason=str(reason),
            attempts=int(str(attempts)),
        )
        for key, operation, reason, attempts in rejected
    ]
    return outcome


def repeated_key_error(
    primary_key: str, total: int, examples: Iterable[tuple[object, int]], sync_id: int
) -> RunError:
    """The error of a model that repeats keys, with how many and a few examples."""
    shown = ", ".join(f"{key!r} ({count} rows)" for key, count in examples)
    return RunError(
        f"primary key {primary_key!r} is not unique: {total} "
        f"{'key repeats' if total == 1 else 'keys repeat'}, e.g. {shown}; make the model "
        "return one row per key or choose another primary key",
        code="NON_UNIQUE_PRIMARY_KEY",
        sync_id=sync_id,
    )


def replaced_plan_sql(plan: str, snapshot: str, failed: str, columns: str, values: str) -> str:
    """SQL (DuckDB's and PostgreSQL's alike) adding to ``plan`` a removed row for every
    record a planned row's earlier external id names (see :data:`REPLACED_SEPARATOR`).

    ``columns`` names the plan's columns to fill besides key, operation, external id and
    attempts, and ``values`` their values over the snapshot entry ``s``; the others stay
    NULL, as a removed row's model columns. A replaced key the plan holds already (its
    removal rejected before, while the row's change was rejected too) is left out.
    """
    replaced = f"p._sl_key || chr({ord(REPLACED_SEPARATOR)}) || s.ext"
    return (
        f"INSERT INTO {plan} (_sl_key, _sl_op, _sl_ext, _sl_attempts{columns}) "
        f"SELECT {replaced}, 'removed', s.ext, COALESCE(f.attempts, 0){values} "
        f"FROM {plan} AS p JOIN {snapshot} AS s ON s.key = p._sl_key "
        f"LEFT JOIN {failed} AS f ON f.key = {replaced} "
        "WHERE p._sl_op <> 'removed' AND s.ext IS NOT NULL AND p._sl_ext <> s.ext "
        f"AND {replaced} NOT IN (SELECT _sl_key FROM {plan} WHERE _sl_key IS NOT NULL)"
    )


def may_replace(*, removes: bool, full_resync: bool, primary_key: str, id_column: str) -> bool:
    """Whether a plan may carry replaced records (see :data:`REPLACED_SEPARATOR`): the sync
    removes records, the run removes any (a full resync removes none), and records are
    matched on a column other than the primary key, which a row may change."""
    return removes and not full_resync and id_column != primary_key


def holders_distrust_sql(plan: str, snapshot: str) -> str:
    """SQL (every planner's dialect alike) making unknown the snapshot entries of the rows
    ``plan`` sends again because they hold a record taken over (see :data:`TAKEN_OVER`).

    The taken-over key is forgotten as soon as the journal is folded, whether or not the
    holding row's record was rewritten: an unknown entry is planned again by the next run
    until the destination acknowledges the row, so a run that dies first loses nothing.
    """
    return (
        f"UPDATE {snapshot} SET fp = NULL, doubt = 'changed' WHERE key IN "
        f"(SELECT _sl_key FROM {plan} WHERE _sl_op = 'changed' AND _sl_ext IN "
        f"(SELECT _sl_ext FROM {plan} WHERE _sl_op = '{TAKEN_OVER}'))"
    )


def may_take_over(rows: Iterable[tuple[str, int]], *, primary_key: str, id_column: str) -> bool:
    """Whether a plan of these ``(operation, rows)`` counts may remove a key whose record
    a model row holds (see :data:`TAKEN_OVER`): it removes keys, and records are matched
    on a column other than the primary key, which two rows may then share over time."""
    if id_column == primary_key:
        return False
    return any(operation == Operation.REMOVED.value and count for operation, count in rows)


def count_plan(
    counts: RowCounts,
    rows: Iterable[tuple[str, int]],
    *,
    sync_id: int,
    snapshot_size: int,
    where: str = "",
) -> None:
    """Add a plan's ``(operation, rows)`` counts to ``counts`` and log them; removed keys
    taken over by a model row (see :data:`TAKEN_OVER`) are logged, not counted."""
    taken = 0
    for operation, count in rows:
        if operation == TAKEN_OVER:
            taken = int(count)
            continue
        counts.add(Operation(operation), int(count))
    logger.info(
        "sync %s: planned %s added, %s changed, %s removed%s (snapshot had %s rows)",
        sync_id,
        counts.added,
        counts.changed,
        counts.removed,
        where,
        snapshot_size,
    )
    if taken:
        logger.info(
            "sync %s: %s rows that left the model are not removed: rows of the model hold "
            "their external ids, so their records are those rows' now",
            sync_id,
            taken,
        )
