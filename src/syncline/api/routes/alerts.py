"""Alert policies: a destination's default (``/destinations/{id}/alerts``) and a sync's own.

A sync's policy overrides its destination's trigger by trigger, and replaces the
recipients when it names some (see :mod:`syncline.alerts.policy`). ``PUT`` replaces
a policy whole, checked as a project file's ``alerts:`` is; ``DELETE`` removes it, so
the defaults (or, for a sync, its destination's policy) apply again. The web UI's
alert pages offer the same operations.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body

from syncline.alerts.policy import RECIPIENT_SECRETS, SWITCHABLE_TRIGGERS, AlertPolicy, Triggers
from syncline.alerts.store import effective_policy, read_policy, write_policy
from syncline.api.alert_schemas import (
    POLICY_BODY_SCHEMA,
    SYNC_POLICY_BODY_SCHEMA,
    AlertPolicyView,
    SyncAlertPolicyView,
)
from syncline.api.booleans import loose_booleans, replacing
from syncline.api.deps import CatalogDep, ReadSession, SettingsDep, WriteSession
from syncline.api.errors import COMMON_RESPONSES, NOT_FOUND
from syncline.api.schemas import PathId
from syncline.catalog import CatalogSession
from syncline.catalog.repository import raise_problems
from syncline.errors import ValidationError
from syncline.security.secrets import SecretBox, looks_secret

logger = logging.getLogger(__name__)

router = APIRouter(tags=["alerts"], responses={**COMMON_RESPONSES, **NOT_FOUND})

PolicyBody = Annotated[dict[str, Any], Body(description="The policy, as a project declares it.")]

_BODY_DOC = {"requestBody": {"content": {"application/json": {"schema": POLICY_BODY_SCHEMA}}}}
_SYNC_BODY_DOC = {
    "requestBody": {"content": {"application/json": {"schema": SYNC_POLICY_BODY_SCHEMA}}}
}


# -- destinations -----------------------------------------------------------------------------


@router.get(
    "/destinations/{destinationId}/alerts",
    operation_id="GetDestinationAlerts",
    response_model=AlertPolicyView,
    response_model_exclude_unset=True,
)
def get_destination_alerts(destinationId: PathId, session: ReadSession, catalog: CatalogDep) -> Any:
    """The default alert policy of the destination's syncs; secrets of recipients left out."""
    session.destinations.get(destinationId)
    stored = read_policy(session.orm, catalog.secrets, destination_id=destinationId)
    return view(stored)


