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
        """Refuse a URL whose host or port cannot be read, or that lets MySQL read files.

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
        except ValueError:
            raise ValueError(
                "the URL's host or port cannot be read; write it as "
                "dialect+driver://user:password@host:port/database, with a numeric port "
                "and an IPv6 host in brackets, e.g. [::1]"
            ) from None
        refused = client_file_options(url)
        if refused:
            raise ValueError(
                f"the URL option(s) {', '.join(refused)} would let the database server read "
                "files of the Syncline server; remove them from the URL"
            )
        return value
