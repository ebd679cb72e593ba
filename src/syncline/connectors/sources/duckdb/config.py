"""Configuration of the DuckDB source."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from syncline.connectors.config import ConnectorConfig


class DuckDBConfig(ConnectorConfig):
    """Where the DuckDB database lives and how it is opened."""

    path: Path | None = None
    """A ``.duckdb`` file; absent means an empty in-memory database, for models that only
    read files, e.g. ``SELECT * FROM read_parquet('orders.parquet')``."""

    read_only: bool = True
    """Open the file read-only, so a model cannot change it and other readers can share it."""

    planner: Literal["local", "warehouse"] = "local"
    """Where syncs of this source keep their snapshots and compute their diffs: ``local``
    (a file beside the worker) or ``warehouse`` (tables in ``plannerSchema`` of ``path``,
    which the planner then opens for writing)."""

    planner_schema: str = Field(default="syncline_planner", alias="plannerSchema", min_length=1)
    """Schema of the warehouse planner's tables; created when missing."""

    @model_validator(mode="after")
    def _warehouse_planner_needs_a_file(self) -> DuckDBConfig:
        """The warehouse planner keeps its tables in ``path``: refuse it without one at
        validation, rather than at the first run."""
        if self.planner == "warehouse" and self.path is None:
            raise ValueError(
                "'planner: warehouse' keeps the planner's tables in the database file, and "
                "this source has no 'path'; set one or use 'planner: local'"
            )
        return self
