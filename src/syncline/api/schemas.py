"""Request and response bodies of the resource endpoints, as API.md section 4 spells them.

Every body refuses keys it does not know (``additionalProperties: false`` in the
OpenAPI document). Responses are built by :mod:`syncline.catalog.shapes` and checked
against these models on the way out, so the document and the server cannot drift.
Ids are integers; numeric strings are accepted on input (API.md 1).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

MAX_ID = 2**31 - 1
"""The largest id the catalog's integer keys can hold."""

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A resource id in a request body."""

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
