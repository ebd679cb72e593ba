"""What one trigger's change of state tells people: a title, a text and a JSON body.

A notice names the sync, the run, the trigger, the old and new state and a short reason,
with the run's counts and its stored error (secrets masked when it was stored); it never
carries row values, links or credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncline.alerts.policy import AlertLevel


@dataclass(frozen=True)
class RunSummary:
    """The counts of the run that changed a trigger's state."""

    run_id: int
    status: str
    planned: int
    rejected: int
    query_size: int | None
    seconds: float | None
    error: str | None = None
    """The run's stored error, secrets already masked; None when it ended without one."""

    def describe(self) -> str:
        """One sentence, e.g. ``Run 12 ended warning: 3 of 40 planned rows rejected; ...``."""
        parts = [f"{self.rejected} of {self.planned} planned rows rejected"]
        if self.query_size is not None:
            parts.append(f"the model returned {self.query_size} rows")
        if self.seconds is not None:
            parts.append(f"it took {self.seconds:.1f} s")
        return f"Run {self.run_id} ended {self.status}: {'; '.join(parts)}."


@dataclass(frozen=True)
class Notice:
    """One trigger of one sync changed state after one run."""

    workspace: str
    sync_id: int
    sync_slug: str
    destination_slug: str
    trigger: str
    before: AlertLevel
    after: AlertLevel
    reason: str
    run: RunSummary
    at: datetime

    @property
    def recovered(self) -> bool:
        """True when the trigger went back to ok."""
        return self.after == AlertLevel.OK

    @property
    def title(self) -> str:
        """A subject line, e.g. ``[CRITICAL] sync 'orders': failedRun``."""
        label = "RECOVERED" if self.recovered else self.after.value.upper()
        return f"[{label}] Syncline sync {self.sync_slug!r}: {self.trigger}"

    @property
    def text(self) -> str:
        """The notice as plain text lines, for chat and e-mail."""
        if self.recovered:
            headline = f"{self.trigger} is back to ok (was {self.before.value})"
        else:
            headline = f"{self.trigger} is now {self.after.value} (was {self.before.value})"
        return "\n".join(
            [
                f"Sync {self.sync_slug!r} (id {self.sync_id}) into destination "
                f"{self.destination_slug!r}, workspace {self.workspace!r}: {headline}.",
                f"Reason: {self.reason}.",
                self.run.describe(),
                *([f"Error: {_shortened(self.run.error)}"] if self.run.error else []),
                f"Details: syncline runs {self.sync_slug}",
            ]
        )

    def payload(self) -> dict[str, Any]:
        """The JSON body a webhook recipient receives."""
        return {
            "event": "alert.recovered" if self.recovered else "alert.raised",
            "workspace": self.workspace,
            "sync": {"id": self.sync_id, "slug": self.sync_slug},
            "destination": {"slug": self.destination_slug},
            "trigger": self.trigger,
            "state": self.after.value,
            "previousState": self.before.value,
            "reason": self.reason,
            "run": {
                "id": self.run.run_id,
                "status": self.run.status,
                "plannedRows": self.run.planned,
                "rejectedRows": self.run.rejected,
                "querySize": self.run.query_size,
                "durationSeconds": self.run.seconds,
                "error": _shortened(self.run.error) if self.run.error else None,
            },
            "at": self.at.isoformat(),
            "text": self.text,
        }


ERROR_LENGTH = 1000
"""At most this many characters of a run's error go into a notice."""


def _shortened(error: str) -> str:
    """The error on one line, cut to :data:`ERROR_LENGTH` characters."""
    line = " ".join(error.split())
    return line if len(line) <= ERROR_LENGTH else f"{line[: ERROR_LENGTH - 3]}..."
