"""After a run ends: evaluate the sync's triggers, record their states, notify on changes.

Only a change of a trigger's state is notified (ok to warning or critical, a change of
level, and one notice when it is back to ok), never every run. The new states are
committed before anything is sent, in a short catalog session, so a slow or failing
recipient neither holds the catalog nor makes the same notice go out twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncline.alerts import store
from syncline.alerts.notice import Notice, RunSummary
from syncline.alerts.policy import (
    AlertLevel,
    AlertPolicy,
    EmailRecipient,
    SlackRecipient,
    WebhookRecipient,
)
from syncline.alerts.triggers import EVALUATED_STATUSES, Evaluation, RunFacts, evaluate
from syncline.catalog import Catalog
from syncline.catalog.tables import (
    AlertStateRecord,
    DestinationRecord,
    RunRecord,
    SyncRecord,
    WorkspaceRecord,
)
from syncline.catalog.types import utcnow

logger = logging.getLogger(__name__)

BUDGET_SECONDS = 20.0
"""How long one run's notices are waited for; recipients still unserved then are logged."""

AnyRecipient = WebhookRecipient | SlackRecipient | EmailRecipient

MAX_PARALLEL = 8
"""Deliveries of one run's notices at once, each to one recipient."""


def notify_run_finished(catalog: Catalog, run_id: int) -> None:
    """Evaluate the alert triggers of run ``run_id``'s sync and notify state changes.

    Never raises: whatever goes wrong is logged, because the run it reports on has
    already finished and must stay finished as it was.
    """
    try:
        notices, policy = _record_changes(catalog, run_id)
        if notices:
            _send(notices, policy)
    except Exception:  # noqa: BLE001 - alerts must never fail the worker that calls them
        logger.exception("alerts for run %s could not be evaluated or sent", run_id)


def _record_changes(catalog: Catalog, run_id: int) -> tuple[list[Notice], AlertPolicy]:
    with catalog.session() as session:
        orm = session.orm
        run = orm.get(RunRecord, run_id)
        if run is None or run.dry_run or run.status not in EVALUATED_STATUSES:
            return [], AlertPolicy()
        sync = orm.get_one(SyncRecord, run.sync_id)
        policy = store.effective_policy(orm, catalog.secrets, sync.destination_id, sync.id)
        evaluations = evaluate(policy, _facts(orm, run))
        changed = _apply(orm, sync.id, run.id, evaluations)
        if not changed:
            return [], policy

        destination = orm.get_one(DestinationRecord, sync.destination_id)
        workspace = orm.get_one(WorkspaceRecord, sync.workspace_id)
        summary = _summary(run)
        notices = [
            Notice(
                workspace=workspace.slug,
                sync_id=sync.id,
                sync_slug=sync.slug,
                destination_slug=destination.slug,
                trigger=evaluation.trigger.value,
                before=before,
                after=evaluation.level,
                reason=evaluation.reason,
                run=summary,
                at=utcnow(),
            )
            for evaluation, before in changed
        ]
    return notices, policy


def _apply(
    orm: Session, sync_id: int, run_id: int, evaluations: list[Evaluation]
) -> list[tuple[Evaluation, AlertLevel]]:
    """Store each trigger's new state; returns the changed ones with their old level."""
    states = store.trigger_states(orm, sync_id)
    changed = []
    for evaluation in evaluations:
        state = states.get(evaluation.trigger.value)
        if state is not None and int(state.details.get("runId", 0)) > run_id:
            # A later run of this sync was evaluated first; its word is the newer one.
            continue
        before = AlertLevel(state.state) if state is not None else AlertLevel.OK
        details = {"runId": run_id, "reason": evaluation.reason}
        if state is None:
            state = AlertStateRecord(
                sync_id=sync_id, trigger=evaluation.trigger.value, state=before.value
            )
            orm.add(state)
        state.details = details
        if evaluation.level != before:
            state.state = evaluation.level.value
            state.since = utcnow()
            state.notified_at = utcnow()
            changed.append((evaluation, before))
    orm.flush()
    return changed


