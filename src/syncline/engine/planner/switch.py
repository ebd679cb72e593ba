"""Taking a sync's snapshot over when its source switches planner, local <-> warehouse.

Each planner keeps its own snapshot: the local one a DuckDB file beside the worker, the
in-warehouse one tables in a schema of the source. Whichever planner a run uses, it
first looks for the other's snapshot of the sync: when there is one, that snapshot is
the record of what the destination holds, and the one the run's planner may have kept
from an earlier spell is stale. The run folds the other's journal, takes its keys,
external ids and failed rows over (see :class:`~syncline.engine.planner.base.
CarriedSnapshot`) in place of its own, then drops the other's. So a switch, made by an
apply, the API or by hand, never plans from a stale snapshot and leaves nothing behind:
the run sends every model row once and removes the delivered records the model lacks.

The warehouse planner's runs leave a mark beside the local snapshots naming the schema
(see :func:`~syncline.engine.planner.store.warehouse_mark_path`), by which a run on the
local planner finds the tables once the source no longer names them. A source that stays
on the warehouse planner but names another ``plannerSchema`` is handled alike: its next
run takes the snapshot over from the schema the mark names, then drops the tables there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from syncline.connectors.sources.base import Source
from syncline.engine.planner.base import CarriedSnapshot, fold_journal
from syncline.engine.planner.store import (
    DEFAULT_LOCK_WAIT_SECONDS,
    SnapshotStore,
    discard_snapshot_file,
    snapshot_path,
    warehouse_mark_path,
)
from syncline.engine.report import InterruptedOutcome
from syncline.errors import ConfigError
from syncline.security.private import keep_private, private_folder

logger = logging.getLogger(__name__)

Settle = Callable[[InterruptedOutcome], None]


def take_local_snapshot(
    snapshot_dir: Path,
    sync_id: int,
    *,
    settle: Settle | None = None,
    lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
    stop_waiting: Callable[[], bool] | None = None,
) -> CarriedSnapshot | None:
    """The local snapshot of a sync that now plans in the warehouse, its journal folded
    (what a killed run delivered handed to ``settle`` first); None when there is none.

    The file stays until the warehouse holds the snapshot: then call
    :func:`discard_snapshot_file`.
    """
    if not snapshot_path(snapshot_dir, sync_id).exists():
        return None
    store = SnapshotStore(
        snapshot_dir, sync_id, rebuild=True, lock_wait=lock_wait, stop_waiting=stop_waiting
    )
    try:
        fold_journal(store, settle)
        return store.carry_out()
    finally:
        store.close()


def mark_warehouse(snapshot_dir: Path, sync_id: int, schema: str) -> None:
    """Note that the sync's snapshot is kept in the warehouse, in ``schema``."""
    private_folder(snapshot_dir)
    warehouse_mark_path(snapshot_dir, sync_id).write_text(schema, encoding="utf-8")
    keep_private(warehouse_mark_path(snapshot_dir, sync_id))


def marked_schema(snapshot_dir: Path, sync_id: int) -> str | None:
    """The schema the sync's last run on the warehouse planner kept its snapshot in;
    None when its snapshot is not in the warehouse."""
    try:
        return warehouse_mark_path(snapshot_dir, sync_id).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def take_schema_snapshot(
    source: Source,
    schema: str,
    sync_id: int,
    *,
    installation_id: str | None = None,
    settle: Settle | None = None,
) -> CarriedSnapshot | None:
    """The snapshot a sync kept in ``schema`` of ``source``, which the source no longer
    names as its planner schema, its journal folded; None when the schema holds none.

    The tables stay until the new schema holds the snapshot: then drop them with
    :func:`~syncline.engine.planner.warehouse.cleanup.drop_sync_state`. Raises what the
    source raises when it cannot be reached: a run that cannot take the snapshot over
    must not plan afresh. A schema another installation owns holds none of this sync's
    tables: None, with a warning.
    """
    from syncline.engine.planner.warehouse.owner import check_owner
    from syncline.engine.planner.warehouse.session import open_session
    from syncline.engine.planner.warehouse.sql import PlannerSQL
    from syncline.engine.planner.warehouse.store import WarehouseStore

    session = open_session(source, schema)
    try:
        try:
            check_owner(session, installation_id)
        except ConfigError as exc:
            if exc.code != "PLANNER_SCHEMA_OWNED":
                raise
            # Another installation planned there: none of its tables are this sync's.
            logger.warning(
                "sync %s: its last warehouse run planned in schema %r, which another "
                "installation now owns; this run starts afresh (%s)",
                sync_id,
                schema,
                exc,
            )
            return None
        sql = PlannerSQL(session.dialect, session.schema, sync_id)
        if int(session.fetch(sql.table_exists("snapshot"))[0][0]) == 0:
            return None
        warehouse = WarehouseStore(session, sql)
        fold_journal(warehouse, settle)
        return warehouse.carry_out()
    finally:
        session.close()


def take_warehouse_snapshot(
    source: Source,
    snapshot_dir: Path,
    sync_id: int,
    *,
    installation_id: str | None = None,
    settle: Settle | None = None,
    lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
    stop_waiting: Callable[[], bool] | None = None,
) -> bool:
    """Move the warehouse snapshot of a sync that now plans locally into its local file,
    in place of any file kept from before, then drop the warehouse tables; False when
    the sync left no snapshot in the warehouse.

    Raises what the source raises when it cannot be reached, or when the schema is
    another installation's (see :mod:`.warehouse.owner`): a run that cannot take the
    snapshot over must not plan from a stale one.
    """
    mark = warehouse_mark_path(snapshot_dir, sync_id)
    schema = marked_schema(snapshot_dir, sync_id)
    if schema is None:
        return False
    # Imported here: a run on the local planner loads the warehouse planner only now.
    from syncline.engine.planner.warehouse.owner import check_owner
    from syncline.engine.planner.warehouse.session import open_session
    from syncline.engine.planner.warehouse.sql import PlannerSQL
    from syncline.engine.planner.warehouse.store import WarehouseStore

    session = open_session(source, schema)
    try:
        check_owner(session, installation_id)
        sql = PlannerSQL(session.dialect, session.schema, sync_id)
        found = int(session.fetch(sql.table_exists("snapshot"))[0][0]) > 0
        if found:
            warehouse = WarehouseStore(session, sql)
            fold_journal(warehouse, settle)
            carried = warehouse.carry_out()
            discard_snapshot_file(snapshot_dir, sync_id)
            store = SnapshotStore(
                snapshot_dir, sync_id, lock_wait=lock_wait, stop_waiting=stop_waiting
            )
            try:
                store.carry_in(carried)
            finally:
                store.close()
            # Only once the local file holds the snapshot: should this fail, the next run
            # takes the same snapshot over again.
            for statement in sql.drop_tables():
                session.execute(statement)
    finally:
        session.close()
    mark.unlink(missing_ok=True)
    if found:
        logger.info(
            "sync %s: took its snapshot over from the warehouse planner's schema %r, which "
            "no longer holds its tables; this run sends every row once and removes the "
            "records the model lacks",
            sync_id,
            schema,
        )
    return found
