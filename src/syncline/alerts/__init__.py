"""Alerts: watch every finished run of a sync and tell people when a trigger changes state.

A sync is watched by four triggers: a failed run (always CRITICAL), rejected rows (always
on, WARNING by default), a slow run, and a drop in the model's row count. Policies set on
a destination are the default of its syncs, which may override them (``policy``). After
each run, :func:`notify_run_finished` evaluates the triggers (``triggers``), keeps their
states in the catalog and notifies recipients by webhook, Slack or e-mail (``channels``)
of changes only: a new alert, a change of level, and one notice when it is over.
"""

from __future__ import annotations

from syncline.alerts.notify import notify_run_finished
from syncline.alerts.policy import AlertLevel, AlertPolicy

__all__ = ["AlertLevel", "AlertPolicy", "notify_run_finished"]
