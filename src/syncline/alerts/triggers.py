"""Evaluate a finished run against a policy's triggers: one level and reason per trigger.

This is a pure function of the run's numbers, so every threshold is easy to test. A
failed run says nothing reliable about its rows, speed or size, so only the
failed-run trigger is evaluated for it; the others keep their state until a run
finishes. Cancelled and interrupted runs are not evaluated at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from syncline.alerts.policy import AlertLevel, AlertPolicy, RejectedRowsTrigger


class Trigger(StrEnum):
    """The triggers a sync is watched by, as stored in its alert states."""

    FAILED_RUN = "failedRun"
    REJECTED_ROWS = "rejectedRows"
    SLOW_RUN = "slowRun"
    ROW_COUNT_DROP = "rowCountDrop"


EVALUATED_STATUSES = ("success", "warning", "failed")
"""Run statuses that say something about the sync; others leave every trigger as it is."""

_NOT_WATCHED = "this trigger is turned off in the alert policy"


@dataclass(frozen=True)
class RunFacts:
    """The numbers of one finished run that triggers look at (never its rows)."""

    status: str
    planned: int
    """Rows the run planned to add, change or remove."""
    rejected: int
    """Rows the destination rejected."""
    seconds: float | None
    """From start to finish; None when the run never started."""
    query_size: int | None
    """Rows the model returned."""
    previous_query_size: int | None
    """Rows the model returned in the last successful run before this one."""


@dataclass(frozen=True)
class Evaluation:
    """The level one trigger is at after a run, and why."""

    trigger: Trigger
    level: AlertLevel
    reason: str


def evaluate(policy: AlertPolicy, run: RunFacts) -> list[Evaluation]:
    """Every trigger that this run says something about, with its new level."""
    if run.status not in EVALUATED_STATUSES:
        return []
    if run.status == "failed":
        return [Evaluation(Trigger.FAILED_RUN, AlertLevel.CRITICAL, "the run failed")]

    triggers = policy.triggers
    evaluations = [
        Evaluation(Trigger.FAILED_RUN, AlertLevel.OK, f"the run ended with {run.status}"),
        _rejected_rows(triggers.rejected_rows or RejectedRowsTrigger(), run),
    ]
    if triggers.slow_run is None:
        # A trigger turned off while raised must still be seen to end.
        evaluations.append(Evaluation(Trigger.SLOW_RUN, AlertLevel.OK, _NOT_WATCHED))
    elif run.seconds is not None:
        limit = triggers.slow_run.after
        slow = run.seconds > limit
        level = AlertLevel(triggers.slow_run.level) if slow else AlertLevel.OK
        reason = f"the run took {_duration(run.seconds)} (limit {_duration(limit)})"
        evaluations.append(Evaluation(Trigger.SLOW_RUN, level, reason))
    if triggers.row_count_drop is None:
        evaluations.append(Evaluation(Trigger.ROW_COUNT_DROP, AlertLevel.OK, _NOT_WATCHED))
    else:
        drop = triggers.row_count_drop
        evaluations.append(_row_count_drop(drop.share, AlertLevel(drop.level), run))
    return evaluations


def _rejected_rows(trigger: RejectedRowsTrigger, run: RunFacts) -> Evaluation:
    share = run.rejected / run.planned if run.planned else 0.0
    over_count = trigger.count is not None and run.rejected > trigger.count
    over_share = trigger.share is not None and share > trigger.share
    if trigger.count is None and trigger.share is None:
        over_count = run.rejected > 0

    limits = []
    if trigger.count is not None or trigger.share is None:
        limits.append(f"more than {trigger.count or 0}")
    if trigger.share is not None:
        limits.append(f"more than {trigger.share:.1%} of planned rows")
    reason = (
        f"{run.rejected} of {run.planned} planned rows rejected ({share:.1%}); "
        f"alert at {' or '.join(limits)}"
    )
    level = AlertLevel(trigger.level) if over_count or over_share else AlertLevel.OK
    return Evaluation(Trigger.REJECTED_ROWS, level, reason)


def _row_count_drop(share: float, level: AlertLevel, run: RunFacts) -> Evaluation:
    before, now = run.previous_query_size, run.query_size
    if not before or now is None:
        reason = "no earlier successful run to compare the model's row count with"
        return Evaluation(Trigger.ROW_COUNT_DROP, AlertLevel.OK, reason)

    dropped = (before - now) / before
    reason = (
        f"the model returned {now} rows, {before} in the last successful run "
        f"({-dropped:+.1%}); alert at a drop of more than {share:.1%}"
    )
    return Evaluation(Trigger.ROW_COUNT_DROP, level if dropped > share else AlertLevel.OK, reason)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
