"""Alerts: the policies of destinations and syncs, and the triggers that are firing now.

A destination's policy is the default of its syncs; a sync's own policy overrides it
(see :mod:`syncline.alerts.policy`). Policies are checked by the same model project
files are, and stored with their recipients' secrets sealed. A Slack or webhook URL
is a credential, so pages show only its host.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from syncline.alerts.policy import AlertPolicy
from syncline.alerts.store import read_policy, write_policy
from syncline.catalog import CatalogSession
from syncline.catalog.tables import AlertPolicyRecord, AlertStateRecord, SyncRecord
from syncline.errors import NotFoundError, ValidationError
from syncline.web.alert_form import (
    FOLLOW,
    declared_from,
    form_values,
    mode_choices,
    named_new_recipient,
    new_recipient,
    new_recipient_aliases,
)
from syncline.web.forms import field_errors
from syncline.web.render import not_found, render
from syncline.web.users import AdminForm, SubmittedForm, Viewer, WebUser, catalog_of

logger = logging.getLogger(__name__)

router = APIRouter()

SCOPES = ("destinations", "syncs")

_ALIASES = {
    "alerts.triggers.rejectedRows": "rejected",
    "alerts.triggers.slowRun": "slow",
    "alerts.triggers.rowCountDrop": "drop",
    "alerts.recipients": "recipients",
    "alerts": "_form",
}


def recipient_label(recipient: dict[str, Any]) -> str:
    """Who a recipient is, without its secrets: the type and the host or addresses."""
    kind = recipient.get("type", "?")
    if kind == "email":
        to = recipient.get("to")
        return f"e-mail to {', '.join(to) if isinstance(to, list) else to}"
    host = urlsplit(str(recipient.get("url", ""))).hostname or "?"
    return f"{kind} at {host}"


_SHARES = ("alerts.triggers.rejectedRows.share", "alerts.triggers.rowCountDrop.share")
"""Where the policy keeps a share (0 to 1) that the form asks for in percent."""


def _in_form_units(exc: ValidationError) -> ValidationError:
    """The problems as the form words them: a share is a percentage there, not 0 to 1."""
    problems = [
        replace(p, message="give a percentage above 0 and at most 100", value=None)
        if p.location in _SHARES
        else p
        for p in exc.problems
    ]
    return ValidationError(problems)


def _target(session: CatalogSession, scope: str, ident: int) -> tuple[str, dict[str, Any]]:
    """The name of a destination or sync, and the ids ``read_policy`` takes for it."""
    if scope == "destinations":
        return session.destinations.get(ident).name, {"destination_id": ident}
    return f"sync {session.syncs.get(ident).slug}", {"sync_id": ident}


@router.get("/alerts", response_class=HTMLResponse)
def overview(request: Request, user: Viewer) -> Response:
    """Which destinations and syncs have policies, and which triggers are not ok."""
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        policies = list(session.orm.scalars(
            select(AlertPolicyRecord).where(AlertPolicyRecord.workspace_id == user.workspace_id)
        ))  # fmt: skip
        destinations = [(d.id, d.name) for d in session.destinations.list()]
        syncs = {s.id: s.slug for s in session.syncs.list()}
        firing = list(session.orm.scalars(
            select(AlertStateRecord)
            .join(SyncRecord, SyncRecord.id == AlertStateRecord.sync_id)
            .where(SyncRecord.workspace_id == user.workspace_id, AlertStateRecord.state != "ok")
            .order_by(AlertStateRecord.since.desc())
        ))  # fmt: skip
    with_policy = {("destinations", p.destination_id) for p in policies if p.destination_id}
    with_policy |= {("syncs", p.sync_id) for p in policies if p.sync_id}
    return render(
        request, "alerts.html", user, destinations=destinations, syncs=syncs,
        with_policy=with_policy, firing=firing,
    )  # fmt: skip


def _policy_page(
    request: Request,
    user: WebUser,
    scope: str,
    ident: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with catalog_of(request).session(user.workspace_id, read_only=True) as session:
        try:
            name, where = _target(session, scope, ident)
        except NotFoundError as exc:
            return not_found(request, user, str(exc))
        stored = read_policy(session.orm, catalog_of(request).secrets, **where)
    recipients = [recipient_label(r) for r in (stored or {}).get("recipients") or []]
    values = values or form_values(stored)
    return render(
        request, "alert_form.html", user, status_code=status_code, scope=scope, ident=ident,
        name=name, stored=stored, recipients=recipients, values=values,
        modes=mode_choices(scope, values), errors=errors or {},
    )  # fmt: skip


def _unheard_recipient(form: SubmittedForm) -> dict[str, str]:
    """A problem when a sync that follows its destination's recipients is given one more."""
    if form.text("recipients_mode") != FOLLOW or new_recipient(form) is None:
        return {}
    return {
        "recipients_mode": "this sync notifies its destination's recipients, so the new one "
        'would not be told; choose "Notify only the recipients listed here" to add it'
    }


def _form_errors(
    exc: ValidationError, declared: dict[str, Any], new: dict[str, Any] | None
) -> dict[str, str]:
    """The policy's problems beside the form's fields, the new recipient's beside its own."""
    aliases = dict(_ALIASES)
    if new is not None and (declared.get("recipients") or [None])[-1] == new:
        aliases |= new_recipient_aliases(declared)
    return named_new_recipient(declared, field_errors(_in_form_units(exc), aliases))


@router.get("/alerts/{scope}/{ident:int}", response_class=HTMLResponse)
def policy_page(request: Request, scope: str, ident: int, user: Viewer) -> Response:
    """The alert policy form of a destination or sync."""
    if scope not in SCOPES:
        return RedirectResponse("/alerts", status_code=303)
    return _policy_page(request, user, scope, ident)


@router.post("/alerts/{scope}/{ident:int}")
def save_policy(request: Request, scope: str, ident: int, form: AdminForm) -> Response:
    """Check the policy as a project file's would be, then store it (or remove it)."""
    if scope not in SCOPES:
        return RedirectResponse("/alerts", status_code=303)
    catalog = catalog_of(request)
    with catalog.session(form.user.workspace_id) as session:
        _, where = _target(session, scope, ident)
        if form.text("remove") == "on":
            write_policy(session.orm, catalog.secrets, form.user.workspace_id, None, **where)
            return RedirectResponse("/alerts", status_code=303)
        stored = read_policy(session.orm, catalog.secrets, **where)
        declared = declared_from(form, stored)
        errors = _unheard_recipient(form)
        if not errors and declared == (stored or {}):
            # Untouched: storing it again would give a sync without a policy an empty one.
            return RedirectResponse(f"/alerts/{scope}/{ident}?saved=1", status_code=303)
        try:
            allowed = request.app.state.settings.alert_allowed_hosts
            policy = AlertPolicy.parse(declared, allowed_hosts=allowed)
        except ValidationError as exc:
            errors = {**_form_errors(exc, declared, new_recipient(form)), **errors}
        if not errors:
            clean = policy.dump()
            write_policy(session.orm, catalog.secrets, form.user.workspace_id, clean, **where)
    if errors:
        values = {k: v for k, v in form.data.items() if isinstance(v, str)}
        return _policy_page(
            request, form.user, scope, ident, values=values, errors=errors, status_code=422
        )
    logger.info("alert policy of %s %s saved from the UI", scope, ident)
    return RedirectResponse(f"/alerts/{scope}/{ident}?saved=1", status_code=303)
