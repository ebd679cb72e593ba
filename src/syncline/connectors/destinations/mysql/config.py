"""Configuration of the MySQL / MariaDB destination."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from syncline.connectors.destinations.base import DestinationConfig


class MySQLDestinationConfig(DestinationConfig):
    """Where the MySQL / MariaDB destination connects."""

    identity_fields: ClassVar[tuple[str, ...]] = ("host", "port", "database")

    host: str = "127.0.0.1"
    """Server host name or address."""
    port: int = Field(default=3306, ge=1, le=65535)
    """Server port; a numeric string is accepted."""
    user: str = "root"
    """User to connect as; it needs INSERT, UPDATE, DELETE and CREATE TEMPORARY TABLES."""
    password: SecretStr | None = None
    """Password of ``user``; stored encrypted, never shown."""
    database: str = Field(min_length=1)
    """Database of a table named without one in a sync's ``object``."""
    connect_timeout: int = Field(default=10, ge=1)
    """Seconds to wait for a connection."""
