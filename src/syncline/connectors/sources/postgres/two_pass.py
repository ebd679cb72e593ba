"""Reading a PostgreSQL model in two passes inside one repeatable-read transaction.

The first pass reads each row's key and a hash the server computes over the compared
columns (see :mod:`~syncline.connectors.sources.postgres.row_hash`): a few bytes a row,
which the decoder turns into Arrow at a fraction of the cost of every column. The
planner joins them to the snapshot, and the second pass reads whole only the rows whose
hash does not vouch for their snapshot entry, by key. Both passes run in one
transaction, so they see the same rows.

Fetching by key is only worth it when the server can find rows by key without running
the model whole (an index, a filter pushed into the query): :meth:`TwoPassRead.fetchable`
asks the server's planner before the first pass.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from syncline.connectors.redaction import guard
from syncline.connectors.sources._arrow import rebatch
from syncline.connectors.sources._errors import translated
from syncline.connectors.sources.base import DEFAULT_BATCH_ROWS, ROW_HASH_COLUMN
from syncline.connectors.sources.interruptible import interruptible
from syncline.connectors.sources.postgres import client
from syncline.connectors.sources.postgres.row_hash import row_hash_sql
from syncline.connectors.sources.postgres.types import (
    ColumnPlan,
    plan_column,
    read_expression,
    type_name_of,
)

if TYPE_CHECKING:
    from syncline.connectors.sources.postgres.client import PostgresSource
    from syncline.connectors.sources.postgres.config import PostgresConfig

logger = logging.getLogger(__name__)

FETCHABLE_KEYS = {
    "int2": "int8",
    "int4": "int8",
    "int8": "int8",
    "text": "text",
    "varchar": "text",
    "uuid": "uuid",
}
"""Key types whose rows the second pass can find by the keys the first pass read, with
the array type the keys are sent as. Others (``char(n)``, whose comparison with text
drops trailing spaces; ``numeric``, read as text) are read in one pass."""

PROBE_KEYS = 100
"""Keys the cost check asks the server to find."""

PROBE_SHARE = 0.5
"""The most that finding :data:`PROBE_KEYS` rows by key may cost, as a share of the whole
model's cost in the server's estimate, for the model to count as fetchable by key. Where
an index reaches the key, the estimate is a few units a key whatever the model's size;
where none does, it is about the whole model's cost. So small models (under about 50,000
rows, where one pass costs little anyway) and models no index serves are read in one."""

FETCH_CHUNK = 50_000
"""Keys sent in one query of the second pass."""

_NARROW_TUPLE_SHARE = 0.1
"""The first pass's ``parallel_tuple_cost``, as a share of the session's: its rows are a
key and a hash, a tenth of a usual row's width or less, so handing them from a parallel
worker to the leader costs that much less than the server's estimate assumes. The
server's own limits (``max_parallel_workers_per_gather``) still decide how many
workers hash the rows. The setting is restored after the pass."""

_BATCH_BYTES_OPTION = "adbc.postgresql.batch_size_hint_bytes"
_KEY_BATCH_BYTES = 2 << 20
"""Bytes of the first pass's batches (about 80,000 keys with their hashes)."""


