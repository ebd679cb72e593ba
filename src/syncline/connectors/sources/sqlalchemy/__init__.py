"""SQLAlchemy source: any database with a SQLAlchemy dialect, as a fallback."""

from syncline.connectors.sources.sqlalchemy.client import SQLAlchemySource
from syncline.connectors.sources.sqlalchemy.config import SQLAlchemyConfig

__all__ = ["SQLAlchemyConfig", "SQLAlchemySource"]
