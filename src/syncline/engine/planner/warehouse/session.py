"""The warehouse planner's own session: a connection that may write to its schema.

Source sessions are read-only, so that a model cannot change the warehouse; the
planner's session writes, but only statements of :mod:`.sql` to tables of its schema,
with the model's SQL set in as a subquery. One class per engine that runs the SQL:
PostgreSQL through psycopg, DuckDB in process. Planned rows are read back through the
source's own reader, so they reach the destination in the types a local run gives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

import psycopg
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from syncline.connectors.sources.base import Source
from syncline.connectors.sources.duckdb import DuckDBSource
from syncline.connectors.sources.interruptible import interruptible
from syncline.connectors.sources.postgres import PostgresSource
from syncline.engine.canonical import canonical_json_array
from syncline.engine.planner.warehouse.choice import DEFAULT_SCHEMA, planner_schema
from syncline.engine.planner.warehouse.sql import CANONICAL_JSON_FUNCTION, literal, quote
from syncline.errors import ConfigError, SynclineError, TerminalError, UserError

logger = logging.getLogger(__name__)

INSUFFICIENT_PRIVILEGE = "42501"

UNIQUE_VIOLATION = "23505"

READ_ONLY_TRANSACTION = "25006"

OUTPUT_SETTINGS = (
    "TimeZone = 'UTC'",
    "extra_float_digits = 3",
    "DateStyle = 'ISO, MDY'",
    "IntervalStyle = 'postgres'",
    "bytea_output = 'hex'",
)
"""The planner session's settings that fix how values print as text (and so hash)."""

OWNER_TABLE = "syncline_installation"
"""The table in a planner schema that names the installation owning the schema (see
:mod:`.owner`, which cannot be imported here: it imports this module)."""

WORK_MEM = "256MB"
"""PostgreSQL's memory per sort or hash of the planner's statements, in its session only."""


def _timed(action: Any, sql: str) -> Any:
    """Run ``action`` and log at DEBUG how long ``sql`` took, to see where a run's time goes."""
    if not logger.isEnabledFor(logging.DEBUG):
        return action()
    started = time.perf_counter()
    try:
        return action()
    finally:
        logger.debug("%.3f s: %s", time.perf_counter() - started, " ".join(sql.split())[:300])


class WarehouseSession(Protocol):
    """What the planner needs of a connection: run SQL, fetch, load rows, read Arrow."""

    dialect: str
    schema: str

    def execute(self, sql: str) -> None: ...

    def fetch(self, sql: str) -> list[tuple[Any, ...]]: ...

    def insert(self, table: str, columns: Sequence[str], rows: pa.Table) -> None: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def read(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]: ...

    def create_schema(self, statement: str) -> None: ...

    def load_model(self, statements: Sequence[str], current: str) -> None: ...

    def fingerprint_scheme(self) -> str: ...

    def close(self) -> None: ...


def open_session(source: Source, schema: str | None = None) -> WarehouseSession:
    """A write session to ``source`` for the warehouse planner, in ``schema`` (by default
    the source's planner schema)."""
    schema = schema or planner_schema(source) or DEFAULT_SCHEMA
    if isinstance(source, PostgresSource):
        return PostgresSession(source, schema)
    if isinstance(source, DuckDBSource):
        return DuckDBSession(source, schema)
    raise ConfigError(
        f"source type {source.type_name!r} has no warehouse planner yet (postgres and duckdb "
        "have one); set 'planner: local'"
    )


class _Session:
    """What both sessions share: a source, its planner connection, errors as the source's."""

    def __init__(self, source: Any, schema: str) -> None:
        self.source = source
        self.schema = schema
        self.connection = source.planner_connection()

    def _guard(self, action: Any) -> Any:
        try:
            return action()
        except SynclineError:
            raise
        except Exception as exc:
            raise self.source.map_error(exc) from exc

    def execute(self, sql: str) -> None:
        _timed(lambda: self._guard(lambda: self._run(sql)), sql)

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(_timed(lambda: self._guard(lambda: self._run(sql).fetchall()), sql))

    def _run(self, sql: str) -> Any:
        """Run ``sql`` on the planner's connection; its cursor, to fetch from."""
        return self.connection.execute(sql)

    def close(self) -> None:
        self.connection.close()


