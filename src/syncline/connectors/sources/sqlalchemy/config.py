"""Configuration of the SQLAlchemy source."""

from __future__ import annotations

from pydantic import SecretStr

from syncline.connectors.config import ConnectorConfig


class SQLAlchemyConfig(ConnectorConfig):
    """Which database to reach, as one SQLAlchemy URL."""

    url: SecretStr
    """A SQLAlchemy database URL, e.g. ``postgresql+psycopg://user:pw@host/db``; it is a
    secret because it usually carries the password. The dialect's driver must be installed."""
