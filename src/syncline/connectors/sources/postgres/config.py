"""Configuration of the PostgreSQL source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from syncline.connectors.config import ConnectorConfig

PlannerKind = Literal["local", "warehouse"]

SSLMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresConfig(ConnectorConfig):
    """How to reach the PostgreSQL database that models are queried on."""

    host: str
    """Server host name or IP address."""

    port: int = Field(default=5432, ge=1, le=65535)
    """Server port; a numeric string is accepted too."""

    user: str
    """Role to log in as; it only needs to read the tables that models use."""

    database: str
    """Database to connect to."""

    password: SecretStr | None = None
    """Password of ``user``; leave out for trust or peer authentication."""

    schema_name: str | None = Field(default=None, alias="schema")
    """Schema that unqualified table names resolve to (the session's ``search_path``)."""

    sslmode: SSLMode | None = None
    """libpq's ``sslmode``; libpq's default (``prefer``) when absent."""

    planner: PlannerKind = "local"
    """Where syncs of this source keep their snapshots and compute their diffs: ``local``
    (a file beside the worker) or ``warehouse`` (tables in ``plannerSchema``, so that
    only changed rows leave the database)."""

    planner_schema: str = Field(default="syncline_planner", alias="plannerSchema", min_length=1)
    """Schema of the warehouse planner's tables; created when missing."""

    def conninfo(self, *, read_only: bool = True) -> str:
        """The libpq connection string, password included: hand it to the driver only.

        Only the warehouse planner's own session asks for ``read_only=False``: it writes
        to its schema, never to the model's tables.
        """
        params: dict[str, str] = {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "dbname": self.database,
            "application_name": "syncline",
            "connect_timeout": "10",
        }
        if self.password is not None:
            params["password"] = self.password.get_secret_value()
        if self.sslmode is not None:
            params["sslmode"] = self.sslmode
        # Every transaction of a source session is read-only, so neither a model's query
        # nor its column check can change the warehouse.
        options = ["-c default_transaction_read_only=on"] if read_only else []
        if self.schema_name is not None:
            # libpq splits ``options`` on spaces unless they are escaped with a backslash.
            escaped = self.schema_name.replace("\\", "\\\\").replace(" ", "\\ ")
            options.append(f"-c search_path={escaped}")
        params["options"] = " ".join(options)
        return " ".join(f"{key}={_quote(value)}" for key, value in params.items())


def _quote(value: str) -> str:
    """A libpq connection-string value, quoted so spaces and quotes survive."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
