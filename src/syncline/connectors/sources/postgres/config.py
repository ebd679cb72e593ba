"""Configuration of the PostgreSQL source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from syncline.connectors.config import ConnectorConfig

MAX_NAME_BYTES = 63
"""The longest name PostgreSQL keeps whole; it silently drops the bytes beyond."""

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

    two_pass_reads: bool = Field(default=True, alias="twoPassReads")
    """Whether an incremental run of the local planner reads each model row's key and a
    hash the server computes over its values first, then only the rows whose hash
    changed, both in one repeatable-read transaction. Turn it off for a model whose query
    returns other rows each time it runs (``random()``, ``LIMIT`` without ``ORDER BY``)."""

    @field_validator("schema_name", "planner_schema")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """Refuse control characters (tab, newline ...), which no schema name needs."""
        if value is not None and any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise ValueError("must not hold control characters such as tabs or newlines")
        return value

    @field_validator("planner_schema")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        """Refuse names PostgreSQL keeps for its own schemas, which it would not create,
        and names it would cut short: it would create the schema under the first
        :data:`MAX_NAME_BYTES` bytes, then find none by the whole name."""
        if value.startswith("pg_"):
            raise ValueError(
                "names starting with 'pg_' are reserved by PostgreSQL for its own schemas; "
                "choose another name"
            )
        size = len(value.encode("utf-8"))
        if size > MAX_NAME_BYTES:
            raise ValueError(
                f"is {size} bytes long, and PostgreSQL keeps only the first {MAX_NAME_BYTES} "
                f"bytes of a schema name; choose a name of at most {MAX_NAME_BYTES} bytes"
            )
        return value

    def conninfo(self, *, read_only: bool = True, repeatable: bool = False) -> str:
        """The libpq connection string, password included: hand it to the driver only.

        Only the warehouse planner's own session asks for ``read_only=False``: it writes
        to its schema, never to the model's tables. ``repeatable`` makes its transactions
        repeatable reads, so that every query of one sees the same rows.
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
        # Floats the server prints (inside composites read as JSON, arrays read as text,
        # the warehouse planner's canonical text) keep every digit, whatever the database
        # or role sets: from PostgreSQL 12 on, any value above 0 prints the shortest text
        # that reads back as the same float.
        options.append("-c extra_float_digits=3")
        if repeatable:
            options.append(f"-c default_transaction_isolation={_option_value('repeatable read')}")
        if self.schema_name is not None:
            options.append(f"-c search_path={_option_value(self.schema_name)}")
        params["options"] = " ".join(options)
        return " ".join(f"{key}={_quote(value)}" for key, value in params.items())


def _option_value(value: str) -> str:
    """``value`` as one word of libpq's ``options``, which PostgreSQL splits on any
    whitespace unless a backslash escapes it: every whitespace character and backslash
    is escaped, so that a value can never add a setting of its own."""
    return "".join("\\" + char if char == "\\" or char.isspace() else char for char in value)


def _quote(value: str) -> str:
    """A libpq connection-string value, quoted so spaces and quotes survive."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
