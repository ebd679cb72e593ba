"""DuckDB tables as a destination: the batch registered as an Arrow view, set-based SQL."""

from syncline.connectors.destinations.duckdb.client import DuckDBDestination
from syncline.connectors.destinations.duckdb.config import DuckDBDestinationConfig

__all__ = ["DuckDBDestination", "DuckDBDestinationConfig"]
