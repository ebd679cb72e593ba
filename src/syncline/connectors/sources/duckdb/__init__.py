"""DuckDB source: a local .duckdb file, or an in-memory database reading Parquet and CSV."""

from syncline.connectors.sources.duckdb.client import DuckDBSource
from syncline.connectors.sources.duckdb.config import DuckDBConfig

__all__ = ["DuckDBConfig", "DuckDBSource"]