class PostgresSession(_Session):
    """The planner's psycopg connection to a PostgreSQL source."""

    dialect = "postgres"

    source: PostgresSource

    def __init__(self, source: PostgresSource, schema: str) -> None:
        super().__init__(source, schema)
        # Every setting that changes how a value prints as text, so that a fingerprint of
        # the text does not depend on what the database or role sets: floats in their
        # shortest exact form, ISO dates, PostgreSQL intervals, hex bytea.
        for setting in OUTPUT_SETTINGS:
            self._guard(lambda setting=setting: self.connection.execute(f"SET {setting}"))
        # The run's model rows go to a temporary table, which lives in local memory.
        self._guard(lambda: self.connection.execute(f"SET temp_buffers = '{WORK_MEM}'"))
        # The diff hashes the whole model against the whole snapshot; with the default
        # 4 MB its joins and groupings spill to disk in many batches.
        self._guard(lambda: self.connection.execute(f"SET work_mem = '{WORK_MEM}'"))
        # Compiling the diff's expressions costs more than it saves on a table this size.
        self._guard(lambda: self.connection.execute("SET jit = off"))

    def succeeds_unless_unique_violated(self, sql: str) -> bool:
        """Run ``sql``; False when PostgreSQL refuses it for a repeated unique value."""
        try:
            _timed(lambda: self.connection.execute(sql), sql)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION:
                return False
            raise self.source.map_error(exc) from exc
        return True

    def insert(self, table: str, columns: Sequence[str], rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return

        def copy() -> None:
            names = ", ".join(columns)
            with self.connection.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copying:
                    for row in zip(*(rows.column(c).to_pylist() for c in columns), strict=True):
                        copying.write_row(row)

        self._guard(copy)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.connection.transaction():
                yield
        except SynclineError:
            raise
        except Exception as exc:
            raise self.source.map_error(exc) from exc

    def read(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        return self.source.read(sql, batch_rows=batch_rows)

    def create_schema(self, statement: str) -> None:
        """Create the planner's schema, or say which grant would let us.

        PostgreSQL checks the grant before ``IF NOT EXISTS``, so a schema an admin made
        for the planner is looked up first.
        """
        exists = self.fetch(f"SELECT 1 FROM pg_namespace WHERE nspname = {literal(self.schema)}")
        if exists:
            self._check_schema_grant()
            return
        try:
            self.connection.execute(statement)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                raise self.source.map_error(exc) from exc
            config = self.source.config
            raise TerminalError(
                f"user {config.user!r} may not create schema {self.schema!r} in database "
                f"{config.database!r} for the warehouse planner; run "
                f'GRANT CREATE ON DATABASE "{config.database}" TO "{config.user}", or '
                f'create the schema for it: CREATE SCHEMA "{self.schema}" '
                f'AUTHORIZATION "{config.user}"',
                connector="postgres",
                code="PLANNER_SCHEMA_DENIED",
            ) from None

    def _check_schema_grant(self) -> None:
        """Name every grant the planner needs on a schema that exists but is not usable.

        An admin (or another user's run) may have made the schema and, by a run of its
        own, the installation mark in it (see :mod:`.owner`): the mark must be readable
        and writable too, or the run fails on it right after the schema's grant is given.
        """
        schema = literal(self.schema)
        # The mark is found by its catalog row: naming it would need USAGE on the schema.
        rows = self.fetch(
            f"SELECT has_schema_privilege({schema}, 'CREATE') "
            f"AND has_schema_privilege({schema}, 'USAGE'), "
            "COALESCE((SELECT has_table_privilege(c.oid, 'SELECT') "
            "AND has_table_privilege(c.oid, 'INSERT') FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            f"WHERE n.nspname = {schema} AND c.relname = {literal(OWNER_TABLE)}), TRUE), "
            f"(SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = {schema})"
        )
        schema_granted, mark_granted, owner = rows[0]
        if schema_granted and mark_granted:
            return
        user = self.source.config.user
        grants = []
        if not schema_granted:
            grants.append(f"GRANT CREATE, USAGE ON SCHEMA {quote(self.schema)} TO {quote(user)}")
        if not mark_granted:
            grants.append(
                f"GRANT SELECT, INSERT ON TABLE {quote(self.schema)}.{quote(OWNER_TABLE)} "
                f"TO {quote(user)}"
            )
        own = f"syncline_planner_{user}"[:63]
        raise TerminalError(
            f"user {user!r} may not keep the warehouse planner's tables in schema "
            f"{self.schema!r}, which role {owner!r} owns; run {'; '.join(grants)}; or give "
            f"the planner a schema of the user's own: CREATE SCHEMA {quote(own)} "
            f"AUTHORIZATION {quote(user)}, and set the source's plannerSchema to {own!r}",
            connector="postgres",
            code="PLANNER_SCHEMA_DENIED",
        )

    def load_model(self, statements: Sequence[str], current: str) -> None:
        """Run :meth:`PlannerSQL.load_current`'s statements; the last, which runs the
        model's SQL into the temporary table ``current``, in a read-only transaction, so
        that the model cannot write.

        PostgreSQL refuses in that transaction a model's DML, DDL or ``setval``, in
        functions too, but lets it fill this session's temporary table. It does not
        refuse every write, though: large objects (``lo_from_bytea``, ``lo_unlink``,
        ``lo_put``) are written all the same. So the transaction is committed only when
        PostgreSQL's counts of this transaction's rows show no relation written but
        ``current`` and its TOAST table; otherwise it is rolled back and the model refused.
        """
        *prepare, fill = statements
        for statement in prepare:
            self.execute(statement)

        written: list[str] = []

        def run() -> None:
            with self.connection.transaction():
                self.connection.execute("SET TRANSACTION READ ONLY")
                before = self._rows_written()
                self.connection.execute(fill)
                written.extend(_newly_written(before, self._rows_written(), self._own(current)))
                if written:
                    # Leaves the block rolled back, raising nothing further.
                    raise psycopg.Rollback()

        try:
            _timed(run, fill)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == READ_ONLY_TRANSACTION and _locks_rows(exc):
                raise UserError(
                    "model SQL must only read: it locks rows (FOR UPDATE/SHARE), which "
                    "PostgreSQL refuses in the read-only transaction the model runs in; "
                    "remove the locking clause from the model",
                    code="MODEL_WRITES",
                ) from None
            if getattr(exc, "sqlstate", None) == READ_ONLY_TRANSACTION:
                raise UserError(
                    f"model SQL must only read: PostgreSQL refused it in a read-only "
                    f"transaction ({_first_line(exc)}); remove what writes (DML, DDL, "
                    "setval, functions that change data) from the model",
                    code="MODEL_WRITES",
                ) from None
            raise self.source.map_error(exc) from exc
        if written:
            raise UserError(
                f"model SQL must only read: it wrote to {written[0]}; remove what writes "
                "(large object functions such as lo_from_bytea or lo_unlink, functions "
                "that change data) from the model",
                code="MODEL_WRITES",
            )

    def _rows_written(self) -> dict[int, tuple[str, int, int, int]]:
        """Rows this transaction inserted, updated and deleted so far, by relation.

        PostgreSQL's transaction counts also hold what earlier transactions of the
        session wrote until they are reported, so only a change between two readings in
        one transaction says what happened in between.
        """
        rows = self.connection.execute(
            "SELECT relid, relname, n_tup_ins, n_tup_upd, n_tup_del "
            "FROM pg_stat_xact_all_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
        ).fetchall()
        return {
            int(oid): (str(name), int(ins), int(upd), int(dele))
            for oid, name, ins, upd, dele in rows
        }

    def _own(self, current: str) -> set[int]:
        """The relations the fill may write: ``current`` and its TOAST table, by oid."""
        rows = self.connection.execute(
            "SELECT c.oid, c.reltoastrelid FROM pg_class AS c "
            f"WHERE c.oid = to_regclass({literal(current)})"
        ).fetchall()
        return {int(oid) for row in rows for oid in row if int(oid)}

    def fingerprint_scheme(self) -> str:
        """The hash function and PostgreSQL major version the fingerprints come from.

        PostgreSQL keeps ``HASHTEXTEXTENDED`` stable for hash partitioning, but does
        not promise it across major versions; salted into every fingerprint, a change
        of version makes every row a change rather than a silent mis-comparison.
        """
        version = int(self.fetch("SELECT current_setting('server_version_num')")[0][0])
        return f"hashtextextended/pg{version // 10000}"


