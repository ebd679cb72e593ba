"""The DuckDB source: queries run in-process and stream out as Arrow record batches."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from syncline.connectors.sources._arrow import conform, normal_type, rebatch
from syncline.connectors.sources._errors import connected, translated
from syncline.connectors.sources.base import (
    DEFAULT_BATCH_ROWS,
    READ_AS_WIDE_DECIMAL,
    Column,
    Source,
    decimal_field,
    json_field,
)
from syncline.connectors.sources.duckdb.config import DuckDBConfig
from syncline.connectors.sources.duckdb.errors import map_error
from syncline.connectors.sources.interruptible import interruptible
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

    def __init__(self, config: DuckDBConfig) -> None:
        super().__init__(config)
        self._roots: tuple[Path, ...] | None = None

    def confine_files(self, roots: Sequence[Path]) -> None:
        """Run every query inside DuckDB's sandbox: only ``roots`` may be read or written.

        ``enable_external_access = false`` stops file, network and extension access
        outside ``allowed_directories``, and ``lock_configuration`` refuses any later
        ``SET`` that would lift it, so model SQL cannot undo the sandbox.
        """
        self._roots = tuple(roots)

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
        # Wide integers are read as decimal text (see _widened), not as DuckDB exports them.
        return [
            Column.from_field(f, t, READ_AS_WIDE_DECIMAL if t in _WIDE_INTEGERS else None)
            for f, t in zip(schema, types, strict=True)
        ]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows through DuckDB's Arrow record batch reader."""
        with connected(self._connect, self._map_error) as connection:
            relation = self._relation(connection, query)
            schema = self._schema(relation)
            # A query that must finish a sort or window before its first row runs in
            # this call; DuckDB does not stop it for a signal on its own.
            exported = _widened(relation)
            reader = interruptible(
                lambda: exported.to_arrow_reader(batch_rows), connection.interrupt
            )
            batches = (conform(batch, schema) for batch in reader)
            yield from rebatch(batches, batch_rows)

    def planner_connection(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection to the file, for the warehouse planner's own tables.

        The sandbox of :meth:`confine_files` holds for it too: the planner runs the
        model's SQL in this connection, wrapped as a subquery.
        """
        import duckdb

        if self.config.path is None:
            raise TerminalError(
                "the warehouse planner keeps its tables in the source's database file, and "
                "this DuckDB source has no 'path'; set one or use 'planner: local'",
                connector="duckdb",
            )
        with translated(self._map_error), _confining:
            connection = duckdb.connect(str(self.config.path))
            if self._roots is not None:
                _confine(connection, self._roots)
            return connection

    def read_on(
        self,
        connection: duckdb.DuckDBPyConnection,
        query: str,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        """:meth:`read` over an open ``connection``, as the warehouse planner reads its plan."""
        with translated(self._map_error):
            relation = self._relation(connection, query)
            schema = self._schema(relation)
            exported = _widened(relation)
            reader = interruptible(
                lambda: exported.to_arrow_reader(batch_rows), connection.interrupt
            )
            batches = (conform(batch, schema) for batch in reader)
            yield from rebatch(batches, batch_rows)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        import duckdb

        path = self.config.path
        # DuckDB refuses an in-memory database in read-only mode; it holds nothing to protect.
        read_only = self.config.read_only and path is not None
        with translated(self._map_error), _confining:
            connection = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
            if self._roots is not None:
                _confine(connection, self._roots)
            return connection

    def _relation(self, connection: duckdb.DuckDBPyConnection, query: str) -> Any:
        # DuckDB runs any other statement (COPY, ATTACH, CREATE) as soon as it is
        # parsed into a relation, so the statement's kind is checked before that.
        import duckdb

        statements = connection.extract_statements(query)
        kinds = [statement.type for statement in statements]
        if kinds != [duckdb.StatementType.SELECT]:
            found = ", ".join(kind.name for kind in kinds) or "nothing"
            raise TerminalError(
                f"the model's SQL must be one SELECT query; DuckDB reads it as: {found}. "
                "Write a single SELECT (COPY, ATTACH, SET and other statements are not run)",
                connector="duckdb",
            )
        return connection.sql(query)

    def _schema(self, relation: Any) -> pa.Schema:
        """The Arrow schema ``read`` yields: normalised types, JSON and decimal text marked."""
        exported = relation.limit(0).to_arrow_table().schema
        fields = []
        for field, duck_type in zip(exported, relation.types, strict=True):
            if str(duck_type) == "JSON":
                fields.append(json_field(field.name))
            elif str(duck_type) in _WIDE_INTEGERS:
                fields.append(decimal_field(field.name))
            else:
                fields.append(pa.field(field.name, normal_type(field.type)))
        return pa.schema(fields)

    def map_error(self, exc: Exception) -> ConnectorError:
        """The taxonomy error for a driver error of this source's connections."""
        return map_error(exc, self.config)

    def _map_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, self.config)


