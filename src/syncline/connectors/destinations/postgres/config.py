"""Configuration of the PostgreSQL destination."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from syncline.connectors.destinations.base import DestinationConfig


class PostgresDestinationConfig(DestinationConfig):
    """Where the PostgreSQL destination connects, and the schema tables default to."""

    identity_fields: ClassVar[tuple[str, ...]] = ("host", "port", "database", "schema")
    max_batch_rows: ClassVar[int] = 50_000
    max_concurrency: ClassVar[int] = 4

    host: str = "127.0.0.1"
    """Server host name or address."""
    port: int = Field(default=5432, ge=1, le=65535)
    """Server port; a numeric string is accepted."""
    user: str = "postgres"
    """Role to connect as; it needs INSERT, UPDATE and DELETE on the tables it writes."""
    database: str = Field(min_length=1)
    """Database holding the tables."""
    password: SecretStr | None = None
    """Password of ``user``; stored encrypted, never shown."""
    schema_: str = Field(default="public", alias="schema", min_length=1)
    """Schema of a table named without one in a sync's ``object``."""
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    """libpq SSL mode."""
    connect_timeout: int = Field(default=10, ge=1)
    """Seconds to wait for a connection."""
