"""PostgreSQL source: queries streamed as Arrow record batches through ADBC."""

from syncline.connectors.sources.postgres.client import PostgresSource
from syncline.connectors.sources.postgres.config import PostgresConfig

__all__ = ["PostgresConfig", "PostgresSource"]