_WIDE_INTEGERS = frozenset({"HUGEINT", "UHUGEINT"})
"""128-bit integer types: DuckDB exports them as ``decimal128(38, 0)``, which holds
neither 39-digit extreme (the UHUGEINT maximum even wraps around to -1)."""

_WIDE_ALIAS = "_syncline_wide_integers_"
"""Alias of the model's relation in the projection that turns wide integers into text."""


def _widened(relation: Any) -> Any:
    """``relation`` with every HUGEINT and UHUGEINT column as its exact decimal text.

    Arrow has no integer type of 128 bits, and DuckDB's export as ``decimal128(38, 0)``
    alters values of 39 digits, so those columns travel as decimal text (see
    :func:`syncline.connectors.sources.base.decimal_field`), exact at every width.
    """
    wide = [str(kind) in _WIDE_INTEGERS for kind in relation.types]
    if not any(wide):
        return relation
    columns = []
    for name, is_wide in zip(relation.columns, wide, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        columns.append(f"CAST({quoted} AS VARCHAR) AS {quoted}" if is_wide else quoted)
    return relation.set_alias(_WIDE_ALIAS).project(", ".join(columns))


_confining = threading.Lock()
"""Held from opening a connection until it is confined, so that two connections of this
process to one file never both find its shared instance open and race to confine it."""


def _confine(connection: duckdb.DuckDBPyConnection, roots: Sequence[Path]) -> None:
    """Confine ``connection`` to ``roots``, or check that its instance already is.

    DuckDB shares one database instance per file among a process's connections, and its
    configuration with it: once a connection locked it, the next one cannot set it again,
    and need not, when it holds the same sandbox.
    """
    locked = connection.execute("SELECT current_setting('lock_configuration')").fetchone()
    if not (locked and locked[0]):
        for statement in _sandbox(roots):
            connection.execute(statement)
        return

    wanted = {str(root) + os.sep for root in roots}
    row = connection.execute(
        "SELECT current_setting('allowed_directories'), "
        "current_setting('enable_external_access'), current_setting('temp_directory')"
    ).fetchone()
    allowed, external, temporary = row if row else ([], True, "")
    # DuckDB adds its own temporary folder to the allowed ones.
    extra = set(allowed) - wanted - {str(temporary).rstrip(os.sep) + os.sep}
    if external or extra or not wanted <= set(allowed):
        connection.close()
        raise TerminalError(
            "this DuckDB file is already open in this process under another sandbox "
            f"(allowed folders {sorted(allowed)}); sources on one file must share their "
            "allowed folders, so point them at one SYNCLINE_HOME",
            connector="duckdb",
        )


def _sandbox(roots: Sequence[Path]) -> list[str]:
    """Statements that confine a fresh connection to ``roots`` and lock that in."""
    folders = ", ".join("'" + (str(root) + os.sep).replace("'", "''") + "'" for root in roots)
    return [
        f"SET allowed_directories = [{folders}]",
        "SET enable_external_access = false",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET lock_configuration = true",
    ]