def _newly_written(
    before: dict[int, tuple[str, int, int, int]],
    after: dict[int, tuple[str, int, int, int]],
    own: set[int],
) -> list[str]:
    """The names of the relations, but those in ``own``, whose row counts changed from
    ``before`` to ``after``, in order of name."""
    return sorted(
        name
        for oid, (name, *counts) in after.items()
        if oid not in own and (name, *counts) != before.get(oid, (name, 0, 0, 0))
    )


def _locks_rows(exc: Exception) -> bool:
    """Whether PostgreSQL refused the fill's own ``INSERT`` for a read-only transaction.

    The fill may write its temporary table, so PostgreSQL names the ``INSERT`` only when
    the statement as a whole would lock rows: a model's ``FOR UPDATE``/``FOR SHARE``. A
    write by a function the model calls comes with the function's context instead.
    """
    diag = getattr(exc, "diag", None)
    return (
        _first_line(exc).startswith("cannot execute INSERT in a read-only transaction")
        and diag is not None
        and not diag.context
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class DuckDBSession(_Session):
    """The planner's read-write connection to a DuckDB source's file.

    DuckDB lets one process write a file and no other open it meanwhile, so while a run
    plans and delivers, readers in other processes (a preview, another worker) wait.
    """

    dialect = "duckdb"

    source: DuckDBSource

    def __init__(self, source: DuckDBSource, schema: str) -> None:
        super().__init__(source, schema)
        try:
            self._register_canonical_json()
        except BaseException:
            self.connection.close()
            raise

    def _run(self, sql: str) -> Any:
        """Run ``sql`` so that Ctrl-C or SIGTERM stops it: a statement that runs the model
        works inside one DuckDB call, which does not stop for a signal by itself."""
        return interruptible(lambda: self.connection.execute(sql), self.connection.interrupt)

    def _register_canonical_json(self) -> None:
        """Make the local planner's canonical JSON a SQL function of this connection.

        DuckDB has no JSON function that sorts keys or respells numbers, so the
        planner's statements call this one, which hands it whole Arrow columns.
        """

        def canonical(texts: pa.Array) -> pa.Array:
            return canonical_json_array(texts, pa.string())

        self._guard(
            lambda: self.connection.create_function(
                CANONICAL_JSON_FUNCTION,
                canonical,
                ["VARCHAR"],
                "VARCHAR",
                type=PythonUDFType.ARROW,
                null_handling=FunctionNullHandling.SPECIAL,
                side_effects=False,
            )
        )

    def insert(self, table: str, columns: Sequence[str], rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        names = ", ".join(columns)

        def load() -> None:
            self.connection.register("_sl_rows", rows.select(list(columns)))
            try:
                self.connection.execute(f"INSERT INTO {table} ({names}) SELECT * FROM _sl_rows")
            finally:
                self.connection.unregister("_sl_rows")

        self._guard(load)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def read(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        return self.source.read_on(self.connection.cursor(), sql, batch_rows=batch_rows)

    def create_schema(self, statement: str) -> None:
        self.execute(statement)

    def load_model(self, statements: Sequence[str], current: str) -> None:
        """Run :meth:`PlannerSQL.load_current`'s statement, which creates ``current``.

        The run has already checked the model to be one SELECT (the source's
        ``describe``), and the statement holds it as a subquery.
        """
        # TODO(planner): this connection writes, so a SELECT that calls nextval() advances
        # a sequence of the file, which the local planner's read-only connection refuses.
        for statement in statements:
            self.execute(statement)

    def fingerprint_scheme(self) -> str:
        """DuckDB's fingerprints are md5 digests, the same in every version: no mark."""
        return ""
