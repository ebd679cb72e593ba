"""Bodies of the sync sequence endpoints (API.md 3.6, 4.6 and the additions of 9.3).

The trigger output and the status of a sequence run are Hightouch's shapes exactly;
the definition (SyncSequence) and the run list are Syncline's own additions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import Path
from pydantic import Field, StrictBool, field_validator

from syncline.api.run_schemas import SyncRunStatus
from syncline.api.schemas import Id, Strict, Text, Timestamp, refuse_null

# Only a length limit: an empty segment or a NUL cannot reach a route through a URL, so
# declaring them would describe requests no client can send.
SequenceRef = Annotated[str, Path(max_length=255)]
"""A sequence in the path: its id (a UUID) or its slug."""

SequenceRunId = Annotated[str, Path(max_length=64)]
"""A sequence run's id (a UUID) in the path."""


class StopOn(StrEnum):
    """What outcome of a step's sync run ends the sequence."""

    fatal = "fatal"
    fatal_or_rejected = "fatal_or_rejected"
    never = "never"


StopRule = Annotated[str, Field(json_schema_extra={"enum": [rule.value for rule in StopOn]})]
"""A stop rule: any text here, so the catalog reports a wrong one with the steps' other
problems (an unknown sync) at once; the schema still lists the rules."""


class SyncSequenceRequestStatus(StrEnum):
    """The status of a sequence run (API.md 4.6)."""

    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class SequenceStep(Strict):
    """One step: the sync it runs and the outcome that ends the sequence."""

    syncId: Id  # noqa: N815 - the API's field name
    stopOn: StopRule = StopOn.fatal  # noqa: N815


class SyncSequence(Strict):
    """A sequence definition: syncs run one after another."""

    id: str
    slug: str
    name: str
    workspaceId: int  # noqa: N815
    steps: list[SequenceStep]
    schedule: dict[str, Any] | None
    disabled: bool
    createdAt: Timestamp  # noqa: N815
    updatedAt: Timestamp  # noqa: N815


class SyncSequenceCreate(Strict):
    """A new sequence; the name defaults to the slug, the schedule to Manual (null)."""

    slug: Text
    name: Text | None = None
    steps: list[SequenceStep] = Field(min_length=1, max_length=100)
    schedule: dict[str, Any] | None = None
    disabled: StrictBool = False


class SyncSequenceUpdate(Strict):
    """Changes to a sequence; keys left out keep their values, ``schedule: null`` is Manual.

    The slug cannot change, as no other resource's can."""

    name: Text | None = None
    steps: list[SequenceStep] | None = Field(default=None, min_length=1, max_length=100)
    schedule: dict[str, Any] | None = None
    disabled: StrictBool | None = None

    _no_nulls = field_validator("name", "steps", "disabled", mode="before")(refuse_null)


class TriggerSequenceRunOutput(Strict):
    """The id of the queued (or already pending) sequence run."""

    id: str


class SequenceSyncRun(Strict):
    """One step's sync run inside a sequence run's status."""

    syncId: int  # noqa: N815
    syncRunId: int  # noqa: N815
    status: SyncRunStatus
    finishedAt: str | None  # noqa: N815


class SyncSequenceStatusOutput(Strict):
    """The status of a sequence run and the sync runs it started (API.md 4.6)."""

    id: str
    status: SyncSequenceRequestStatus
    syncRuns: list[SequenceSyncRun]  # noqa: N815


class SyncSequenceRun(SyncSequenceStatusOutput):
    """A sequence run in the run list: its status plus when it ran and why it stopped."""

    createdAt: Timestamp  # noqa: N815
    startedAt: Timestamp | None  # noqa: N815
    finishedAt: Timestamp | None  # noqa: N815
    triggeredBy: str  # noqa: N815
    error: str | None
