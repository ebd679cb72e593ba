"""Request and response bodies of the resource endpoints, as API.md section 4 spells them.

Every body refuses keys it does not know (``additionalProperties: false`` in the
OpenAPI document). Responses are built by :mod:`syncline.catalog.shapes` and checked
against these models on the way out, so the document and the server cannot drift.
Ids are integers; numeric strings are accepted on input (API.md 1), booleans are not. Booleans are
JSON's ``true`` and ``false`` only (see :mod:`syncline.api.booleans`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

MAX_ID = 2**31 - 1
"""The largest id the catalog's integer keys can hold."""


def _no_boolean(value: Any) -> Any:
    """``value`` unless it is JSON's true or false, which pydantic would read as 1 or 0."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "expected an integer (or a string of digits)")
    return value


Id = Annotated[int, BeforeValidator(_no_boolean), Field(ge=1, le=MAX_ID)]
"""A resource id in a request body: an integer or a string of digits, never a boolean."""

NO_NUL = r"^[^\x00]*$"
"""Text PostgreSQL can store: anything but the NUL character."""

Text = Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL)]
"""A name, slug or type: at most 255 characters, no NUL; emptiness is checked with the rest."""

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A resource id in the path."""

TextFilter = Annotated[str | None, Query(max_length=255, pattern=NO_NUL)]
"""A name or slug filter of a list."""

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""An instant as the API writes it: ISO 8601 in UTC with milliseconds and ``Z``."""

T = TypeVar("T")


class Strict(BaseModel):
    """A body that refuses unknown keys."""

    model_config = ConfigDict(extra="forbid")


def refuse_null(value: Any, info: ValidationInfo) -> Any:
    """A changed field's value, which may not be null: a key left out keeps its value, so a
    null would otherwise be a change that silently changes nothing."""
    if value is None:
        raise PydanticCustomError(
            "null_refused",
            "{field} cannot be null; leave the key out to keep its value",
            {"field": info.field_name},
        )
    return value


class Page(Strict, Generic[T]):
    """One page of a list: the items, and whether more follow (API.md 3.1)."""

    data: list[T]
    hasMore: bool


class OrderBy(StrEnum):
    """How sources, destinations and models can be sorted (ascending)."""

    id = "id"
    name = "name"
    slug = "slug"
    createdAt = "createdAt"
    updatedAt = "updatedAt"


# -- sources and destinations ---------------------------------------------------------------


class Source(Strict):
    """A source (API.md 4.8); secret configuration fields are never returned."""

    id: int
    name: str
    slug: str
    workspaceId: int
    createdAt: Timestamp
    updatedAt: Timestamp
    configuration: dict[str, Any]
    type: str


class Destination(Source):
    """A destination (API.md 4.8): a source's fields plus the ids of the syncs writing to it."""

    syncs: list[int]


class ConnectionCreate(Strict):
    """A new source or destination; ``type`` is a connector name such as ``postgres``."""

    name: Text
    slug: Text
    type: Text
    configuration: dict[str, Any]


class ConnectionUpdate(Strict):
    """Changes to a source or destination; ``configuration`` is merged key by key."""

    name: Text | None = None
    configuration: dict[str, Any] | None = None

    _no_nulls = field_validator("name", "configuration", mode="before")(refuse_null)


# -- models ---------------------------------------------------------------------------------


class RawQuery(Strict):
    """The SQL of a ``raw_sql`` model."""

    sql: Annotated[str, StringConstraints(pattern=NO_NUL)]


class TableQuery(Strict):
    """The table of a ``table`` model (``schema.table`` allowed)."""

    name: Text


class Model(Strict):
    """A model (API.md 4.7); ``raw`` or ``table`` is present as ``queryType`` says."""

    id: int
    name: str
    slug: str
    description: str
    workspaceId: int
    primaryKey: str | None
    createdAt: Timestamp
    updatedAt: Timestamp
    sourceId: int
    queryType: str
    tags: dict[str, str]
    isSchema: bool
    syncs: list[int]
    lastRunSize: int | None
    raw: RawQuery | None = None
    table: TableQuery | None = None
    folderId: str | None = None


