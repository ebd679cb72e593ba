"""The flow every table destination shares: find or create the table, stage, apply.

A subclass brings the driver: connecting, describing a table, creating one, staging a
batch, running SQL, and mapping driver errors. This class owns the decisions: which
checks :meth:`open` makes, which statement each action runs, how bad rows are isolated
and reported, and that one batch is one transaction.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar, TypeVar

import pyarrow as pa

from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    DestinationConfig,
    FieldSpec,
    ObjectField,
    RowFailure,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.sql.bisect import RowDataError, isolate_failures
from syncline.connectors.destinations.sql.days import refuse_times_of_day
from syncline.connectors.destinations.sql.floats import refuse_rounded_numbers
from syncline.connectors.destinations.sql.identifiers import (
    TableName,
    parse_table,
    quote,
    quote_table,
)
from syncline.connectors.destinations.sql.keys import refuse_rewritten_keys
from syncline.connectors.destinations.sql.precision import refuse_inexact
from syncline.connectors.destinations.sql.seconds import refuse_cut_seconds
from syncline.connectors.destinations.sql.statements import RANK_COLUMN, Statements
from syncline.connectors.destinations.sql.texts import floats_as_text
from syncline.connectors.destinations.sql.values import ROW_COLUMN
from syncline.errors import TerminalError

logger = logging.getLogger(__name__)

T = TypeVar("T")

KEYED_MODES = frozenset({SyncMode.UPSERT, SyncMode.MIRROR, SyncMode.ALL})
"""Modes whose UPSERT needs a unique key on the id column to match rows."""

TABLE_CAPABILITIES = Capabilities(
    modes=frozenset(SyncMode),
    max_batch_rows=DestinationConfig.max_batch_rows,
    max_concurrency=DestinationConfig.max_concurrency,
    per_row_results=True,
    creates_objects=True,
    clears_objects=True,
)


class TableDestination(Destination):
    """A database table that receives a sync's changes with set-based statements."""

    capabilities = TABLE_CAPABILITIES
    dialect: ClassVar[str]
    placeholder: ClassVar[str] = "%s"
    stage_name: ClassVar[str] = "_syncline_stage"
    begin_sql: ClassVar[str] = "BEGIN"

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._conn: Any = None
        """The driver's connection, opened by :meth:`_connect`."""
        self._context: WriteContext | None = None
        self._table: TableName | None = None
        self._columns: dict[str, str] = {}

    @classmethod
    def reserved_fields(cls, object_name: str) -> frozenset[str]:
        """The staging table's row position and the rank its statements compute."""
        return frozenset({ROW_COLUMN, RANK_COLUMN})

    # -- what a driver provides -------------------------------------------------------

    @property
    @abstractmethod
    def default_schema(self) -> str:
        """The schema (or database) a table name without one lives in."""

    @abstractmethod
    def _connect(self) -> None:
        """Open the connection, or reopen it when it was lost."""

    def _connected(self) -> bool:
        """Whether the connection is open; a driver that can tell a broken one refines this."""
        return self._conn is not None

    def _disconnect(self) -> None:
        """Close the connection, ignoring errors: it is being given up anyway."""
        if self._conn is None:
            return
        try:
            self._conn.close()
        except Exception:  # noqa: BLE001 - a failed close leaves nothing to do
            logger.debug("closing the %s connection failed", self.type_name, exc_info=True)
        self._conn = None

    @abstractmethod
    def _map_error(self, exc: Exception) -> Exception | None:
        """The taxonomy error (or :class:`RowDataError`) for a driver error, else None."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (empty when it returns none)."""

    @abstractmethod
    def _describe(self, table: TableName) -> dict[str, str] | None:
        """Column names and types of ``table``, or None when it does not exist."""

    @abstractmethod
    def _has_unique_key(self, table: TableName, column: str) -> bool:
        """Whether ``column`` alone is a primary key or has a unique index."""

    @abstractmethod
    def _create(self, table: TableName, fields: Sequence[FieldSpec], id_field: str) -> None:
        """Create ``table`` with a column per field and ``id_field`` as primary key."""

    @abstractmethod
    def _stage(self, batch: WriteBatch, skip: Collection[int]) -> list[RowFailure]:
        """Load the batch into the staging table; return the rows that could not be staged.

        Rows whose positions are in ``skip`` were refused already and must not be staged.
        """

    def _refuse(self, batch: WriteBatch) -> dict[int, str]:
        """Rows the table cannot hold exactly, by position, with the reason; never staged.

        The database would store them changed, silently: an id in another form (where it
        may overwrite another id's row), a fraction rounded into a bounded numeric or an
        integer column, a timestamp cut to its day in a DATE column, a number rounded by
        a float column (a double by a single-precision one, a large integer or a decimal
        by either), fractional seconds cut by a coarser timestamp or time column.
        Each is checked against the described column types, only where the batch's type
        is wider.
        """
        reasons = self._refuse_keys(batch)
        inexact = refuse_inexact(
            batch.records,
            self._columns,
            str(self._table),
            keeps_nan=self.dialect == "postgres",
            # MySQL's float columns refuse NaN and infinities too.
            floats_keep_non_finite=self.dialect != "mysql",
        )
        table = str(self._table)
        cut = refuse_times_of_day(batch.records, self._columns, table)
        rounded = refuse_rounded_numbers(batch.records, self._columns, table, dialect=self.dialect)
        seconds = refuse_cut_seconds(batch.records, self._columns, table, dialect=self.dialect)
        for row, reason in [*inexact.items(), *cut.items(), *rounded.items(), *seconds.items()]:
            reasons.setdefault(row, reason)
        return reasons

    def _refuse_keys(self, batch: WriteBatch) -> dict[int, str]:
        """Rows whose text id the id column would store in another form (not in append
        mode, where ids are never matched)."""
        assert self._context is not None
        if self._context.mode is SyncMode.APPEND:
            return {}
        id_field = self._context.id_field
        return refuse_rewritten_keys(
            batch.records,
            id_field,
            self._columns.get(id_field, ""),
            str(self._table),
            dialect=self.dialect,
        )

    def _unique_index_sql(self, table: TableName, column: str) -> str:
        """A statement adding the unique index keyed modes need, that runs as printed.

        MySQL, SQLite and DuckDB need the index named; the name is the table's and column's.
        """
        name = quote(f"{table.name}_{column}_key"[:60], self.dialect)
        target = quote_table(table, self.dialect)
        return f"CREATE UNIQUE INDEX {name} ON {target} ({quote(column, self.dialect)})"

    def _creates_primary_key(self) -> bool:
        """Whether a table created now gets a primary key on the id field.

        Not for append mode: events repeat ids, and a key would refuse every repeat.
        """
        return self._context is None or self._context.mode is not SyncMode.APPEND

    def _stage_table(self, batch: WriteBatch) -> str:
        """The staging table's name for ``batch`` (its columns decide it where tables are kept)."""
        return self.stage_name

    def _unstage(self) -> None:
        """Drop what :meth:`_stage` made, when the transaction does not do it already."""
        return None

    # -- transactions; DuckDB, which has no savepoints, overrides both -------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction for the whole batch, committed when the block succeeds."""
        self._execute(self.begin_sql)
        try:
            yield
        except BaseException:
            self._quietly("ROLLBACK")
            raise
        self._execute("COMMIT")

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """A savepoint inside the batch transaction: one bisection attempt."""
        self._execute("SAVEPOINT syncline_rows")
        try:
            yield
        except BaseException:
            self._quietly("ROLLBACK TO SAVEPOINT syncline_rows")
            raise
        self._execute("RELEASE SAVEPOINT syncline_rows")

    def _quietly(self, sql: str) -> None:
        # Used only on the way out of an error, where the first error is the one to report
        # (after a lost connection the rollback fails too).
        try:
            self._execute(sql)
        except Exception:
            logger.debug("%s failed while handling an earlier error", sql, exc_info=True)

    def _guard(self, call: Callable[[], T]) -> T:
        """Run ``call``, turning driver errors into the error taxonomy."""
        try:
            return call()
        except (TerminalError, RowDataError):
            raise
        except Exception as exc:
            mapped = self._map_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    # -- the Destination contract ------------------------------------------------------

    def find_object(self, object_name: str, *, sync_id: int) -> bool | None:
        """Whether table ``object_name`` exists; the connection stays open for :meth:`open`."""
        table = parse_table(object_name, self.default_schema)
        self._guard(self._connect)
        return self._guard(lambda: self._describe(table)) is not None

    def open(self, context: WriteContext) -> None:
        """Connect, find (or create) the table, and check it can take the sync's fields."""
        self._context = context
        table = parse_table(context.object, self.default_schema)
        self._table = table
        if not self._connected():
            self._guard(self._connect)

        columns = self._guard(lambda: self._describe(table))
        if columns is None:
            if context.object_expected:
                raise TerminalError(
                    f"table {table} of the {self.type_name} destination was dropped while "
                    "the run planned, so nothing was sent; run the sync again: the next "
                    "run sends every row to it",
                    connector=self.type_name,
                    code="OBJECT_GONE",
                )
            if not context.create_object:
                raise TerminalError(
                    f"table {table} does not exist in the {self.type_name} destination; "
                    "create it, or set createObject: true so the sync creates it from its "
                    "mapped fields",
                    connector=self.type_name,
                    code="OBJECT_MISSING",
                )
            self._guard(lambda: self._create(table, context.fields, context.id_field))
            context.logger.info("created table %s with %d columns", table, len(context.fields))
            columns = self._guard(lambda: self._describe(table)) or {}

        missing = [f.name for f in context.fields if f.name not in columns]
        if missing:
            raise TerminalError(
                f"table {table} has no column {', '.join(map(repr, missing))}; add "
                f"{'them' if len(missing) > 1 else 'it'} to the table or change the "
                f"sync's mappings (table columns: {', '.join(columns)})",
                connector=self.type_name,
                code="OBJECT_FIELDS_MISSING",
            )

        if context.mode in KEYED_MODES:
            if not self._guard(lambda: self._has_unique_key(table, context.id_field)):
                raise TerminalError(
                    f"table {table} has no primary key or unique index on "
                    f"{context.id_field!r}, which {context.mode.value} mode needs to match "
                    f"rows; add one, e.g. {self._unique_index_sql(table, context.id_field)}",
                    connector=self.type_name,
                    code="OBJECT_KEY_MISSING",
                )
        if context.mode is not SyncMode.APPEND:
            # Append matches no ids, so an id column that merges them does no harm there.
            merging = self._merging_key(table, context.id_field)
            if merging is not None:
                raise merging
        self._columns = columns

    def _merging_key(self, table: TableName, id_field: str) -> TerminalError | None:
        """The error refusing an id column that compares distinct ids as equal (by case,
        accents or trailing spaces), which would let rows overwrite each other's record;
        None when the table tells every id apart. Databases with such columns say how."""
        return None

    def fields(self, object_name: str) -> list[ObjectField] | None:
        """The columns of table ``object_name`` and their types; None when it does not exist.

        Uses a connection of its own, closed before returning, so it never disturbs a run.
        """
        table = parse_table(object_name, self.default_schema)
        try:
            self._guard(self._connect)
            columns = self._guard(lambda: self._describe(table))
        finally:
            self._disconnect()
        if columns is None:
            return None
        return [ObjectField(name, kind) for name, kind in columns.items()]

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Write one batch in one transaction; rows the database refuses are reported."""
        if self._context is None or self._table is None:
            raise RuntimeError("write_batch() called before open()")
        if len(batch) == 0:
            return BatchResult()

        names = batch.records.column_names
        if batch.action is not WriteAction.APPEND and self._context.id_field not in names:
            raise TerminalError(
                f"a {batch.action.value} batch for table {self._table} lacks the id field "
                f"{self._context.id_field!r} (fields: {', '.join(names)})",
                connector=self.type_name,
                code="BATCH_ID_MISSING",
            )
        unknown = [name for name in names if name not in self._columns]
        if unknown:
            raise TerminalError(
                f"table {self._table} has no column {', '.join(map(repr, unknown))} that "
                "the batch writes; add the column or remove its mapping",
                connector=self.type_name,
                code="OBJECT_FIELDS_MISSING",
            )

        if not self._connected():
            self._guard(self._connect)
        records = floats_as_text(batch.records, self._columns, self.dialect)
        batch = replace(batch, records=records)
        try:
            failures = self._guard(lambda: self._write(batch))
        except RowDataError as exc:
            # Raised outside a bisected statement (while staging or matching ids): the
            # rows cannot be told apart, so each is rejected with the database's reason.
            return BatchResult.all_failed(len(batch), exc.reason, retryable=False)
        failures.sort(key=lambda failure: failure.index)
        failures = self._explained(batch, failures)

        self._context.logger.debug(
            "%s batch of %d rows written to %s, %d rejected",
            batch.action.value,
            len(batch),
            self._table,
            len(failures),
        )
        return BatchResult(failures)

    def clear(self) -> None:
        """Delete every row of the table in one transaction, before a clear-and-fill load.

        ``DELETE`` rather than ``TRUNCATE``: every dialect has it, it is transactional
        everywhere, and it needs no privilege beyond the writes a sync makes anyway.
        """
        if self._context is None or self._table is None:
            raise RuntimeError("clear() called before open()")
        target = quote_table(self._table, self.dialect)

        def delete_all() -> None:
            with self._transaction():
                self._execute(f"DELETE FROM {target}")

        if not self._connected():
            self._guard(self._connect)
        self._guard(delete_all)
        self._context.logger.info("cleared table %s before a full load", self._table)

    def close(self) -> None:
        """Close the connection."""
        self._disconnect()

    # -- one batch ---------------------------------------------------------------------

    def _statements(self, batch: WriteBatch) -> Statements:
        assert self._table is not None
        assert self._context is not None
        return Statements(
            dialect=self.dialect,
            target=quote_table(self._table, self.dialect),
            stage=self._stage_table(batch),
            columns=tuple(batch.records.column_names),
            id_field=self._context.id_field,
            placeholder=self.placeholder,
        )

    def _write(self, batch: WriteBatch) -> list[RowFailure]:
        statements = self._statements(batch)
        refused = self._refuse(batch)
        try:
            with self._transaction():
                failures = self._stage(batch, refused)
                failed = {failure.index for failure in failures}
                failures += [
                    RowFailure(i, reason, retryable=False)
                    for i, reason in refused.items()
                    if i not in failed
                ]
                failures += self._refuse_unmatched(batch, statements)
                sqls = statements.apply(batch.action)
                if sqls:
                    failures += isolate_failures(
                        0, len(batch), lambda lo, hi: self._apply(sqls, lo, hi)
                    )
        finally:
            self._unstage()
        return failures

    def _apply(self, sqls: Sequence[str], lo: int, hi: int) -> None:
        """Run the action's statements on rows ``[lo, hi)``: all of them, or none."""
        with self._atomic():
            for sql in sqls:
                self._guard(partial(self._execute, sql, (lo, hi)))

    def _explained(self, batch: WriteBatch, failures: list[RowFailure]) -> list[RowFailure]:
        """``failures`` with each refused row's reason naming its field and the fix."""
        explained = []
        for failure in failures:
            if not failure.retryable:
                reason = self._explain(failure.reason, batch.records, failure.index)
                failure = replace(failure, reason=reason)
            explained.append(failure)
        return explained

    def _explain(self, reason: str, records: pa.Table, index: int) -> str:
        """The reason for row ``index`` of ``records``, which the database refused for
        ``reason``, naming the field and the fix where the database's words do not; a
        dialect whose words are vague overrides this. It must not raise: the batch is
        already committed."""
        return reason

    def _refuse_unmatched(self, batch: WriteBatch, statements: Statements) -> list[RowFailure]:
        """Rows UPDATE cannot find and rows INSERT finds already; the statements skip them."""
        if batch.action is WriteAction.UPDATE:
            rows = self._execute(statements.unmatched(present=False))
            reason = "no record with id {} in table {}"
        elif batch.action is WriteAction.INSERT:
            rows = self._execute(statements.unmatched(present=True))
            reason = "a record with id {} already exists in table {}"
        else:
            return []
        return [
            RowFailure(int(row), reason.format(ident, self._table), retryable=False)
            for row, ident in rows
        ]
