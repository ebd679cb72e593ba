"""Alert policies and trigger states in the catalog, recipients' secrets sealed at rest."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncline.alerts.policy import RECIPIENT_SECRETS, AlertPolicy
from syncline.catalog.tables import AlertPolicyRecord, AlertStateRecord
from syncline.security.secrets import SecretBox

logger = logging.getLogger(__name__)


def _policy_record(
    orm: Session, *, destination_id: int | None = None, sync_id: int | None = None
) -> AlertPolicyRecord | None:
    if destination_id is not None:
        where = AlertPolicyRecord.destination_id == destination_id
    else:
        where = AlertPolicyRecord.sync_id == sync_id
    return orm.scalars(select(AlertPolicyRecord).where(where)).one_or_none()


def read_policy(
    orm: Session,
    secrets: SecretBox,
    *,
    destination_id: int | None = None,
    sync_id: int | None = None,
) -> dict[str, Any] | None:
    """The policy of a destination or sync as its project declared it, secrets revealed."""
    record = _policy_record(orm, destination_id=destination_id, sync_id=sync_id)
    if record is None:
        return None
    configuration = dict(record.configuration)
    if configuration.get("recipients") is not None:
        configuration["recipients"] = [secrets.reveal(r) for r in configuration["recipients"]]
    return configuration


def write_policy(
    orm: Session,
    secrets: SecretBox,
    workspace_id: int,
    declared: Mapping[str, Any] | None,
    *,
    destination_id: int | None = None,
    sync_id: int | None = None,
) -> None:
    """Store (or, with ``declared`` None, remove) the policy of a destination or sync."""
    record = _policy_record(orm, destination_id=destination_id, sync_id=sync_id)
    if declared is None:
        if record is not None:
            orm.delete(record)
        return

    configuration = dict(declared)
    if configuration.get("recipients") is not None:
        configuration["recipients"] = [
            secrets.seal(r, RECIPIENT_SECRETS.get(str(r.get("type")), ()))
            for r in configuration["recipients"]
        ]
    if record is None:
        record = AlertPolicyRecord(
            workspace_id=workspace_id,
            destination_id=destination_id,
            sync_id=sync_id,
            configuration=configuration,
        )
        orm.add(record)
    else:
        record.configuration = configuration
    orm.flush()


def effective_policy(
    orm: Session, secrets: SecretBox, destination_id: int, sync_id: int
) -> AlertPolicy:
    """The sync's policy laid over its destination's; the built-in defaults without either."""
    default = read_policy(orm, secrets, destination_id=destination_id)
    own = read_policy(orm, secrets, sync_id=sync_id)
    base = AlertPolicy.load(default) if default is not None else None
    if own is None:
        return base or AlertPolicy()
    return AlertPolicy.load(own).over(base)


def trigger_states(orm: Session, sync_id: int) -> dict[str, AlertStateRecord]:
    """The stored state of every trigger of a sync, by trigger name, locked for update."""
    query = select(AlertStateRecord).where(AlertStateRecord.sync_id == sync_id)
    return {r.trigger: r for r in orm.scalars(query.with_for_update())}
