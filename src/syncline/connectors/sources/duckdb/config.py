"""Configuration of the DuckDB source."""

from __future__ import annotations

from pathlib import Path

from syncline.connectors.config import ConnectorConfig


class DuckDBConfig(ConnectorConfig):
    """Where the DuckDB database lives and how it is opened."""

    path: Path | None = None
    """A ``.duckdb`` file; absent means an empty in-memory database, for models that only
    read files, e.g. ``SELECT * FROM read_parquet('orders.parquet')``."""

    read_only: bool = True
    """Open the file read-only, so a model cannot change it and other readers can share it."""