def _facts(orm: Session, run: RunRecord) -> RunFacts:
    previous = orm.scalars(
        select(RunRecord.query_size)
        .where(
            RunRecord.sync_id == run.sync_id,
            RunRecord.id < run.id,
            RunRecord.status.in_(("success", "warning")),
            RunRecord.dry_run.is_(False),
            RunRecord.query_size.is_not(None),
        )
        .order_by(RunRecord.id.desc())
        .limit(1)
    ).first()
    summary = _summary(run)
    return RunFacts(
        status=run.status,
        planned=summary.planned,
        rejected=summary.rejected,
        seconds=summary.seconds,
        query_size=run.query_size,
        previous_query_size=previous,
    )


def _summary(run: RunRecord) -> RunSummary:
    seconds = None
    if run.started_at is not None and run.finished_at is not None:
        seconds = (run.finished_at - run.started_at).total_seconds()
    return RunSummary(
        run_id=run.id,
        status=run.status,
        planned=run.planned_added + run.planned_changed + run.planned_removed,
        rejected=run.failed_added + run.failed_changed + run.failed_removed,
        query_size=run.query_size,
        seconds=seconds,
        error=run.error if run.status == "failed" else None,  # a warning has no error
    )


def _send(notices: list[Notice], policy: AlertPolicy) -> None:
    recipients = policy.recipients or []
    if not recipients:
        # Alerts are opt-in: a sync without recipients keeps its states quietly (INFO, not
        # WARNING, so that `syncline run` does not print it after every failure).
        for notice in notices:
            logger.info(
                "sync %s: %s is now %s; no alert recipient is set (add recipients "
                "under alerts on its destination or the sync to be told)",
                notice.sync_slug,
                notice.trigger,
                notice.after.value,
                extra={"sync_id": notice.sync_id, "run_id": notice.run.run_id},
            )
        return

    # The channels (httpx, smtplib) are loaded only once there is someone to tell.
    from syncline.alerts.channels import deliver, describe_recipient

    # Recipients side by side, so one that hangs costs its own timeouts, not everyone's;
    # each recipient's notices in order, so it hears of a recovery after the alarm.
    wanted = [
        (recipient, [n for n in notices if recipient.wants(n.before, n.after)])
        for recipient in recipients
    ]
    wanted = [(recipient, told) for recipient, told in wanted if told]
    if not wanted:
        return
    pool = ThreadPoolExecutor(
        max_workers=min(len(wanted), MAX_PARALLEL), thread_name_prefix="alert"
    )
    pending = {pool.submit(_deliver_each, deliver, told, recipient): (recipient, told)
               for recipient, told in wanted}  # fmt: skip
    _, late = wait(pending, timeout=BUDGET_SECONDS)
    # Late deliveries go on until their own timeouts end them; nobody waits for them.
    pool.shutdown(wait=False, cancel_futures=True)
    if late:
        notice = notices[0]
        missed = sorted(
            f"{describe_recipient(pending[future][0])} "
            f"({', '.join(n.trigger for n in pending[future][1])})"
            for future in late
        )
        logger.warning(
            "sync %s: alert delivery of run %s took over %.0f s; these recipients may have "
            "missed the notice: %s (check that they are reachable)",
            notice.sync_slug,
            notice.run.run_id,
            BUDGET_SECONDS,
            "; ".join(missed),
            extra={"sync_id": notice.sync_id, "run_id": notice.run.run_id},
        )


def _deliver_each(
    deliver: Callable[[Notice, AnyRecipient], bool],
    notices: list[Notice],
    recipient: AnyRecipient,
) -> None:
    """Send ``notices`` to one recipient in order; ``deliver`` logs each failure."""
    for notice in notices:
        deliver(notice, recipient)
