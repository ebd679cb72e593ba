"""How a sync's mode and delete behaviour turn planned operations into write actions."""

from __future__ import annotations

from dataclasses import dataclass

from syncline.connectors.destinations.base import SyncMode, WriteAction
from syncline.engine.config import DeleteBehavior
from syncline.engine.report import Operation


@dataclass(frozen=True)
class Step:
    """What the run does with every planned row of one operation."""

    operation: Operation
    action: WriteAction | None
    """The write action, or None when the rows are not sent but the snapshot advances."""
    clear: bool = False
    """Send the id with every other mapped field NULL (delete behaviour ``clear``)."""
    in_doubt: bool | None = None
    """Only rows a killed run sent without learning the outcome (True), only the
    others (False), or every row of the operation (None)."""

    @property
    def sends(self) -> bool:
        """True when the rows go to the destination."""
        return self.action is not None


_WRITES = {
    SyncMode.UPSERT: (WriteAction.UPSERT, WriteAction.UPSERT),
    SyncMode.MIRROR: (WriteAction.UPSERT, WriteAction.UPSERT),
    SyncMode.ALL: (WriteAction.UPSERT, WriteAction.UPSERT),
    SyncMode.UPDATE: (WriteAction.UPDATE, WriteAction.UPDATE),
    # Insert and append never touch a record again: a changed row is not sent.
    SyncMode.INSERT: (WriteAction.INSERT, None),
    SyncMode.APPEND: (WriteAction.APPEND, None),
}


def plan_steps(
    mode: SyncMode, delete_behavior: DeleteBehavior, *, upserts: bool = False
) -> list[Step]:
    """The steps of a run in delivery order: added, changed, then removed rows.

    In insert mode a row a killed run inserted without learning the outcome may already
    be in the destination, where a second insert would be rejected on every run; when
    the destination ``upserts``, such rows are upserted instead. Append mode sends them
    again as they are: an event may then arrive twice, but none is lost.
    """
    on_added, on_changed = _WRITES[mode]
    steps = [Step(Operation.ADDED, on_added)]
    # TODO(engine): without upserts a row in doubt is inserted again and, if the lost
    # insert had landed, rejected as existing on every run; a structured "already exists"
    # outcome from destinations would let the engine count it acknowledged instead.
    if mode is SyncMode.INSERT and upserts:
        steps = [
            Step(Operation.ADDED, WriteAction.UPSERT, in_doubt=True),
            Step(Operation.ADDED, on_added, in_doubt=False),
        ]
    steps.append(Step(Operation.CHANGED, on_changed))
    steps.append(_removed_step(mode, delete_behavior))
    return steps


def _removed_step(mode: SyncMode, delete_behavior: DeleteBehavior) -> Step:
    if mode is SyncMode.MIRROR:
        return Step(Operation.REMOVED, WriteAction.DELETE)
    if mode in (SyncMode.INSERT, SyncMode.APPEND):
        # Records written by insert-only modes are never deleted or cleared.
        return Step(Operation.REMOVED, None)
    if delete_behavior is DeleteBehavior.DELETE:
        return Step(Operation.REMOVED, WriteAction.DELETE)
    if delete_behavior is DeleteBehavior.CLEAR:
        return Step(Operation.REMOVED, WriteAction.UPDATE, clear=True)
    return Step(Operation.REMOVED, None)
