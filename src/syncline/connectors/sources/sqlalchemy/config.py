"""Configuration of the SQLAlchemy source."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from syncline.connectors.config import ConnectorConfig


class SQLAlchemyConfig(ConnectorConfig):
    """Which database to reach, as one SQLAlchemy URL."""

    url: SecretStr
    """A SQLAlchemy database URL, e.g. ``postgresql+psycopg://user:pw@host/db``; it is a
    secret because it usually carries the password. The dialect's driver must be installed."""

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: SecretStr) -> SecretStr:
        """Refuse a URL that lets MySQL or MariaDB read files of the Syncline server.

        The messages never quote the URL, which may hold a password. A URL SQLAlchemy
        cannot parse at all is left to the connection test, which names the fix.
        """
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        from syncline.connectors.sources.sqlalchemy.mysql_session import client_file_options

        try:
            url = make_url(value.get_secret_value())
        except ArgumentError:
            return value
        refused = client_file_options(url)
        if refused:
            raise ValueError(
                f"the URL option(s) {', '.join(refused)} would let the database server read "
                "files of the Syncline server; remove them from the URL"
            )
        return value
