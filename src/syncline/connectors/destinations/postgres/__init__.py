"""PostgreSQL tables as a destination: COPY into staging, then one statement per action."""

from syncline.connectors.destinations.postgres.client import PostgresDestination
from syncline.connectors.destinations.postgres.config import PostgresDestinationConfig

__all__ = ["PostgresDestination", "PostgresDestinationConfig"]
