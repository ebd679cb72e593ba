"""The contract every source implements: test, describe a query, read it as Arrow batches."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

import pyarrow as pa

from syncline.connectors.config import ConnectorConfig
from syncline.connectors.redaction import guard

logger = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 65_536
"""Rows per Arrow record batch read from a source, unless the caller asks otherwise."""

LOGICAL_TYPE_KEY = b"syncline.logical"
"""Arrow field metadata key naming a logical type that the Arrow type alone does not show."""

JSON_LOGICAL = b"json"
"""Logical type of a string column holding JSON text: the engine compares it as JSON."""


DECIMAL_LOGICAL = b"decimal"
"""Logical type of a string column holding exact decimal text (``10.50``, ``-7``, ``NaN``)
whose precision no Arrow decimal type holds: the engine compares it as a number."""


def json_field(name: str, *, nullable: bool = True) -> pa.Field:
    """An Arrow string field marked as holding JSON text."""
    return pa.field(name, pa.string(), nullable=nullable, metadata={LOGICAL_TYPE_KEY: JSON_LOGICAL})


def is_json_field(field: pa.Field) -> bool:
    """Whether ``field`` is marked as holding JSON text."""
    return bool(field.metadata) and field.metadata.get(LOGICAL_TYPE_KEY) == JSON_LOGICAL


def decimal_field(name: str, *, nullable: bool = True) -> pa.Field:
    """An Arrow string field marked as holding exact decimal text."""
    return pa.field(
        name, pa.string(), nullable=nullable, metadata={LOGICAL_TYPE_KEY: DECIMAL_LOGICAL}
    )


def is_decimal_field(field: pa.Field) -> bool:
    """Whether ``field`` is marked as holding exact decimal text."""
    return bool(field.metadata) and field.metadata.get(LOGICAL_TYPE_KEY) == DECIMAL_LOGICAL


READ_AS_TEXT = "text"
"""Read as the source prints each value, not as the driver's binary form of it."""

READ_AS_TEXT_ARRAY = "text[]"
"""An array read with each element as the source prints it (see :data:`READ_AS_TEXT`)."""

READ_AS_JSON = "json"
"""A composite value read as its JSON object, not as the driver's struct."""

READ_AS_WIDE_DECIMAL = "decimal text"
"""A 128-bit integer read as exact decimal text, not as ``decimal128(38, 0)``, which
altered the values of 39 digits and held the others exactly."""


ROW_HASH_COLUMN = "_sl_row_hash"
"""The ``int64`` column a :class:`TwoPassReader`'s reads add after the model's columns
when asked for row hashes."""


class TwoPassReader(Protocol):
    """A model read in one or two passes, every pass seeing the same rows.

    A source offers one when its server can hash rows itself and find them by key: an
    incremental run then reads only each row's key and hash (the first pass) and, whole,
    the rows whose hash does not vouch for their snapshot entry (the second).
    """

    schema: pa.Schema
    """The model's columns, as :meth:`Source.read` yields them."""

    def row_hash(self, columns: Sequence[str], signature: str) -> str:
        """The server's expression of the row hash over ``columns``, seeded by
        ``signature``: equal hashes must mean equal values, as read, but for a collision
        of 64-bit hashes."""

    def fetchable(self, key: str) -> bool:
        """Whether rows can be found by ``key`` without running the model whole."""

    def read(self, row_hash: str | None = None) -> Iterator[pa.RecordBatch]:
        """Every row, with :data:`ROW_HASH_COLUMN` when ``row_hash`` is given."""

    def read_keys(self, key: str, row_hash: str) -> Iterator[pa.RecordBatch]:
        """Each row's ``key`` and :data:`ROW_HASH_COLUMN`, nothing else."""

    def read_rows(self, key: str, keys: pa.Array, row_hash: str) -> Iterator[pa.RecordBatch]:
        """The rows whose ``key`` is among ``keys``, with :data:`ROW_HASH_COLUMN`; rows
        with other keys may come too (a key's comparison may be looser than equality)."""

    def close(self) -> None:
        """End the reads and release the connection."""