class TwoPassRead:
    """One read-only, repeatable-read session on a model's query.

    ``schema`` is what :meth:`PostgresSource.read` would yield; every read here yields the
    same columns, converted the same way, plus :data:`ROW_HASH_COLUMN` when asked.
    """

    def __init__(self, source: PostgresSource, query: str) -> None:
        self._source = source
        self._connection = source.connect(repeatable=True)
        try:
            with self._translated(), self._connection.cursor() as cursor:
                # The first query fixes the transaction's snapshot: every pass sees it.
                money_scale = client.read_money_scale(cursor)
                exported = client.named(cursor, cursor.adbc_execute_schema(client.copyable(query)))
        except BaseException:
            self._connection.close()
            raise
        self._query = query
        self.exported = exported
        """The model's columns as ADBC exports them, before their conversion."""
        self._plans = [plan_column(field, money_scale) for field in exported]
        self.schema = pa.schema([plan.field for plan in self._plans])
        self._names = [f"_sl_{index}" for index in range(len(exported))]

    def row_hash(self, columns: Sequence[str], signature: str) -> str:
        """The SQL of the row hash over the model's ``columns`` (names as in ``schema``),
        seeded by ``signature`` (see :func:`row_hash_sql`)."""
        typed = [
            (self._names[index], type_name_of(self.exported[index]))
            for index in (self._position(name) for name in columns)
        ]
        return row_hash_sql(typed, signature)

    def fetchable(self, key: str) -> bool:
        """Whether the second pass can find rows by ``key`` cheaply: its type is one that
        keys can be sent as, and the server estimates that finding :data:`PROBE_KEYS` rows
        by key costs under :data:`PROBE_SHARE` of running the model whole."""
        position = self._position(key)
        array_type = FETCHABLE_KEYS.get(type_name_of(self.exported[position]))
        if array_type is None or read_expression(self.exported[position]) is not None:
            return False
        model = self._model_sql()
        # The driver sends a statement without parameters as a COPY, which EXPLAIN cannot
        # be: an always-true condition on a parameter sends it as a query.
        whole = self._estimate(f"SELECT * FROM {model} WHERE $1::int4 IS NOT NULL", 1)
        probe = [str(number) for number in range(PROBE_KEYS)]
        if array_type == "uuid":
            probe = [f"00000000-0000-0000-0000-{number:012d}" for number in range(PROBE_KEYS)]
        by_key = self._estimate(
            f"SELECT * FROM {model} WHERE {self._names[position]} = ANY($1::text[]::"
            f"{array_type}[])",
            probe,
        )
        fetchable = by_key < PROBE_SHARE * whole
        if fetchable:
            self._spare_jit(whole)
        else:
            logger.info(
                "model read in one pass: the server estimates finding %s rows by key %r at "
                "%.0f against %.0f for the whole query (no index or filter reaches the key)",
                PROBE_KEYS,
                key,
                by_key,
                whole,
            )
        return fetchable

    def read(self, row_hash: str | None = None) -> Iterator[pa.RecordBatch]:
        """Every row of the model, with its row hash (``row_hash`` from
        :meth:`row_hash`) as :data:`ROW_HASH_COLUMN` when given."""
        columns = self._readable_columns()
        if row_hash is not None:
            columns.append(f"{row_hash} AS {ROW_HASH_COLUMN}")
        statement = f"SELECT {', '.join(columns)} FROM {self._model_sql()}"
        yield from self._stream(statement, hashed=row_hash is not None)

    def read_keys(self, key: str, row_hash: str) -> Iterator[pa.RecordBatch]:
        """The first pass: each row's ``key`` and its row hash, in two columns."""
        position = self._position(key)
        statement = (
            f"SELECT {self._names[position]} AS {client.identifier(key)}, "
            f"{row_hash} AS {ROW_HASH_COLUMN} FROM {self._model_sql()}"
        )
        plan = self._plans[position]
        schema = pa.schema([plan.field, pa.field(ROW_HASH_COLUMN, pa.int64())])
        with self._translated(), self._connection.cursor() as cursor:
            # Rows of a few bytes: the driver's batches of 16 MB would hold a million, and
            # the planner would wait for the first while the server computed it.
            cursor.adbc_statement.set_options(**{_BATCH_BYTES_OPTION: str(_KEY_BATCH_BYTES)})
            cursor.execute("SELECT current_setting('parallel_tuple_cost')")
            usual = str(cursor.fetchall()[0][0])
            self._set("parallel_tuple_cost", f"{float(usual) * _NARROW_TUPLE_SHARE!r}")
            interruptible(lambda: cursor.execute(client.copyable(statement)), cursor.adbc_cancel)
            reader = cursor.fetch_record_batch()
            for batch in client.result_batches(reader, cursor.adbc_cancel):
                yield self._finish_keys(batch, plan, schema)
            # For the second pass, in this transaction. Not after a failure or an early
            # stop: the transaction is over then, and restoring would only hide the cause.
            self._set("parallel_tuple_cost", usual)

    def read_rows(self, key: str, keys: pa.Array, row_hash: str) -> Iterator[pa.RecordBatch]:
        """The second pass: the rows whose ``key`` is one of ``keys``, every column and
        the row hash, in chunks of :data:`FETCH_CHUNK` keys."""
        position = self._position(key)
        array_type = FETCHABLE_KEYS[type_name_of(self.exported[position])]
        columns = [*self._readable_columns(), f"{row_hash} AS {ROW_HASH_COLUMN}"]
        statement = (
            f"SELECT {', '.join(columns)} FROM {self._model_sql()} "
            f"WHERE {self._names[position]} = ANY($1::{_sent_as(array_type)}[]"
            f"{'::uuid[]' if array_type == 'uuid' else ''})"
        )
        for start in range(0, len(keys), FETCH_CHUNK):
            chunk = keys.slice(start, FETCH_CHUNK)
            sent: list[Any] = chunk.to_pylist()
            yield from self._fetched(statement, sent)

    def close(self) -> None:
        """End the transaction and close the connection."""
        self._connection.close()

    def _fetched(self, statement: str, keys: list[Any]) -> Iterator[pa.RecordBatch]:
        """The rows of one chunk of keys (bound as one array: not a COPY, which takes no
        parameters; the driver decodes the same binary forms either way)."""
        yield from self._stream(statement, hashed=True, keys=keys)

    def _stream(
        self, statement: str, *, hashed: bool, keys: list[Any] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The rows of ``statement``, converted as :meth:`PostgresSource.read` converts
        them (and the row hash after them when ``hashed``), regrouped into batches of
        :data:`DEFAULT_BATCH_ROWS`; a COPY unless ``keys`` are bound to it."""
        plans = [*self._plans, _hash_plan()] if hashed else self._plans
        schema = pa.schema([plan.field for plan in plans])
        with self._translated(), self._connection.cursor() as cursor:
            if keys is None:
                interruptible(
                    lambda: cursor.execute(client.copyable(statement)), cursor.adbc_cancel
                )
            else:
                interruptible(
                    lambda: cursor.execute(statement, parameters=(keys,)), cursor.adbc_cancel
                )
            reader = cursor.fetch_record_batch()
            batches = (
                client.finish(batch, plans, schema)
                for batch in client.result_batches(reader, cursor.adbc_cancel)
            )
            yield from rebatch(batches, DEFAULT_BATCH_ROWS)

    def _spare_jit(self, model_cost: float) -> None:
        """Turn JIT compilation off for this transaction when the model alone would not
        be compiled: the row hash's expressions raise the estimated cost over
        ``jit_above_cost``, and compiling them costs more than it saves (about 0.1 s on
        1.5 million rows)."""
        with self._translated(), self._connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('jit') = 'on', current_setting('jit_above_cost')::float8"
            )
            row = cursor.fetchone()
        if row is None or not row[0] or (0 <= float(row[1]) <= model_cost):
            return
        self._set("jit", "off")

    def _set(self, name: str, value: str) -> None:
        """Set ``name`` to ``value`` until the transaction ends."""
        with self._connection.cursor() as cursor:
            cursor.execute("SELECT set_config($1, $2, true)", parameters=(name, value))
            cursor.fetchall()

    def _estimate(self, statement: str, parameter: Any) -> float:
        """The server's estimated total cost of ``statement``, bound to ``parameter``."""
        with self._translated(), self._connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters=(parameter,))
            row = cursor.fetchone()
        plan = json.loads(row[0]) if isinstance(row[0], str) else row[0]
        return float(plan[0]["Plan"]["Total Cost"])

    def _model_sql(self) -> str:
        """The model's query with its columns renamed by position (see :data:`_names`)."""
        return f"({client.copyable(self._query)}) AS _syncline_model({', '.join(self._names)})"

    def _readable_columns(self) -> list[str]:
        """Every model column as the read takes it, named as the model names it (a model
        with array columns is not read here, see :meth:`PostgresSource.two_pass`)."""
        readable = []
        for alias, field in zip(self._names, self.exported, strict=True):
            expression = read_expression(field) or "{}"
            readable.append(f"{expression.format(alias)} AS {client.identifier(field.name)}")
        return readable

    def _finish_keys(
        self, batch: pa.RecordBatch, plan: ColumnPlan, schema: pa.Schema
    ) -> pa.RecordBatch:
        key = batch.column(0)
        if plan.convert is not None:
            key = plan.convert(key)
        return pa.RecordBatch.from_arrays([key, batch.column(1)], schema=schema)

    @property
    def config(self) -> PostgresConfig:
        """The source's configuration, whose secrets the errors raised here mask."""
        return self._source.config

    def _position(self, name: str) -> int:
        names: list[str] = self.schema.names
        return names.index(name)

    def _translated(self) -> Any:
        return translated(self._source.map_error)


guard(TwoPassRead, ("fetchable", "read", "read_keys", "read_rows"))


def _hash_plan() -> ColumnPlan:
    return ColumnPlan(pa.field(ROW_HASH_COLUMN, pa.int64()), "int8")


def _sent_as(array_type: str) -> str:
    """The array element type keys are bound as: uuids travel as text."""
    return "text" if array_type == "uuid" else array_type
