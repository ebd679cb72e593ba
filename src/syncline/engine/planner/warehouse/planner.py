"""The in-warehouse planner: the diff runs in the source, only planned rows leave it.

The model's SQL runs once, inside the source, into a table of this run's rows with
their canonical key and fingerprint (see :mod:`.sql`); the plan is a join of that
table with the snapshot and the failed-row index, made in the source too. Only the
planned rows are read out, through the source's own reader, in batches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Generator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources.base import Source
from syncline.engine.planner.base import (
    CarriedSnapshot,
    count_plan,
    fold_journal,
    may_replace,
    may_take_over,
    repeated_key_error,
)
from syncline.engine.planner.local import IngestStats, Plan, _check_names
from syncline.engine.planner.warehouse.owner import claim_schema
from syncline.engine.planner.warehouse.session import (
    PostgresSession,
    WarehouseSession,
    open_session,
)
from syncline.engine.planner.warehouse.sql import PlannerSQL
from syncline.engine.planner.warehouse.store import WarehouseStore
from syncline.engine.report import InterruptedOutcome, Operation
from syncline.errors import UserError

logger = logging.getLogger(__name__)

_EXAMPLE_KEYS = 5


_SET_ASIDE = re.compile(
    r"--[^\n]*|/\*.*?\*/"
    r"|(?<![A-Za-z0-9_$\x80-\U0010ffff])[Ee]'(?:[^'\\]|\\.|'')*'"
    r"|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\""
    r"|(?<![A-Za-z0-9_$\x80-\U0010ffff])"
    r"\$((?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?)\$.*?\$\1\$",
    re.DOTALL,
)
"""Comments, quoted strings and identifiers, and dollar-quoted text, whichever opens first.