class ModelCreate(Strict):
    """A new model: ``raw_sql`` with ``raw.sql``, or ``table`` with ``table.name``."""

    name: Text
    slug: Text
    queryType: Text
    sourceId: Id
    isSchema: StrictBool
    primaryKey: Text | None
    raw: RawQuery | None = None
    table: TableQuery | None = None
    folderId: Text | None = None


class ModelUpdate(Strict):
    """Changes to a model; its query type, source and slug cannot change."""

    name: Text | None = None
    isSchema: StrictBool | None = None
    primaryKey: Text | None = None
    raw: RawQuery | None = None
    table: TableQuery | None = None
    folderId: Text | None = None

    _no_nulls = field_validator("name", "isSchema", "primaryKey", "raw", "table", mode="before")(
        refuse_null
    )


# -- syncs ----------------------------------------------------------------------------------


class SyncStatus(StrEnum):
    """A sync's overall status (API.md 4.2), in the spec's order."""

    disabled = "disabled"
    pending = "pending"
    cancelled = "cancelled"
    failed = "failed"
    queued = "queued"
    success = "success"
    warning = "warning"
    querying = "querying"
    processing = "processing"
    reporting = "reporting"
    interrupted = "interrupted"


class ScheduleType(StrEnum):
    """Schedule kinds as stored; ``dbt-cloud`` and ``dbtCloud`` are accepted as ``dbt``."""

    interval = "interval"
    cron = "cron"
    visual = "visual"
    dbt = "dbt"


class Schedule(Strict):
    """When a sync runs by itself (API.md 4.3, 9.1); null means Manual."""

    type: ScheduleType
    schedule: dict[str, Any]


class Sync(Strict):
    """A sync (API.md 4.1) plus ``nextRunAt``: when its schedule is next due (else null)."""

    id: int
    slug: str
    workspaceId: int
    createdAt: Timestamp
    updatedAt: Timestamp
    destinationId: int
    modelId: int
    configuration: dict[str, Any]
    schedule: Schedule | None
    status: SyncStatus
    disabled: bool
    lastRunAt: Timestamp | None
    referencedColumns: list[str]
    primaryKey: str
    externalSegment: dict[str, str]
    tags: dict[str, str]
    nextRunAt: Timestamp | None


class SyncCreate(Strict):
    """A new sync of a model to a destination; ``schedule: null`` makes it Manual."""

    slug: Text
    configuration: dict[str, Any]
    destinationId: Id
    modelId: Id
    schedule: dict[str, Any] | None
    disabled: StrictBool


class SyncUpdate(Strict):
    """Changes to a sync: only its configuration (merged key by key), schedule and switch."""

    configuration: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    disabled: StrictBool | None = None

    _no_nulls = field_validator("configuration", "disabled", mode="before")(refuse_null)


class SyncOrderBy(StrEnum):
    """How syncs can be sorted; a sync has no name, so ``name`` sorts by slug."""

    id = "id"
    name = "name"
    slug = "slug"
    createdAt = "createdAt"
    updatedAt = "updatedAt"


# -- looking at sources, destinations and models ------------------------------------------------


class ConnectionTestResult(Strict):
    """A connection test's outcome; ``message`` says why it failed and never holds a secret."""

    success: bool
    message: str | None = None


class ColumnShape(Strict):
    """A column of a model's query, with the source's own type name."""

    name: str
    type: str


class ModelPreview(Strict):
    """A model's columns and its first rows, each row's values in column order.

    Values are JSON-safe: decimals, times and durations are text (ISO 8601 for times),
    bytes are base64, NaN and infinities are their names.
    """

    columns: list[ColumnShape]
    rows: list[list[Any]]