@router.put(
    "/destinations/{destinationId}/alerts",
    operation_id="SetDestinationAlerts",
    response_model=AlertPolicyView,
    response_model_exclude_unset=True,
    openapi_extra=_BODY_DOC,
)
def set_destination_alerts(
    destinationId: PathId,
    body: PolicyBody,
    session: WriteSession,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> Any:
    """Replace the destination's policy; every problem of the body is a 422 at once."""
    session.destinations.get(destinationId)
    allowed = settings.alert_allowed_hosts
    return _replace(session, catalog.secrets, body, allowed, destination_id=destinationId)


@router.delete(
    "/destinations/{destinationId}/alerts",
    operation_id="DeleteDestinationAlerts",
    response_model=AlertPolicyView,
    response_model_exclude_unset=True,
)
def delete_destination_alerts(
    destinationId: PathId, session: WriteSession, catalog: CatalogDep
) -> Any:
    """Remove the destination's policy (its syncs fall back to the defaults); returns it."""
    session.destinations.get(destinationId)
    return _remove(session, catalog.secrets, destination_id=destinationId)


# -- syncs ------------------------------------------------------------------------------------


@router.get(
    "/syncs/{syncId}/alerts",
    operation_id="GetSyncAlerts",
    response_model=SyncAlertPolicyView,
    response_model_exclude_unset=True,
)
def get_sync_alerts(syncId: PathId, session: ReadSession, catalog: CatalogDep) -> Any:
    """The sync's own policy, and under ``effective`` the one laid over its destination's."""
    sync = session.syncs.get(syncId)
    stored = read_policy(session.orm, catalog.secrets, sync_id=syncId)
    effective = effective_policy(session.orm, catalog.secrets, sync.destination_id, sync.id)
    return {**view(stored), "effective": view(effective.dump())}


@router.put(
    "/syncs/{syncId}/alerts",
    operation_id="SetSyncAlerts",
    response_model=AlertPolicyView,
    response_model_exclude_unset=True,
    openapi_extra=_SYNC_BODY_DOC,
)
def set_sync_alerts(
    syncId: PathId,
    body: PolicyBody,
    session: WriteSession,
    catalog: CatalogDep,
    settings: SettingsDep,
) -> Any:
    """Replace the sync's own policy; triggers it leaves out keep the destination's.

    ``effective``, which GET adds, is read-only and ignored, so what GET answered can
    be sent back as it is.
    """
    session.syncs.get(syncId)
    allowed = settings.alert_allowed_hosts
    declared = {key: value for key, value in body.items() if key != "effective"}
    return _replace(session, catalog.secrets, declared, allowed, sync_id=syncId)


@router.delete(
    "/syncs/{syncId}/alerts",
    operation_id="DeleteSyncAlerts",
    response_model=AlertPolicyView,
    response_model_exclude_unset=True,
)
def delete_sync_alerts(syncId: PathId, session: WriteSession, catalog: CatalogDep) -> Any:
    """Remove the sync's own policy, so its destination's applies; returns what it was."""
    session.syncs.get(syncId)
    return _remove(session, catalog.secrets, sync_id=syncId)


# -- shared -----------------------------------------------------------------------------------


def view(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The API shape of a stored policy (or of none): every trigger, and recipients without secrets.

    A trigger the policy turns off reads ``false``, one it leaves to the defaults (or
    the destination) ``null``, so what GET answers can be PUT back unchanged. Each
    recipient's secret fields are left out, so what a key holder reads back never
    carries a webhook URL, header or password.
    """
    policy = AlertPolicy.load(stored or {})
    triggers = policy.triggers.model_dump(mode="json", by_alias=True)
    # A trigger the policy turned off reads as false, as it was written; null is inherited.
    for name in SWITCHABLE_TRIGGERS & policy.triggers.model_fields_set:
        if getattr(policy.triggers, name) is None:
            triggers[Triggers.model_fields[name].alias or name] = False
    if policy.recipients is None:
        return {"triggers": triggers, "recipients": None}
    recipients = [
        _without_secrets(r.model_dump(mode="json", by_alias=True)) for r in policy.recipients
    ]
    return {"triggers": triggers, "recipients": recipients}


def _without_secrets(recipient: dict[str, Any]) -> dict[str, Any]:
    secret = RECIPIENT_SECRETS.get(str(recipient.get("type")), ())
    return {
        key: value
        for key, value in recipient.items()
        if key not in secret and not looks_secret(key) and value is not None
    }


def _replace(
    session: CatalogSession,
    secrets: SecretBox,
    body: dict[str, Any],
    allowed_hosts: tuple[str, ...],
    **where: int,
) -> dict[str, Any]:
    loose = loose_booleans(AlertPolicy, body, "body")
    try:
        policy = AlertPolicy.parse(
            _without_null_triggers(body), where="body", allowed_hosts=allowed_hosts
        )
    except ValidationError as exc:
        raise ValidationError(replacing(exc.problems, loose)) from None
    raise_problems(loose)
    declared = policy.dump()
    write_policy(session.orm, secrets, session.workspace_id, declared, **where)
    logger.info("alert policy of %s replaced over the API", _named(where))
    return view(declared)


def _without_null_triggers(body: dict[str, Any]) -> dict[str, Any]:
    """The body with null triggers left out: null is what GET answers for an inherited one.

    So a policy read back and sent again means the same; ``false`` turns a trigger off.
    """
    triggers = body.get("triggers")
    if not isinstance(triggers, dict):
        return body
    return {**body, "triggers": {k: v for k, v in triggers.items() if v is not None}}


def _remove(session: CatalogSession, secrets: SecretBox, **where: int) -> dict[str, Any]:
    stored = read_policy(session.orm, secrets, **where)
    write_policy(session.orm, secrets, session.workspace_id, None, **where)
    if stored is not None:
        logger.info("alert policy of %s removed over the API", _named(where))
    return view(stored)


def _named(where: dict[str, int]) -> str:
    (key, ident), *_ = where.items()
    return f"{key.removesuffix('_id')} {ident}"