@dataclass(frozen=True)
class Column:
    """One column of a query result."""

    name: str
    type: str
    """The source's own type name, e.g. ``integer`` or ``timestamp with time zone``."""
    arrow_type: pa.DataType
    """The Arrow type that ``read`` yields for this column."""
    logical: str | None = None
    """Logical type beyond the Arrow type, e.g. ``json``; see :data:`LOGICAL_TYPE_KEY`."""
    read_as: str | None = None
    """The form the source reads this column in when it is not its driver's own (one of
    the ``READ_AS_`` constants), or None. The warehouse planner marks the values the form
    changed with it: it fingerprints the column itself, in SQL, and would not see them
    change (see :func:`syncline.engine.planner.warehouse.sql.read_form_marked`)."""

    @classmethod
    def from_field(cls, field: pa.Field, type_name: str, read_as: str | None = None) -> Column:
        """The column that ``field`` describes, with the source's own ``type_name``, read
        in the form ``read_as`` names (see :attr:`read_as`)."""
        logical = (field.metadata or {}).get(LOGICAL_TYPE_KEY)
        return cls(
            field.name, type_name, field.type, logical.decode() if logical else None, read_as
        )

    def field(self) -> pa.Field:
        """The Arrow field that ``read`` yields for this column, metadata included."""
        if self.logical is None:
            return pa.field(self.name, self.arrow_type)
        return pa.field(self.name, self.arrow_type, metadata={LOGICAL_TYPE_KEY: self.logical})


class Source(ABC):
    """A database or warehouse that models are queried on.

    Implementations import their driver lazily (inside methods or ``__init__``), map
    driver errors to :class:`~syncline.errors.TransientError` (connection refused,
    timeouts, serialization failures) or :class:`~syncline.errors.TerminalError`
    (authentication, unknown table, SQL syntax) in one place, and never log
    credentials or row values. Every error the public methods raise leaves with the
    configuration's secret values masked (see :mod:`syncline.connectors.redaction`).
    """

    type_name: ClassVar[str]
    """Short name used in configurations, e.g. ``postgres``."""

    config_model: ClassVar[type[ConnectorConfig]]
    """Pydantic model of this source's configuration."""

    dialect: ClassVar[str]
    """SQL dialect name as sqlglot spells it, e.g. ``postgres`` or ``duckdb``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        guard(cls, ("test", "describe", "read", "table_query", "two_pass"))

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Self:
        """Build a source from a raw configuration, raising ValidationError when it is bad."""
        return cls(cls.config_model.parse(raw))

    @abstractmethod
    def test(self) -> None:
        """Open a connection and run a trivial query.

        Raises:
            TerminalError: the configuration cannot work (bad credentials, unknown
                database); the message names the setting to fix.
            TransientError: the server could not be reached right now.
        """

    @abstractmethod
    def describe(self, query: str) -> list[Column]:
        """Column names and types of ``query``'s result, without reading its rows.

        Raises:
            TerminalError: the query is invalid; the message carries the server's reason.
        """

    @abstractmethod
    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows as record batches of at most ``batch_rows`` rows.

        Memory stays bounded by a few batches whatever the result size. Every batch has
        the same schema, also when the result is empty (then the iterator yields
        nothing, and :meth:`describe` gives the schema). The connection is closed when
        the iterator is exhausted or closed.

        Column types keep values exact: integers as ``int64`` (``uint64`` only for
        unsigned 64-bit columns), DECIMAL/NUMERIC as ``decimal128(p, s)`` with the
        column's precision and scale (when unbounded or wider than 38 digits, a
        ``string`` field marked ``{LOGICAL_TYPE_KEY: DECIMAL_LOGICAL}``, see
        :func:`decimal_field`), timestamps with a time
        zone as ``timestamp[us, tz=UTC]`` and naive ones as ``timestamp[us]``, dates as
        ``date32``, booleans, text as ``string``, bytes as ``binary``. JSON columns are
        ``string`` fields holding the JSON text whose metadata carries
        ``{LOGICAL_TYPE_KEY: JSON_LOGICAL}`` (see :func:`json_field`), so the engine
        compares them as JSON rather than as text.

        Raises:
            TerminalError, TransientError: as for :meth:`describe`.
        """

    def two_pass(self, query: str) -> TwoPassReader | None:
        """A reader of ``query`` in one or two passes (see :class:`TwoPassReader`), open
        until closed, or None when this source reads a model in one pass only."""
        return None

    def confine_files(self, roots: Sequence[Path]) -> None:
        """Keep the model SQL's own file reads and writes inside ``roots``.

        A source whose SQL can open server files (DuckDB's ``read_csv``, ``COPY``,
        ``ATTACH``) must override this; the others never touch the server's disk
        through SQL, so by default there is nothing to confine.
        """
        return None

    def table_query(self, table: str) -> str:
        """A query selecting every column of ``table`` (``schema.table`` allowed)."""
        parts = [p for p in table.split(".") if p]
        quoted = ".".join('"' + p.replace('"', '""') + '"' for p in parts)
        return f"SELECT * FROM {quoted}"

    def close(self) -> None:
        """Release pooled connections, if any; the source may not be used afterwards."""
        return None
