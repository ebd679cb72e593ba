"""The PostgreSQL source: ADBC streams query results as Arrow batches over COPY.

NUMERIC columns are read as the server's text: ADBC turning NUMERIC's binary digits
into text costs a third of a read of TPC-H ``orders``, while the server prints them
at a fraction of that, on a core of its own. The text is what ADBC would have made.
The server also prints the types ADBC cannot read (see
:func:`~syncline.connectors.sources.postgres.types.read_expression`).

ADBC reads a multi-dimensional array as the flat list of its elements, which would
lose its shape (``{{1,2},{3,4}}`` would read as ``{1,2,3,4}``); such a value fails the
read naming the column, and the model's SQL can read it as JSON instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources._arrow import rebatch
from syncline.connectors.sources._errors import translated
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, Column, Source
from syncline.connectors.sources.interruptible import interruptible
from syncline.connectors.sources.postgres.config import PostgresConfig
from syncline.connectors.sources.postgres.errors import map_error
from syncline.connectors.sources.postgres.types import (
    MONEY_SCALE_QUERY,
    SIZED_TYPES,
    TYPE_KEY,
    ColumnPlan,
    is_array,
    plan_column,
    read_expression,
    sized_name,
    type_name_of,
)
from syncline.connectors.sources.statements import single_statement
from syncline.errors import ConnectorError, TerminalError

if TYPE_CHECKING:
    from syncline.connectors.sources.postgres.two_pass import TwoPassRead

logger = logging.getLogger(__name__)


class PostgresSource(Source):
    """Models on a PostgreSQL database, read in bulk through ``adbc_driver_postgresql``."""

    type_name = "postgres"
    config_model = PostgresConfig
    dialect = "postgres"
    config: PostgresConfig

    def test(self) -> None:
        """Connect, and check that the configured schema exists."""
        connection = self._connect()
        try:
            with translated(self._map_error), connection.cursor() as cursor:
                cursor.execute("SELECT current_schema()")
                row = cursor.fetchone()
        finally:
            connection.close()

        if self.config.schema_name is not None and (row is None or row[0] is None):
            raise TerminalError(
                f"schema {self.config.schema_name!r} does not exist in database "
                f"{self.config.database!r}; fix the source setting 'schema'",
                connector="postgres",
            )

    def describe(self, query: str) -> list[Column]:
        """Names and types of ``query``'s columns; the server plans it, no row is read."""
        connection = self._connect()
        try:
            with translated(self._map_error), connection.cursor() as cursor:
                money_scale = read_money_scale(cursor)
                exported = named(cursor, cursor.adbc_execute_schema(copyable(query)))
        finally:
            connection.close()
        columns = [plan_column(field, money_scale).column() for field in exported]
        if any(type_name_of(field) in SIZED_TYPES for field in exported):
            columns = self._sized(query, columns)
        return columns

    def _sized(self, query: str, columns: list[Column]) -> list[Column]:
        """``columns`` with the sizes of their types (``varchar(20)``), which ADBC does not
        pass on: the server describes the query, unrun, on a session of psycopg's."""
        import psycopg

        with translated(self._map_error), psycopg.connect(self.config.conninfo()) as session:
            pgconn = session.pgconn
            pgconn.prepare(b"", copyable(query).encode())
            described = pgconn.describe_prepared(b"")
            if described.nfields != len(columns):
                return columns
            return [
                replace(column, type=sized_name(column.type, described.fmod(index)))
                for index, column in enumerate(columns)
            ]

    def read(self, query: str, *, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """Stream ``query``'s rows as ADBC produces them, regrouped into ``batch_rows``."""
        connection = self._connect()
        try:
            with translated(self._map_error), connection.cursor() as cursor:
                # Asked first: no other statement may run while the result streams.
                money_scale = read_money_scale(cursor)
                exported = named(cursor, cursor.adbc_execute_schema(copyable(query)))
                plans = [plan_column(field, money_scale) for field in exported]
                # The driver waits for the server inside single calls, and on its own turns
                # Ctrl-C into a failed query (SIGTERM it does not see): the calls that wait
                # for the query's first row are made so that a signal cancels the query
                # and is raised as itself.
                statement = copyable(_readable(query, exported))
                interruptible(lambda: cursor.execute(statement), cursor.adbc_cancel)
                reader = cursor.fetch_record_batch()
                schema = pa.schema([plan.field for plan in plans])
                batches = (
                    finish(batch, plans, schema)
                    for batch in result_batches(reader, cursor.adbc_cancel)
                )
                yield from rebatch(batches, batch_rows)
        finally:
            connection.close()

    def planner_connection(self) -> Any:
        """A psycopg connection in autocommit mode whose transactions may write.

        Only the warehouse planner uses it, for the tables in its own schema; models are
        still read through the read-only sessions of :meth:`read`.
        """
        import psycopg

        with translated(self._map_error):
            return psycopg.connect(self.config.conninfo(read_only=False), autocommit=True)

    def map_error(self, exc: Exception) -> ConnectorError:
        """The taxonomy error for a driver error of this source's connections."""
        return self._map_error(exc)

    def two_pass(self, query: str) -> TwoPassRead | None:
        """A session reading ``query`` in one or two passes inside one repeatable-read
        transaction (see :mod:`~syncline.connectors.sources.postgres.two_pass`), or None
        when the source's ``twoPassReads`` is off or the model has array columns, whose
        shapes the one-pass read checks."""
        if not self.config.two_pass_reads:
            return None
        from syncline.connectors.sources.postgres.two_pass import TwoPassRead

        session = TwoPassRead(self, query)
        if any(is_array(field) for field in session.exported):
            session.close()
            return None
        return session

    def _connect(self) -> Any:
        return self.connect()

    def connect(self, *, repeatable: bool = False) -> Any:
        """A new ADBC connection whose transactions are read-only (and repeatable reads
        when asked); the caller closes it."""
        import adbc_driver_postgresql.dbapi

        logger.debug(
            "connecting to PostgreSQL at %s:%s as %s",
            self.config.host,
            self.config.port,
            self.config.user,
        )
        with translated(self._map_error):
            return adbc_driver_postgresql.dbapi.connect(self.config.conninfo(repeatable=repeatable))

    def _map_error(self, exc: Exception) -> ConnectorError:
        return map_error(exc, self.config)


def result_batches(reader: pa.RecordBatchReader, cancel: Any) -> Iterator[pa.RecordBatch]:
    """The reader's batches, the first waited for so that a signal cancels the query.

    The wait before the first row is the long one (the server sorts, groups or sleeps);
    later batches arrive as the rows stream and are read in place, so that their memory
    stays with the reading thread's.
    """
    try:
        yield interruptible(reader.read_next_batch, cancel)
    except StopIteration:
        return
    yield from reader


def read_money_scale(cursor: Any) -> int:
    """The fractional digits of ``money`` in this session (its ``lc_monetary``)."""
    cursor.execute(MONEY_SCALE_QUERY)
    row = cursor.fetchone()
    return int(row[0])


_UNNAMED = "unnamed<oid:"
"""How ADBC names a type it does not know, before the type's OID and a closing ``>``."""


def named(cursor: Any, exported: pa.Schema) -> pa.Schema:
    """``exported`` with the types ADBC leaves unnamed (ranges and their arrays) named as
    the server names them (``int4range``, ``_int4range``), so that an array is known as one.
    """
    unnamed = {
        int(name[len(_UNNAMED) : -1])
        for name in (type_name_of(field) for field in exported)
        if name.startswith(_UNNAMED) and name.endswith(">")
    }
    if not unnamed:
        return exported
    cursor.execute(
        "SELECT oid::int8, typname FROM pg_catalog.pg_type WHERE oid::int8 IN ("
        + ", ".join(str(oid) for oid in sorted(unnamed))
        + ")"
    )
    names = {f"{_UNNAMED}{oid}>": name for oid, name in cursor.fetchall()}
    fields = []
    for field in exported:
        name = names.get(type_name_of(field))
        if name is not None:
            field = field.with_metadata({**(field.metadata or {}), TYPE_KEY: name.encode()})
        fields.append(field)
    return pa.schema(fields)


def copyable(query: str) -> str:
    """``query`` as it can sit inside ``COPY (...) TO STDOUT``, which is how ADBC reads it.

    Trailing semicolons go, with any comment after them (see
    :func:`~syncline.connectors.sources.statements.single_statement`), and a final
    newline ends a trailing ``--`` comment that would otherwise swallow the closing
    parenthesis.

    Raises:
        TerminalError: the SQL holds a second statement.
    """
    return single_statement(query, "postgres", connector="postgres").rstrip() + "\n"


SHAPE_COLUMN = "_syncline_shape"
"""The column the read adds after the model's when it has arrays: the 1-based position
of the first array column holding a multi-dimensional array, else NULL."""


def _readable(query: str, exported: pa.Schema) -> str:
    """``query`` with the columns the server prints for the read printed by it (see
    :func:`read_expression`), and :data:`SHAPE_COLUMN` when it has arrays; as it is when
    neither applies.

    The model's columns are renamed by position, so that repeated names stay apart.
    """
    expressions = [read_expression(field) for field in exported]
    arrays = [index for index, field in enumerate(exported) if is_array(field)]
    if not arrays and not any(expressions):
        return query

    names = [f"_sl_{index}" for index in range(len(exported))]
    columns = [
        f"{(expression or '{}').format(alias)} AS {identifier(field.name)}"
        for alias, field, expression in zip(names, exported, expressions, strict=True)
    ]
    if arrays:
        flat = " ".join(f"WHEN array_ndims({names[i]}) > 1 THEN {i + 1}" for i in arrays)
        columns.append(f"CASE {flat} END AS {SHAPE_COLUMN}")
    return (
        f"SELECT {', '.join(columns)} FROM (\n{copyable(query)}) "
        f"AS _syncline_model({', '.join(names)})"
    )


def identifier(name: str) -> str:
    """``name`` quoted as a PostgreSQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def finish(batch: pa.RecordBatch, plans: Sequence[ColumnPlan], schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` in the schema ``read`` promises, converting the columns that need it.

    Raises:
        TerminalError: a value does not fit its column's type, or an array column holds
            a multi-dimensional array.
    """
    if batch.num_columns > len(plans):
        _refuse_shapes(batch.column(len(plans)), plans)
    arrays = []
    for column, plan in zip(batch.columns[: len(plans)], plans, strict=True):
        try:
            arrays.append(plan.convert(column) if plan.convert else column)
        except (pa.ArrowException, ValueError) as exc:
            raise TerminalError(
                f"column {plan.field.name!r} ({plan.type_name}) holds a value that does not fit "
                f"Arrow type {plan.field.type} ({type(exc).__name__}); CAST it in the model's SQL",
                connector="postgres",
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _refuse_shapes(shapes: pa.Array, plans: Sequence[ColumnPlan]) -> None:
    """Raise when :data:`SHAPE_COLUMN` names a column holding a multi-dimensional array."""
    position = pc.min(shapes).as_py()
    if position is None:
        return
    plan = plans[int(position) - 1]
    name = plan.field.name
    raise TerminalError(
        f"column {name!r} ({plan.type_name}) holds a multi-dimensional array, which would "
        f"read as the flat list of its elements and lose its shape; read it as JSON in the "
        f"model's SQL (to_jsonb({name}) AS {name}), or flatten it there if the shape does "
        "not matter",
        connector="postgres",
    )
