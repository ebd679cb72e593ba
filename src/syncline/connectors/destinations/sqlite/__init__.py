"""SQLite tables as a destination: a staging table, then set-based statements."""

from syncline.connectors.destinations.sqlite.client import SQLiteDestination
from syncline.connectors.destinations.sqlite.config import SQLiteDestinationConfig

__all__ = ["SQLiteDestination", "SQLiteDestinationConfig"]
