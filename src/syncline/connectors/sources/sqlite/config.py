"""Configuration of the SQLite source."""

from __future__ import annotations

from pathlib import Path

from syncline.connectors.config import ConnectorConfig


class SQLiteConfig(ConnectorConfig):
    """Which SQLite file models are queried on; it is always opened read-only."""

    path: Path
    """The SQLite database file; it must exist."""
