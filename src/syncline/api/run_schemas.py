"""Bodies of the run endpoints: SyncRun, the trigger's input and output, row results.

Field names and types are those of API.md sections 4.4 and 4.5; responses are built
by :mod:`syncline.catalog.shapes` and checked against these models on the way out.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from syncline.api.schemas import Page, Strict, Timestamp


class SyncRunStatus(StrEnum):
    """The status of a run (API.md 4.2)."""

    cancelled = "cancelled"
    failed = "failed"
    queued = "queued"
    success = "success"
    warning = "warning"
    querying = "querying"
    processing = "processing"
    reporting = "reporting"
    interrupted = "interrupted"


class RowCounts(Strict):
    """Rows of a run by operation."""

    addedCount: int  # noqa: N815 - the API's field name
    changedCount: int  # noqa: N815
    removedCount: int  # noqa: N815


def _zero_until_known(size: object) -> object:
    # The catalog stores no size until the query has returned (queued runs, runs
    # cancelled or failed before it); API.md 4.4 makes querySize a required number.
    return 0 if size is None else size


class SyncRun(Strict):
    """One run of a sync (API.md 4.4); times not known yet are null (API.md 9.1), and
    ``querySize`` is 0 until the model's query has returned."""

    id: int
    createdAt: Timestamp  # noqa: N815
    startedAt: Timestamp | None  # noqa: N815
    finishedAt: Timestamp | None  # noqa: N815
    querySize: Annotated[int, BeforeValidator(_zero_until_known)]  # noqa: N815
    status: SyncRunStatus
    completionRatio: float  # noqa: N815
    plannedRows: RowCounts  # noqa: N815
    successfulRows: RowCounts  # noqa: N815
    failedRows: RowCounts  # noqa: N815
    error: str | None = None


class RunOrderBy(StrEnum):
    """How runs can be sorted (ascending; runs whose time is unknown come last)."""

    id = "id"
    createdAt = "createdAt"  # noqa: N815 - the API's value
    startedAt = "startedAt"  # noqa: N815
    finishedAt = "finishedAt"  # noqa: N815


class TriggerRunInput(BaseModel):
    """The flags of a trigger (API.md 4.5); unknown keys are tolerated, as Hightouch does.

    Only documents the body: the routes read JSON and form bodies themselves, because
    form fields arrive as the strings ``"true"`` and ``"false"``.
    """

    model_config = ConfigDict(extra="allow")

    fullResync: bool = False  # noqa: N815
    """Send every row of the model, ignoring what earlier runs synced."""
    resetCDC: bool = False  # noqa: N815
    """Take the model's current rows as synced, without sending anything."""
    clearAndFill: bool = False  # noqa: N815
    """Empty the destination object, then send every row (table destinations)."""
    dryRun: bool = False  # noqa: N815
    """Syncline's addition: plan and count the run, but write and commit nothing."""


class TriggerRunCustomInput(TriggerRunInput):
    """A trigger naming its sync by id (a string of digits) or by slug."""

    syncId: str | None = None  # noqa: N815
    syncSlug: str | None = None  # noqa: N815


class TriggerRunOutput(Strict):
    """The id of the run a trigger queued, as a string (API.md 4.5)."""

    id: str


class RowResult(Strict):
    """The fate of one row in one run (API.md 9.3)."""

    primaryKey: str  # noqa: N815
    operation: str
    status: str
    reason: str | None
    attempts: int
    payload: Any = None
    runId: int  # noqa: N815
    createdAt: Timestamp  # noqa: N815


class SucceededRowsKept(Strict):
    """How many of a run's succeeded rows are kept to list, of how many (``op`` applied)."""

    kept: int
    total: int
    """Succeeded rows of the run, as its ``successfulRows`` counts them."""
    limitPerRun: int | None  # noqa: N815
    """The most the run kept (``SYNCLINE_SUCCEEDED_ROWS_PER_RUN`` when it ran); null for
    runs from before the limit."""
    truncated: bool
    """True when the run had more succeeded rows than are kept: beyond the limit, or
    pruned with the run's other row results after the retention period."""


class RowResultPage(Page[RowResult]):
    """One page of a run's row results, and how complete its succeeded rows are."""

    succeededRows: SucceededRowsKept  # noqa: N815
