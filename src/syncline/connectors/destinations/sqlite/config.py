"""Configuration of the SQLite destination."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from syncline.connectors.destinations.base import DestinationConfig


class SQLiteDestinationConfig(DestinationConfig):
    """The SQLite database file the destination writes to."""

    identity_fields: ClassVar[tuple[str, ...]] = ("path",)

    path: str = Field(min_length=1)
    """Path of the database file; it is created when missing."""
    timeout: float = Field(default=5.0, ge=0)
    """Seconds to wait for another writer's lock before the batch is retried later."""
