"""What a finished run did that its counts do not say, in a sentence for a person.

A CDC reset sends nothing and takes the model's current rows as synced, so the rows that
earlier runs rejected are no longer retried: the run keeps how many
(:attr:`~syncline.catalog.tables.RunRecord.rejected_given_up`), and the command line
and the web UI say so. The API's ``error`` stays empty for such a run: it succeeded.
"""

from __future__ import annotations

from typing import Protocol


class _ResetRun(Protocol):
    reset_cdc: bool
    dry_run: bool
    status: str
    rejected_given_up: int


def reset_note(run: _ResetRun) -> str | None:
    """The note of a CDC reset that succeeded; None for any other run."""
    if not run.reset_cdc or run.status != "success":
        return None
    given_up = run.rejected_given_up or 0
    if run.dry_run:
        return (
            "CDC reset (dry run): nothing was sent or changed; a real reset would take the "
            f"model's current rows as synced, and {_rows(given_up)} of earlier runs would no "
            "longer be retried"
        )
    note = "CDC reset: the model's current rows were taken as synced and nothing was sent"
    if given_up == 0:
        return note
    return (
        f"{note}; {_rows(given_up)} of earlier runs are no longer retried (they are listed "
        "by the runs that rejected them; change a row in the model, or run a full resync, "
        "to send it again)"
    )


def _rows(count: int) -> str:
    return f"{count} rejected row" if count == 1 else f"{count} rejected rows"
