"""What a run reports while it moves: its stage, its counts, and every row's fate.

The engine knows nothing of where reports are kept. It calls a :class:`RunReporter`,
which the catalog implements to update the run record, and which tests can
implement in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class RunStatus(StrEnum):
    """Status of one sync run, in the API's spelling."""

    QUEUED = "queued"
    QUERYING = "querying"
    PROCESSING = "processing"
    REPORTING = "reporting"
    SUCCESS = "success"
    WARNING = "warning"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        """True once the run can no longer change."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        RunStatus.SUCCESS,
        RunStatus.WARNING,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.INTERRUPTED,
    }
)


class Operation(StrEnum):
    """How a row differs from the last acknowledged snapshot."""

    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


@dataclass
class RowCounts:
    """Rows split by operation, as in the API's plannedRows, successfulRows, failedRows."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed

    def of(self, operation: Operation) -> int:
        """The rows of one operation."""
        count: int = getattr(self, operation.value)
        return count

    def add(self, operation: Operation, count: int = 1) -> None:
        setattr(self, operation.value, self.of(operation) + count)

    def as_api(self) -> dict[str, int]:
        return {
            "addedCount": self.added,
            "changedCount": self.changed,
            "removedCount": self.removed,
        }


@dataclass
class RunProgress:
    """The counters of a run, updated as batches are acknowledged."""

    query_size: int | None = None
    skipped_null_keys: int = 0
    full_resync: bool = False
    """Whether the run sends every row as a full resync does: asked to, or because it
    found the destination's object gone (see :meth:`Destination.find_object`)."""
    model_columns: list[str] | None = None
    """The columns the model's query returned to the run, once known."""
    left_in_destination: int = 0
    """Records a full resync leaves in the destination although their rows left the model:
    the sync removes records, but a full resync processes no removals and forgets them."""
    planned: RowCounts = field(default_factory=RowCounts)
    successful: RowCounts = field(default_factory=RowCounts)
    failed: RowCounts = field(default_factory=RowCounts)
    succeeded_rows_limit: int | None = None
    """The most succeeded rows the run keeps for the user to list (0: none); those beyond
    it are only counted in :attr:`successful`. None where unknown (runs from before)."""

    @property
    def completion_ratio(self) -> float:
        """Operations attempted divided by operations planned (1 when nothing is planned)."""
        planned = self.planned.total
        if planned == 0:
            return 1.0
        return min(1.0, (self.successful.total + self.failed.total) / planned)


@dataclass(frozen=True)
class RejectedRow:
    """A row the destination rejected in this run, kept for the user and for the retry."""

    key: str
    operation: Operation
    reason: str
    attempts: int
    """How many runs have tried this row and failed, this one included."""
    payload: str | None = None
    """The record as sent, as JSON, so the user can see what the destination refused."""


@dataclass(frozen=True)
class SucceededRows:
    """Rows of one batch the destination acknowledged, kept so the user can list them.

    Columns rather than one object per row: a run may keep thousands of them.
    """

    operation: Operation
    keys: list[str]
    attempts: list[int]
    """How many runs have tried each row, this one included: above 1 for a row that
    the destination rejected before."""


@dataclass
class InterruptedOutcome:
    """What a killed run delivered by its snapshot journal, which its record may lack.

    A run journals each batch's outcome before it reports the batch's counts and
    rejected rows, and the two cannot commit together: a run killed in between leaves
    outcomes in the journal that its record never counted. The next run finds them
    before it folds the journal into the snapshot, and settles them on that record.
    """

    run_id: int
    """The run that wrote the journal."""
    successful: RowCounts = field(default_factory=RowCounts)
    """Every row the destination acknowledged in that run, by operation."""
    failed: RowCounts = field(default_factory=RowCounts)
    """Every row rejected in that run, by operation."""
    rejected: list[RejectedRow] = field(default_factory=list)
    """Those rejected rows; their payloads are not journaled, so they have none."""


class RunReporter(Protocol):
    """Receives a run's stage changes, progress and row outcomes as they happen."""

    def stage(self, status: RunStatus) -> None:
        """The run entered ``status`` (a non-terminal stage)."""

    def progress(self, progress: RunProgress) -> None:
        """Counters changed; called at most once per acknowledged batch."""

    def rejected(self, rows: list[RejectedRow]) -> None:
        """Rows of one batch the destination rejected."""

    def succeeded(self, rows: SucceededRows) -> None:
        """Rows of one batch the destination acknowledged, up to the run's limit; the
        batch's :meth:`progress` follows at once, so a reporter may store both together."""

    def settle_interrupted(self, outcome: InterruptedOutcome) -> None:
        """Make the record of the killed run ``outcome.run_id`` count what its journal
        holds: its successful and failed rows become ``outcome``'s, and rejected rows it
        had not recorded are added. Called before the run's planner folds that journal."""

    def cancel_requested(self) -> bool:
        """True when a user asked to cancel; the engine stops after the current batch."""
        ...
