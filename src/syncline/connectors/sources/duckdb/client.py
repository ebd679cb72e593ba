"""The DuckDB source: queries run in-process and stream out as Arrow record batches."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from syncline.connectors.sources._arrow import conform, normal_type, rebatch
from syncline.connectors.sources._errors import connected, translated
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source, json_field
from syncline.connectors.sources.duckdb.config import DuckDBConfig
from syncline.connectors.sources.duckdb.errors import map_error
from syncline.errors import ConnectorError, TerminalError

if TYPE_CHECKING:
    import duckdb

logger = logging.getLogger(__name__)


class DuckDBSource(Source):
    """Models on a DuckDB file, or on Parquet and CSV files through DuckDB SQL."""

    type_name = "duckdb"
    config_model = DuckDBConfig
    dialect = "duckdb"
    config: DuckDBConfig

    def test(self) -> None:
        """Open the database and run ``SELECT 1``."""
        with connected(self._connect, self._map_error) as connection:
            connection.execute("SELECT 1").fetchall()

    def describe(self, query: str) -> list[Column]:
        """Names and types of ``query``'s columns, from DuckDB's plan of it."""
        with connected(self._connect, self._map_error) as connection:
            relation = self._relation(connection, query)
            schema = self._schema(relation)
            types = [str(t) for t in relation.types]
        return [Column.from_field(f, t) for f, t in zip(schema, types, strict=True)]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows through DuckDB's Arrow record batch reader."""
        with connected(self._connect, self._map_error) as connection:
            relation = self._relation(connection, query)
            schema = self._schema(relation)
            reader = relation.to_arrow_reader(batch_rows)
            batches = (conform(batch, schema) for batch in reader)
            yield from rebatch(batches, batch_rows)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        path = self.config.path
        # DuckDB refuses an in-memory database in read-only mode; it holds nothing to protect.
        read_only = self.config.read_only and path is not None
        with translated(self._map_error):
            return duckdb.connect(str(path) if path else ":memory:", read_only=read_only)

    def _relation(self, connection: duckdb.DuckDBPyConnection, query: str) -> Any:
        relation = connection.sql(query)
        if relation is None:
            raise TerminalError(
                "the model's SQL is a statement that returns no rows; write a SELECT query",
                connector="duckdb",
            )
        return relation

    def _schema(self, relation: Any) -> pa.Schema:
        """The Arrow schema ``read`` yields: normalised types, JSON columns marked."""
        exported = relation.limit(0).to_arrow_table().schema
        fields = []
        for field, duck_type in zip(exported, relation.types, strict=True):
            if str(duck_type) == "JSON":
                fields.append(json_field(field.name))
            else:
                fields.append(pa.field(field.name, normal_type(field.type)))
        return pa.schema(fields)

    def _map_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, self.config)
