"""The contract every source implements: test, describe a query, read it as Arrow batches."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import pyarrow as pa

from syncline.connectors.config import ConnectorConfig

logger = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 65_536
"""Rows per Arrow record batch read from a source, unless the caller asks otherwise."""


@dataclass(frozen=True)
class Column:
    """One column of a query result."""

    name: str
    type: str
    """The source's own type name, e.g. ``integer`` or ``timestamp with time zone``."""
    arrow_type: pa.DataType
    """The Arrow type that ``read`` yields for this column."""


class Source(ABC):
    """A database or warehouse that models are queried on.

    Implementations import their driver lazily (inside methods or ``__init__``), map
    driver errors to :class:`~syncline.errors.TransientError` (connection refused,
    timeouts, serialization failures) or :class:`~syncline.errors.TerminalError`
    (authentication, unknown table, SQL syntax) in one place, and never log
    credentials or row values.
    """

    type_name: ClassVar[str]
    """Short name used in configurations, e.g. ``postgres``."""

    config_model: ClassVar[type[ConnectorConfig]]
    """Pydantic model of this source's configuration."""

    dialect: ClassVar[str]
    """SQL dialect name as sqlglot spells it, e.g. ``postgres`` or ``duckdb``."""

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

        Raises:
            TerminalError, TransientError: as for :meth:`describe`.
        """

    def table_query(self, table: str) -> str:
        """A query selecting every column of ``table`` (``schema.table`` allowed)."""
        parts = [p for p in table.split(".") if p]
        quoted = ".".join('"' + p.replace('"', '""') + '"' for p in parts)
        return f"SELECT * FROM {quoted}"

    def close(self) -> None:
        """Release pooled connections, if any; the source may not be used afterwards."""
        return None
