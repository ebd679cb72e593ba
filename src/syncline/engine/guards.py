"""Guards that stop a run before anything is written, so a broken model wipes nothing."""

from __future__ import annotations

import logging

from syncline.engine.config import Guards
from syncline.errors import RunError

logger = logging.getLogger(__name__)


def check_guards(
    guards: Guards,
    *,
    sync_id: int,
    model_rows: int,
    snapshot_rows: int,
    removed_rows: int,
) -> None:
    """Raise a RunError naming the guard, the numbers and the override when one trips.

    An empty model trips the empty-model guard only when the snapshot holds rows: on
    a first run (or after everything was removed) there is nothing it could wipe.
    """
    if model_rows == 0 and snapshot_rows > 0 and not guards.allow_empty:
        raise RunError(
            f"guard allowEmpty tripped: the model returned no rows while {snapshot_rows} rows "
            "were synced before; check the model, or set guards.allowEmpty to true if the "
            "model may be empty",
            code="EMPTY_MODEL_GUARD",
            sync_id=sync_id,
        )

    share = guards.max_removed_share
    if share is None or snapshot_rows == 0:
        return
    removed_share = removed_rows / snapshot_rows
    if removed_share > share:
        raise RunError(
            f"guard maxRemovedShare tripped: the run would remove {removed_rows} of "
            f"{snapshot_rows} synced rows ({removed_share:.1%}, limit {share:.1%}); check the "
            "model, or raise guards.maxRemovedShare to allow it",
            code="REMOVED_SHARE_GUARD",
            sync_id=sync_id,
        )
