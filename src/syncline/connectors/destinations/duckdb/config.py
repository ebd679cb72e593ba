"""Configuration of the DuckDB destination."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from syncline.connectors.destinations.base import DestinationConfig


class DuckDBDestinationConfig(DestinationConfig):
    """The DuckDB database file the destination writes to."""

    identity_fields: ClassVar[tuple[str, ...]] = ("path",)

    path: str = Field(min_length=1)
    """Path of the database file; it is created when missing."""
