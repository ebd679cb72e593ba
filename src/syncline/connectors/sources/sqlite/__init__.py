"""SQLite source: a local database file read with the standard library's sqlite3."""

from syncline.connectors.sources.sqlite.client import SQLiteSource
from syncline.connectors.sources.sqlite.config import SQLiteConfig

__all__ = ["SQLiteConfig", "SQLiteSource"]