An ``E'...'`` string (not after a character of a name: a letter, digit, ``_``, ``$`` or
any non-ASCII character, which would make the ``E`` the end of a name) ends at a quote no
backslash escapes. A dollar quote opens only where no name goes on, as in PostgreSQL's
scanner: ``x$$`` is a name, not the start of quoted text.
"""

_QUERY_START = re.compile(r"^(?:SELECT|WITH|VALUES|TABLE|\()", re.IGNORECASE)


def check_single_query(model: str, dialect: str) -> None:
    """Refuse model SQL that is not a single query, before it is set in as a subquery.

    A light check, not a parse, so that any dialect's query passes: comments and quoted
    text are set aside, and what is left must start as a query does and hold no ``;``
    followed by more SQL. Anything else would only fail inside the planner's statement
    with an error about that statement, not the model. DuckDB's own parser tells the
    source the statement's kind (see ``DuckDBSource.describe``), which also knows its
    queries that start otherwise (``FROM t``, ``PIVOT``), so DuckDB SQL is left to it.
    """
    if dialect == "duckdb":
        return
    text = _SET_ASIDE.sub(" ", model).strip()
    body = text.rstrip(" \t\r\n;")
    if _QUERY_START.match(body) and ";" not in body:
        return
    raise UserError(
        "the model's SQL must be a single SELECT (or WITH ... SELECT) query; the warehouse "
        "planner runs it as a subquery, so statements that change data, and more than one "
        "statement, are not run",
        code="MODEL_NOT_A_QUERY",
    )


class WarehousePlanner:
    """Plans one run of one sync from planner tables in a schema of its source."""

    def __init__(
        self,
        source: Source,
        sync_id: int,
        *,
        primary_key: str,
        id_column: str,
        installation_id: str | None = None,
        settle: Callable[[InterruptedOutcome], None] | None = None,
        carried: CarriedSnapshot | None = None,
    ) -> None:
        """Open the planner's session and the sync's tables.

        ``installation_id`` is the catalog's: the schema is claimed for it, and refused
        when another installation planned there first (see :mod:`.owner`). ``settle``
        receives what a killed run's journal holds before it is folded (see
        :func:`~syncline.engine.planner.base.fold_journal`). ``carried`` is the local
        planner's snapshot of a sync whose source switched to this planner: it takes the
        place of the tables' (see :mod:`syncline.engine.planner.switch`).
        """
        self.sync_id = sync_id
        self.primary_key = primary_key
        self.id_column = id_column
        self.session: WarehouseSession = open_session(source)
        try:
            self.sql = PlannerSQL(self.session.dialect, self.session.schema, sync_id)
            self.session.create_schema(self.sql.create_schema())
            claim_schema(self.session, installation_id)
            self.store = WarehouseStore(self.session, self.sql)
            # A run killed mid-way left its scratch tables and, maybe, an unfolded journal.
            self._drop_scratch()
            fold_journal(self.store, settle)
            if carried is not None:
                self.store.carry_in(carried)
        except BaseException:
            self.session.close()
            raise
        self.columns: list[str] = []
        self.schema: pa.Schema = pa.schema([])

    @property
    def current_table(self) -> str:
        return self.sql.table("current")

    @property
    def plan_table(self) -> str:
        return self.sql.table("plan")

    def _drop_scratch(self) -> None:
        for statement in self.sql.drop_tables(("current", "plan")):
            self.session.execute(statement)

    def ingest(
        self,
        model: str,
        schema: pa.Schema,
        columns: Sequence[str],
        *,
        salt: str = "",
        read_forms: Mapping[str, str] | None = None,
    ) -> IngestStats:
        """Run ``model`` in the source into this run's table of referenced ``columns``.

        ``schema`` is the model's Arrow schema as the source describes it; ``salt`` is
        hashed into every fingerprint, as the local planner does. ``read_forms`` names
        the columns the source reads in a form of its own (see
        :attr:`~syncline.connectors.sources.base.Column.read_as`), with that form.
        """
        self.columns = list(columns)
        _check_names(schema.names, self.columns)
        self.schema = pa.schema([schema.field(name) for name in self.columns])
        check_single_query(model, self.session.dialect)
        self._drop_scratch()
        # The fingerprint's own scheme is salted in, so that rows fingerprinted by
        # another hash or server version all plan as changed.
        scheme = self.session.fingerprint_scheme()
        self.session.load_model(
            self.sql.load_current(
                model,
                list(self.schema),
                primary_key=self.primary_key,
                id_column=self.id_column,
                salt=f"{salt}\n{scheme}" if scheme else salt,
                read_forms=read_forms,
            ),
            self.current_table,
        )
        total, keyed = self.session.fetch(self.sql.count_null_keys())[0]
        stats = IngestStats(query_size=int(total), null_keys=int(total) - int(keyed))
        logger.info(
            "sync %s: the warehouse holds %s model rows (%s with a NULL key, skipped)",
            self.sync_id,
            stats.query_size,
            stats.null_keys,
        )
        return stats

    def check_unique_keys(self) -> None:
        """Fail the run, showing example keys, when the model repeats a primary key."""
        if isinstance(self.session, PostgresSession):
            # The usual case, unique keys, is proven by an index at a third of the cost of
            # grouping; only when it is refused are the keys grouped for examples.
            if self.session.succeeds_unless_unique_violated(self.sql.index_unique_keys()):
                return
        rows = self.session.fetch(self.sql.repeated_keys(_EXAMPLE_KEYS))
        if not rows:
            return
        total = self.session.fetch(self.sql.count_repeated_keys())[0][0]
        raise repeated_key_error(self.primary_key, int(total), rows, self.sync_id)

    def diff(
        self, *, every_row: bool = False, full_resync: bool = False, removes: bool = False
    ) -> Plan:
        """Compute the plan in the source, as :meth:`LocalPlanner.diff` defines it."""
        plan = Plan(snapshot_size=self.store.snapshot_size())
        self.session.execute(self.sql.drop_tables(("plan",))[0])
        self.session.execute(
            self.sql.make_plan(
                self.columns,
                every_row=every_row,
                full_resync=full_resync,
                snapshot_empty=plan.snapshot_size == 0,
            )
        )
        if plan.snapshot_size and may_replace(
            removes=removes,
            full_resync=full_resync,
            primary_key=self.primary_key,
            id_column=self.id_column,
        ):
            self.session.execute(self.sql.plan_replaced())
        rows = self.session.fetch(self.sql.plan_counts())
        if may_take_over(rows, primary_key=self.primary_key, id_column=self.id_column):
            self.session.execute(self.sql.take_over_removed())
            self.session.execute(self.sql.plan_holders(self.columns))
            rows = self.session.fetch(self.sql.plan_counts())
        count_plan(
            plan.counts,
            rows,
            sync_id=self.sync_id,
            snapshot_size=plan.snapshot_size,
            where=" in the warehouse",
        )
        return plan

    def planned_batches(
        self, operation: Operation, batch_rows: int, *, in_doubt: bool | None = None
    ) -> Generator[pa.RecordBatch, None, None]:
        """Stream the planned rows of one operation in batches of at most ``batch_rows``."""
        query = self.sql.planned_rows(self.columns, operation.value, in_doubt)
        reader = self.session.read(query, batch_rows)
        try:
            for batch in reader:
                if batch.num_rows:
                    yield self._with_removed_ids(batch)
        finally:
            close = getattr(reader, "close", None)
            if close is not None:
                close()

    def _with_removed_ids(self, planned: pa.RecordBatch) -> pa.RecordBatch:
        """``planned`` in the model's column types, a removed row's id taken from the
        snapshot (the model no longer has the row)."""
        removed = pc.equal(planned.column("_sl_op"), "removed")
        arrays = []
        for name in planned.schema.names:
            column = planned.column(name)
            if name in self.columns:
                kind = self.schema.field(name).type
                if column.type != kind:
                    column = column.cast(kind)
                if name == self.id_column and pc.any(removed).as_py():
                    column = pc.if_else(removed, self._snapshot_ids(planned, removed), column)
            arrays.append(column)
        fields = [
            self.schema.field(name) if name in self.columns else planned.schema.field(name)
            for name in planned.schema.names
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))

    def _snapshot_ids(self, planned: pa.RecordBatch, removed: pa.Array) -> pa.Array:
        """The removed rows' ids as the snapshot kept them (text), in the id's type; NULL
        where the text does not cast, as the local planner's ``TRY_CAST`` gives."""
        kind = self.schema.field(self.id_column).type
        text = pc.if_else(removed, planned.column("_sl_ext"), pa.scalar(None, pa.string()))
        try:
            return text.cast(kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            logger.warning(
                "sync %s: removed rows' ids do not read back as %s; they are sent as NULL",
                self.sync_id,
                kind,
            )
            return pa.nulls(len(text), kind)

    def close(self) -> None:
        """Drop this run's scratch tables, and the sync's tables when this run made them
        and left them empty (a dry run of a new sync); close the planner's session."""
        try:
            self._drop_scratch()
            self.store.drop_if_new_and_empty()
        finally:
            self.session.close()
