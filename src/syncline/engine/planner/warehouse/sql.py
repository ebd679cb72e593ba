"""The in-warehouse planner's SQL, written once and rendered for each dialect by sqlglot.

Every statement is composed in PostgreSQL's dialect and transpiled with sqlglot into
the source's own (``duckdb``, ``snowflake``, ``bigquery`` ...). The model's SQL is never
parsed: it is set into the rendered statement as a subquery, ``FROM (<model>) AS m``,
so that only a query can run there, never a statement that changes data.

Canonical forms follow :mod:`syncline.engine.canonical` equivalence for equivalence:
integral numbers print as integers (``1``, ``1.0`` and ``1.000`` alike), single-precision
floats as the double they equal, decimals lose
trailing zeros, timestamps become UTC microseconds since the epoch (nanoseconds that
are not whole microseconds after the point), booleans
``true``/``false``, JSON is re-serialised (by JSONB on PostgreSQL, by the local
planner's own function on DuckDB), and every value is length-prefixed so that NULL and
``''`` differ. The fingerprint is the first 16 hex digits of the ``md5`` of a row's
encoding, salted with the sync's mappings (a value the source reads in a form of its own
is marked with it, see :func:`read_form_marked`); on PostgreSQL, a 64-bit hash of the values'
record text instead (see :func:`fingerprint_expression`). It is not the local planner's
number, but two rows fingerprint alike here exactly when they do there, so both
planners plan the same rows.

On PostgreSQL the statements are shaped for a large model: the session sorts and hashes
in memory, the snapshot is indexed by key so that a run's journal is folded in at the
cost of its own rows, and this run's keys are proven unique by an index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlglot

from syncline.connectors.sources.base import READ_AS_WIDE_DECIMAL, is_decimal_field
from syncline.connectors.sources.statements import single_statement
from syncline.engine.canonical import FINGERPRINT_SCHEME, encode_literal, is_json_canonical
from syncline.engine.planner.base import TAKEN_OVER, holders_distrust_sql, replaced_plan_sql
from syncline.engine.planner.store import CLEAR_PENDING, JOURNAL_RUN

SCHEME = f"warehouse-{FINGERPRINT_SCHEME}"
"""Name of the in-warehouse fingerprint; changing it makes every row a change."""

DIALECTS = ("postgres", "duckdb", "snowflake", "bigquery", "redshift", "databricks", "trino")
"""Dialects the planner's statements are rendered for; PostgreSQL and DuckDB run them."""

MODEL = "_sl_model_sql_"
"""Stands for the model's subquery in a statement until it is rendered."""

TABLES = ("snapshot", "failed", "journal", "meta", "current", "plan")
"""The planner's tables of one sync, each named ``sync_<id>_<table>``."""

CANONICAL_JSON_FUNCTION = "syncline_canonical_json"
"""The SQL function, registered in the planner's DuckDB session, that prints JSON text
as :func:`syncline.engine.canonical.canonical_json_array` does."""

_JSON_NUMBER = r'("(?:[^"\\]|\\.)*")|(-?[0-9]+)(\.[0-9]*[1-9])?\.?0*(?![0-9])'
"""A JSON string (kept whole) or a number split into its integer part and its fraction
up to the last non-zero digit, as :func:`canonical_expression` rewrites JSONB text."""

_TEXT_TYPES = "('json', 'jsonb', 'text', 'character varying', 'character', 'name')"
"""PostgreSQL types whose text a JSON column parses; any other (a composite) is converted."""

_INTEGRAL_LIMIT = "1e18"
"""Integral floats below this print through BIGINT, so that ``1.0`` prints as ``1``."""


def quote(name: str) -> str:
    """Quote ``name`` as a PostgreSQL identifier (sqlglot requotes it per dialect)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal of ``text``."""
    return "'" + text.replace("'", "''") + "'"


def table_name(sync_id: int, table: str) -> str:
    """The unqualified name of one of a sync's planner tables."""
    return f"sync_{int(sync_id)}_{table}"


def canonical_expression(column: str, field: pa.Field, dialect: str = "postgres") -> str:
    """A PostgreSQL expression giving the canonical text of ``column`` (NULL stays NULL).

    ``dialect`` picks how JSON is canonicalised: DuckDB minifies it, every other
    warehouse parses it into its own JSON type.
    """
    col = quote(column)
    kind = field.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if is_decimal_field(field):
        return _decimal_text(col, dialect)
    if is_json_canonical(field):
        text = (
            f"CAST({col} AS TEXT)"
            if pa.types.is_string(kind) or pa.types.is_large_string(kind)
            else f"CAST(TO_JSON({col}) AS TEXT)"
        )
        if dialect == "duckdb":
            # The planner's DuckDB session runs the local planner's own canonical JSON as
            # a function (see DuckDBSession), so both planners print JSON alike.
            return f"{CANONICAL_JSON_FUNCTION}({text})"
        # JSONB sorts keys and spaces its text alike, and holds numbers as NUMERIC, which
        # has no negative zero (-0.0 prints as 0.0); numbers outside strings then lose
        # trailing fractional zeros, so that 1.0 prints as 1 and 2.50 as 2.5. Text is
        # parsed as JSON; arrays and composite values are converted (PostgreSQL has no
        # cast from them to JSONB). On PostgreSQL a JSON column may also hold composite
        # values, which the source reads as their TO_JSONB: the column's own type decides.
        # TODO(planner): the warehouses that only parse these statements need their own
        # JSON functions here (and a regex dialect with lookahead) before they run them.
        text_column = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        converted = f"CAST({col} AS JSONB)" if text_column else f"TO_JSONB({col})"
        if text_column and dialect == "postgres":
            converted = (
                f"CASE WHEN CAST(PG_TYPEOF({col}) AS TEXT) IN {_TEXT_TYPES} "
                f"THEN CAST(CAST({col} AS TEXT) AS JSONB) ELSE TO_JSONB({col}) END"
            )
        jsonb = f"CAST({converted} AS TEXT)"
        return f"REGEXP_REPLACE({jsonb}, {literal(_JSON_NUMBER)}, '\\1\\2\\3', 'g')"
    if pa.types.is_null(kind):
        return "CAST(NULL AS TEXT)"
    if pa.types.is_boolean(kind):
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    if pa.types.is_integer(kind):
        return f"CAST({col} AS TEXT)"
    if pa.types.is_floating(kind):
        if kind.bit_width < 64:
            # As the local planner does: a narrower float prints as the double it equals.
            col = f"CAST({col} AS DOUBLE PRECISION)"
        return (
            f"CASE WHEN {col} = TRUNC({col}) AND ABS({col}) < {_INTEGRAL_LIMIT} "
            f"THEN CAST(CAST({col} AS BIGINT) AS TEXT) ELSE CAST({col} AS TEXT) END"
        )
    if pa.types.is_decimal(kind):
        if kind.scale <= 0 and dialect != "postgres":
            return f"CAST({col} AS TEXT)"
        return _decimal_text(col, dialect)
    if pa.types.is_timestamp(kind) and kind.unit == "ns" and dialect == "duckdb":
        # The epoch as a float cannot hold nanoseconds; DuckDB counts them exactly.
        exact = f"CAST(CAST(EPOCH_NS({col}) AS DECIMAL(38, 0)) * 0.001 AS TEXT)"
        return (
            f"CASE WHEN NOT ISFINITE({col}) THEN CAST({col} AS TEXT) "
            f"WHEN EPOCH_NS({col}) % 1000 = 0 THEN CAST(EPOCH_US({col}) AS TEXT) "
            f"ELSE RTRIM({exact}, '0') END"
        )
    if pa.types.is_timestamp(kind):
        return (
            f"CASE WHEN ISFINITE({col}) "
            f"THEN CAST(CAST(EXTRACT(EPOCH FROM {col}) * 1000000 AS BIGINT) AS TEXT) "
            f"ELSE CAST({col} AS TEXT) END"
        )
    return f"CAST({col} AS TEXT)"


def _decimal_text(col: str, dialect: str) -> str:
    """Decimal text without trailing fractional zeros; zero as ``0``.

    PostgreSQL's ``TRIM_SCALE`` does that in one call (its NUMERIC has no negative zero),
    on NUMERIC only: a ``money`` column, which reads as a decimal, is converted first rather
    than printed in the server's currency format.
    """
    if dialect == "postgres":
        return f"CAST(TRIM_SCALE(CAST({col} AS NUMERIC)) AS TEXT)"
    text = f"CAST({col} AS TEXT)"
    return (
        f"CASE WHEN {col} = 0 THEN '0' WHEN POSITION('.' IN {text}) > 0 "
        f"THEN RTRIM(RTRIM({text}, '0'), '.') ELSE {text} END"
    )


def read_form_marked(canonical: str, field: pa.Field, form: str | None, dialect: str) -> str:
    """``canonical``, the canonical text of ``field``'s column, marked with the ``form`` the
    source reads it in (see :attr:`syncline.connectors.sources.base.Column.read_as`) where
    that form changed the value read.

    The local planner fingerprints values as read, so that a value read in a new form is
    sent once more, in that form; these fingerprints are computed from the column in the
    warehouse, which a new form does not change. Marked, such a value fingerprints anew
    here too. The values the form did not change stay unmarked, as do columns read as their
    driver exports them, so that no other row is sent again: NULL; an array holding nothing
    but NULLs (on PostgreSQL); a 128-bit integer of at most 38 digits.
    """
    if form is None:
        return canonical
    col = quote(field.name)
    marked = f"{literal(f'read as {form}:')} || {canonical}"
    if form == READ_AS_WIDE_DECIMAL:
        digits = f"LENGTH(LTRIM(CAST({col} AS TEXT), '-'))"
        return f"CASE WHEN {digits} > 38 THEN {marked} ELSE {canonical} END"
    if dialect == "postgres" and pa.types.is_list(field.type):
        elements = f"CARDINALITY(ARRAY_REMOVE({col}, NULL))"
        return f"CASE WHEN {elements} > 0 THEN {marked} ELSE {canonical} END"
    return marked


def _encoded(expression: str) -> str:
    """The length-prefixed encoding of one canonical value: ``V<length>:<text>``, or
    ``N`` for NULL (``||`` gives NULL when the value is NULL), with the value computed
    twice rather than four times as separate pieces would."""
    return f"COALESCE('V' || CAST(LENGTH({expression}) AS TEXT) || ':' || {expression}, 'N')"


def fingerprint_expression(canonical: Sequence[str], salt: str, dialect: str = "") -> str:
    """A row's fingerprint over its salted canonical values.

    Everywhere but PostgreSQL: 16 hex digits of the md5 of the length-prefixed values.
    PostgreSQL's md5 and string building cost most of loading the model, so there it is
    the 64-bit ``HASHTEXTEXTENDED`` (the hash PostgreSQL keeps stable for hash
    partitioning) of the values' record text, ``ROW(...)::text``: that text is one-to-one
    for a fixed number of values, as a NULL prints as nothing and ``''`` as ``""``.
    """
    salted = literal(encode_literal(f"{SCHEME}\n{salt}"))
    if dialect == "postgres":
        row = f"CAST(ROW({', '.join([salted, *canonical])}) AS TEXT)"
        return f"CAST(HASHTEXTEXTENDED({row}, 0) AS TEXT)"
    pieces = [salted, *(_encoded(expression) for expression in canonical)]
    return f"LEFT(MD5(CONCAT({', '.join(pieces)})), 16)"


@dataclass(frozen=True)
class PlannerSQL:
    """The statements of one sync's planner tables in one schema, rendered for a dialect."""

    dialect: str
    schema: str
    sync_id: int

    def render(self, sql: str, model: str | None = None) -> str:
        """``sql`` (PostgreSQL) in this dialect, with the model's subquery set in."""
        rendered: str = sqlglot.transpile(sql, read="postgres", write=self.dialect)[0]
        if model is None:
            return rendered
        # The FROM clause comes last: a mapping's text in the salt can never be taken for it.
        head, found, tail = rendered.rpartition(MODEL)
        if not found:
            raise ValueError(f"statement has no place for the model: {sql[:80]}")
        # The newline before the parenthesis ends a trailing ``--`` comment of the model.
        return f"{head}(\n{single_statement(model, self.dialect)}\n){tail}"

    @property
    def _scratch(self) -> str:
        """How a run's scratch tables are created: PostgreSQL writes no WAL for them, as
        they are rebuilt by every run and dropped at its end."""
        return "UNLOGGED " if self.dialect == "postgres" else ""

    @property
    def _temporary_current(self) -> bool:
        """Whether this run's model rows go to a temporary table of the planner's session.

        On PostgreSQL they do, so that the model's SQL can fill it inside a read-only
        transaction (which may write temporary tables only): a model then cannot change
        the warehouse, as on the local planner's read-only session. Every statement that
        reads the table must run on that session.
        """
        return self.dialect == "postgres"

    def table(self, table: str) -> str:
        """The qualified, quoted name of one of the sync's tables (PostgreSQL quoting)."""
        if table == "current" and self._temporary_current:
            return f"pg_temp.{quote(table_name(self.sync_id, table))}"
        return f"{quote(self.schema)}.{quote(table_name(self.sync_id, table))}"

    def create_schema(self) -> str:
        return self.render(f"CREATE SCHEMA IF NOT EXISTS {quote(self.schema)}")

    def create_tables(self) -> list[str]:
        """The sync's lasting tables, created when missing.

        On PostgreSQL the snapshot is indexed by key, so that folding a run's journal in
        costs in proportion to the journal, not to the snapshot.
        """
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.table('snapshot')} "
            "(key TEXT, fp TEXT, ext TEXT, doubt TEXT)",
            f"CREATE TABLE IF NOT EXISTS {self.table('failed')} "
            "(key TEXT, operation TEXT, reason TEXT, attempts INTEGER)",
            f"CREATE TABLE IF NOT EXISTS {self.table('journal')} (key TEXT, kind TEXT, "
            "operation TEXT, fp TEXT, ext TEXT, reason TEXT, attempts INTEGER, "
            "batch BIGINT)",
            f"CREATE TABLE IF NOT EXISTS {self.table('meta')} (name TEXT, value TEXT)",
        ]
        if self.dialect == "postgres":
            index = quote(table_name(self.sync_id, "snapshot_key"))
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {index} ON {self.table('snapshot')} (key)"
            )
        return [self.render(sql) for sql in statements]

    def table_exists(self, table: str) -> str:
        """How many of the sync's tables named ``table`` exist: 0 or 1."""
        return self.render(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
            f"{literal(self.schema)} AND table_name = {literal(table_name(self.sync_id, table))}"
        )

    def holds_state(self) -> str:
        """Whether any lasting table holds a row: without one, the sync has no state."""
        exists = (
            f"EXISTS (SELECT 1 FROM {self.table(table)})"
            for table in ("snapshot", "failed", "journal")
        )
        return self.render(f"SELECT {' OR '.join(exists)}")

    def drop_tables(self, tables: Sequence[str] = TABLES) -> list[str]:
        """Drop ``tables``; on PostgreSQL also a ``current`` table left in the planner's
        schema by a version that kept it there."""
        names = [self.table(table) for table in tables]
        if "current" in tables and self._temporary_current:
            names.append(f"{quote(self.schema)}.{quote(table_name(self.sync_id, 'current'))}")
        return [self.render(f"DROP TABLE IF EXISTS {name}") for name in names]

    def load_current(
        self,
        model: str,
        fields: Sequence[pa.Field],
        *,
        primary_key: str,
        id_column: str,
        salt: str,
        read_forms: Mapping[str, str] | None = None,
    ) -> list[str]:
        """This run's model rows: referenced columns, canonical key, fingerprint and id.

        ``read_forms`` names the columns the source reads in a form of its own, with that
        form, which the fingerprint follows (see :func:`read_form_marked`).

        The last statement runs the model's SQL. On PostgreSQL the first creates the
        empty temporary table (planned, not run), so that the last, an ``INSERT``, can
        run in a read-only transaction (see :meth:`_temporary_current`).
        """
        names = [field.name for field in fields]
        canonical = {
            field.name: canonical_expression(field.name, field, self.dialect) for field in fields
        }
        forms = read_forms or {}
        fingerprinted = [
            read_form_marked(canonical[field.name], field, forms.get(field.name), self.dialect)
            for field in sorted(fields, key=lambda field: field.name)
            if field.name != primary_key
        ]
        projection = ", ".join(
            [quote(name) for name in names]
            + [
                f"{canonical[primary_key]} AS _sl_key",
                f"{fingerprint_expression(fingerprinted, salt, self.dialect)} AS _sl_fp",
                f"CAST({quote(id_column)} AS TEXT) AS _sl_ext",
                "ROW_NUMBER() OVER () AS _sl_pos",
            ]
        )
        current = self.table("current")
        query = f"SELECT {projection} FROM {MODEL} AS m"
        if not self._temporary_current:
            return [self.render(f"CREATE {self._scratch}TABLE {current} AS {query}", model)]
        name = quote(table_name(self.sync_id, "current"))
        return [
            self.render(f"CREATE TEMPORARY TABLE {name} AS {query} WITH NO DATA", model),
            self.render(f"INSERT INTO {current} {query}", model),
        ]

    def index_unique_keys(self) -> str:
        """A unique index of this run's keys: PostgreSQL builds it faster than it groups
        the keys, and refuses it exactly when a key repeats (NULL keys never clash)."""
        index = quote(table_name(self.sync_id, "current_key"))
        return self.render(
            f'CREATE UNIQUE INDEX {index} ON {self.table("current")} (_sl_key COLLATE "C")'
        )

    def count_null_keys(self) -> str:
        return self.render(f"SELECT COUNT(*), COUNT(_sl_key) FROM {self.table('current')}")

    def repeated_keys(self, limit: int) -> str:
        return self.render(
            f"SELECT _sl_key, COUNT(*) FROM {self.table('current')} WHERE _sl_key IS NOT NULL "
            f"GROUP BY _sl_key HAVING COUNT(*) > 1 ORDER BY _sl_key LIMIT {int(limit)}"
        )

    def count_repeated_keys(self) -> str:
        return self.render(
            f"SELECT COUNT(*) FROM (SELECT _sl_key FROM {self.table('current')} "
            "WHERE _sl_key IS NOT NULL GROUP BY _sl_key HAVING COUNT(*) > 1) AS r"
        )

    def make_plan(
        self,
        columns: Sequence[str],
        *,
        every_row: bool,
        full_resync: bool,
        snapshot_empty: bool = False,
    ) -> str:
        """The planned rows with their model columns; see the local planner's ``diff``.

        ``snapshot_empty`` says every row will be planned, so that on PostgreSQL the model
        columns travel through the join rather than being fetched row by row after it.
        """
        current, snapshot, failed = (self.table(t) for t in ("current", "snapshot", "failed"))
        model_columns = ", ".join(f"c.{quote(name)}" for name in columns)
        if full_resync:
            sql = (
                f"CREATE {self._scratch}TABLE {self.table('plan')} AS SELECT c._sl_key, "
                "CAST('added' AS TEXT) AS _sl_op, c._sl_fp, c._sl_ext, "
                "COALESCE(f.attempts, 0) AS _sl_attempts, CAST(NULL AS TEXT) AS _sl_doubt, "
                f"c._sl_pos, {model_columns} FROM {current} AS c "
                f"LEFT JOIN {failed} AS f ON f.key = c._sl_key WHERE c._sl_key IS NOT NULL"
            )
            return self.render(sql)
        changed = (
            "TRUE"
            if every_row
            else (
                "s.key IS NULL OR c._sl_key IS NULL OR s.fp IS NULL OR c._sl_fp <> s.fp "
                "OR f.key IS NOT NULL"
            )
        )
        diffed = (
            "COALESCE(c._sl_key, s.key) AS _sl_key, "
            "CASE WHEN s.key IS NULL THEN 'added' WHEN c._sl_key IS NULL THEN 'removed' "
            "WHEN s.doubt = 'added' THEN 'added' ELSE 'changed' END AS _sl_op, "
            "c._sl_fp, COALESCE(c._sl_ext, s.ext) AS _sl_ext, "
            "COALESCE(f.attempts, 0) AS _sl_attempts, s.doubt AS _sl_doubt, c._sl_pos"
        )
        joins = (
            f"FULL JOIN {snapshot} AS s ON c._sl_key = s.key "
            f"LEFT JOIN {failed} AS f ON f.key = COALESCE(c._sl_key, s.key) "
            f"WHERE {changed}"
        )
        if self.dialect == "postgres" and not every_row and not snapshot_empty:
            return self._make_plan_narrow(columns, diffed, joins)
        sql = (
            f"CREATE {self._scratch}TABLE {self.table('plan')} AS SELECT {diffed}, "
            f"{model_columns} FROM (SELECT * FROM {current} WHERE _sl_key IS NOT NULL) AS c "
            f"{joins}"
        )
        return self.render(sql)

    def _make_plan_narrow(self, columns: Sequence[str], diffed: str, joins: str) -> str:
        """The plan on PostgreSQL: the diff joins only keys and fingerprints, and the model
        columns of the few planned rows are then fetched by their row address (``ctid``),
        so that the whole model is never held in the join's hash table."""
        current = self.table("current")
        model_columns = ", ".join(f"m.{quote(name)}" for name in columns)
        selected = ", ".join(quote(name) for name in columns)
        sql = (
            f"CREATE {self._scratch}TABLE {self.table('plan')} AS "
            f"WITH d AS MATERIALIZED (SELECT {diffed}, c._sl_row "
            "FROM (SELECT _sl_key, _sl_fp, _sl_ext, _sl_pos, ctid AS _sl_row "
            f"FROM {current} WHERE _sl_key IS NOT NULL) AS c {joins}), "
            f"m AS (SELECT ctid AS _sl_row, {selected} FROM {current} WHERE ctid = ANY(ARRAY("
            "SELECT _sl_row FROM d WHERE _sl_row IS NOT NULL))) "
            "SELECT d._sl_key, d._sl_op, d._sl_fp, d._sl_ext, d._sl_attempts, d._sl_doubt, "
            f"d._sl_pos, {model_columns} FROM d LEFT JOIN m ON m._sl_row = d._sl_row"
        )
        return self.render(sql)

    def take_over_removed(self) -> str:
        """Mark the removed keys whose external id a model row holds as taken over (see
        :data:`~syncline.engine.planner.base.TAKEN_OVER`); this run's table holds every
        model row."""
        return self.render(
            f"UPDATE {self.table('plan')} SET _sl_op = {literal(TAKEN_OVER)} "
            "WHERE _sl_op = 'removed' AND _sl_ext IN "
            f"(SELECT _sl_ext FROM {self.table('current')} WHERE _sl_key IS NOT NULL)"
        )

    def plan_holders(self, columns: Sequence[str]) -> str:
        """Add the model rows holding a taken-over record (see
        :data:`~syncline.engine.planner.base.TAKEN_OVER`) to the plan as changed, when
        it does not plan them already: the record keeps the departed row's values until
        the holding row is sent again."""
        plan, current, snapshot = (self.table(t) for t in ("plan", "current", "snapshot"))
        named = "".join(f", {quote(name)}" for name in columns)
        model_columns = "".join(f", c.{quote(name)}" for name in columns)
        return self.render(
            f"INSERT INTO {plan} (_sl_key, _sl_op, _sl_fp, _sl_ext, _sl_attempts, _sl_doubt, "
            f"_sl_pos{named}) SELECT c._sl_key, 'changed', c._sl_fp, c._sl_ext, 0, s.doubt, "
            f"c._sl_pos{model_columns} FROM {current} AS c "
            f"LEFT JOIN {snapshot} AS s ON s.key = c._sl_key WHERE c._sl_key IS NOT NULL "
            f"AND c._sl_ext IN (SELECT _sl_ext FROM {plan} WHERE _sl_op = {literal(TAKEN_OVER)}) "
            f"AND NOT EXISTS (SELECT 1 FROM {plan} AS p WHERE p._sl_key = c._sl_key)"
        )

    def distrust_holders(self) -> str:
        """Make unknown the snapshot entries of the rows :meth:`plan_holders` added."""
        return self.render(holders_distrust_sql(self.table("plan"), self.table("snapshot")))

    def plan_replaced(self) -> str:
        """Add the records a changed external id replaced to the plan, as removed (see
        :func:`~syncline.engine.planner.base.replaced_plan_sql`)."""
        snapshot, failed = self.table("snapshot"), self.table("failed")
        return self.render(replaced_plan_sql(self.table("plan"), snapshot, failed, "", ""))

    def keep_replaced(self) -> str:
        """Enter the replaced records the plan removes in the snapshot, as delivered."""
        snapshot = self.table("snapshot")
        return self.render(
            f"INSERT INTO {snapshot} (key, fp, ext, doubt) SELECT p._sl_key, NULL, p._sl_ext, "
            f"NULL FROM {self.table('plan')} AS p WHERE p._sl_op = 'removed' AND NOT EXISTS "
            f"(SELECT 1 FROM {snapshot} AS s WHERE s.key = p._sl_key)"
        )

    def plan_counts(self) -> str:
        return self.render(f"SELECT _sl_op, COUNT(*) FROM {self.table('plan')} GROUP BY _sl_op")

    def planned_rows(self, columns: Sequence[str], operation: str, in_doubt: bool | None) -> str:
        """One operation's planned rows, in model order, removed rows last."""
        where = f"_sl_op = {literal(operation)}"
        if in_doubt is not None:
            where += f" AND _sl_doubt IS {'NOT ' if in_doubt else ''}NULL"
        selected = ", ".join(
            ["_sl_key", "_sl_op", "_sl_fp", "_sl_ext", "_sl_attempts", "_sl_doubt"]
            + [quote(name) for name in columns]
        )
        return self.render(
            f"SELECT {selected} FROM {self.table('plan')} WHERE {where} "
            "ORDER BY _sl_pos NULLS LAST, _sl_key"
        )

    def snapshot_size(self) -> str:
        return self.render(f"SELECT COUNT(*) FROM {self.table('snapshot')}")

    def absent_size(self) -> str:
        """How many snapshot entries name a key the model's current rows lack."""
        # An anti-join: PostgreSQL runs NOT IN row by row once its subquery outgrows
        # work_mem.
        return self.render(
            f"SELECT COUNT(*) FROM {self.table('snapshot')} AS s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.table('current')} AS c WHERE c._sl_key = s.key)"
        )

    def journal_size(self) -> str:
        """Journal entries to fold (a pending clear is none) and the last batch's number."""
        return self.render(
            f"SELECT COUNT(CASE WHEN kind <> {literal(CLEAR_PENDING)} THEN 1 END), "
            f"MAX(batch) FROM {self.table('journal')}"
        )

    def begin_journal(self, run_id: int) -> list[str]:
        """Name ``run_id`` as the run whose outcomes the journal holds."""
        return [
            self.render(self._forget_journal_run()),
            self.render(
                f"INSERT INTO {self.table('meta')} (name, value) "
                f"VALUES ({literal(JOURNAL_RUN)}, {literal(str(int(run_id)))})"
            ),
        ]

    def journal_run(self) -> str:
        """The run the journal names, if any."""
        return self.render(
            f"SELECT value FROM {self.table('meta')} WHERE name = {literal(JOURNAL_RUN)}"
        )

    def journal_outcomes(self) -> str:
        """Rows acknowledged in answer to a batch, and rows rejected, by kind and operation."""
        return self.render(
            f"SELECT kind, operation, COUNT(*) FROM {self.table('journal')} "
            "WHERE (kind = 'ack' AND batch IS NOT NULL) OR kind = 'fail' "
            "GROUP BY kind, operation"
        )

    def journal_rejections(self) -> str:
        """The journal's rejected rows: key, operation, reason and attempts."""
        return self.render(
            f"SELECT key, operation, reason, attempts FROM {self.table('journal')} "
            "WHERE kind = 'fail' ORDER BY batch, key"
        )

    def _forget_journal_run(self) -> str:
        return f"DELETE FROM {self.table('meta')} WHERE name = {literal(JOURNAL_RUN)}"

    def begin_full_load(self, *, clear: bool, forget: bool = False) -> list[str]:
        """Distrust the snapshot before a full resync sends (see the local store's
        ``begin_full_load``); with ``clear``, empty it and journal the clear as pending;
        with ``forget``, empty it only."""
        snapshot, journal = self.table("snapshot"), self.table("journal")
        if clear:
            statements = [
                f"DELETE FROM {snapshot}",
                f"DELETE FROM {journal} WHERE kind = {literal(CLEAR_PENDING)}",
                f"INSERT INTO {journal} (kind) VALUES ({literal(CLEAR_PENDING)})",
            ]
        elif forget:
            statements = [f"DELETE FROM {snapshot}"]
        else:
            current = f"SELECT _sl_key FROM {self.table('current')} WHERE _sl_key IS NOT NULL"
            statements = [
                f"DELETE FROM {snapshot} WHERE key NOT IN ({current})",
                f"UPDATE {snapshot} SET fp = NULL, doubt = 'added'",
            ]
        if self.dialect == "postgres":
            statements.append(f"ANALYZE {snapshot}")
        return [self.render(sql) for sql in statements]

    def distrust(self) -> list[str]:
        """Make every snapshot entry unknown, as sent with ``added`` (see the local
        store's ``distrust``)."""
        statements = [f"UPDATE {self.table('snapshot')} SET fp = NULL, doubt = 'added'"]
        return [self.render(sql) for sql in statements]

    def clear_pending(self) -> str:
        return self.render(
            f"SELECT COUNT(*) FROM {self.table('journal')} WHERE kind = {literal(CLEAR_PENDING)}"
        )

    def settle_clear(self) -> str:
        return self.render(
            f"DELETE FROM {self.table('journal')} WHERE kind = {literal(CLEAR_PENDING)}"
        )

    def withdraw(self, keys: Sequence[str]) -> str:
        listed = ", ".join(literal(key) for key in keys)
        return self.render(
            f"DELETE FROM {self.table('journal')} WHERE kind = 'doubt' AND key IN ({listed})"
        )

    def record_unsent(self, planned: str, operation: str | None = None) -> str:
        """Journal the rows planned as ``planned`` as acknowledged, never sent, under
        ``operation`` (by default ``planned``)."""
        return self.render(
            f"INSERT INTO {self.table('journal')} "
            "(key, kind, operation, fp, ext, reason, attempts, batch) "
            f"SELECT _sl_key, 'ack', {literal(operation or planned)}, _sl_fp, _sl_ext, "
            f"NULL, 0, NULL FROM {self.table('plan')} WHERE _sl_op = {literal(planned)}"
        )

    def merge(self) -> list[str]:
        """Fold the journal in: acknowledged entries replace the snapshot's, doubts left
        without an outcome become unknown entries, rejections replace the failed index."""
        journal, snapshot, failed = (self.table(t) for t in ("journal", "snapshot", "failed"))
        unsettled = (
            f"SELECT d.key, d.operation, d.ext FROM {journal} AS d WHERE d.kind = 'doubt' "
            f"AND NOT EXISTS (SELECT 1 FROM {journal} AS o WHERE o.key = d.key "
            "AND o.kind <> 'doubt')"
        )
        # The journal stays as it is until the last statement, so every statement sees
        # the same unsettled doubts.
        statements = [
            f"DELETE FROM {snapshot} WHERE key IN (SELECT key FROM {journal} "
            f"WHERE kind = 'ack' UNION ALL SELECT u.key FROM ({unsettled}) AS u)",
            f"INSERT INTO {snapshot} (key, fp, ext, doubt) SELECT u.key, NULL, u.ext, "
            f"u.operation FROM ({unsettled}) AS u",
            f"INSERT INTO {snapshot} (key, fp, ext, doubt) SELECT key, fp, ext, NULL "
            f"FROM {journal} WHERE kind = 'ack' AND operation <> 'removed'",
            f"DELETE FROM {failed} WHERE key IN (SELECT key FROM {journal} "
            "WHERE kind IN ('ack', 'fail'))",
            f"INSERT INTO {failed} (key, operation, reason, attempts) "
            f"SELECT key, operation, reason, attempts FROM {journal} WHERE kind = 'fail'",
            f"DELETE FROM {journal} WHERE kind <> {literal(CLEAR_PENDING)}",
            self._forget_journal_run(),
        ]
        if self.dialect == "postgres":
            # A run's journal is new to PostgreSQL's statistics; taken for a row or two, its
            # doubts would be matched to its outcomes by a nested loop, row by row.
            statements.insert(0, f"ANALYZE {journal}")
        return [self.render(sql) for sql in statements]

    def replace_baseline(self) -> list[str]:
        """Make this run's rows the snapshot; on PostgreSQL the old rows are truncated
        rather than deleted, so that they leave no dead rows for the next diff to scan."""
        snapshot = self.table("snapshot")
        empty = "TRUNCATE TABLE" if self.dialect == "postgres" else "DELETE FROM"
        statements = [
            f"{empty} {snapshot}",
            f"INSERT INTO {snapshot} (key, fp, ext, doubt) SELECT _sl_key, _sl_fp, _sl_ext, "
            f"NULL FROM {self.table('current')} WHERE _sl_key IS NOT NULL",
            f"DELETE FROM {self.table('failed')}",
            f"DELETE FROM {self.table('journal')}",
            self._forget_journal_run(),
        ]
        if self.dialect == "postgres":
            statements.append(f"ANALYZE {snapshot}")
        return [self.render(sql) for sql in statements]

    def forget_absent(self, *, snapshot: bool) -> list[str]:
        current = f"SELECT _sl_key FROM {self.table('current')} WHERE _sl_key IS NOT NULL"
        statements = []
        if snapshot:
            statements.append(f"DELETE FROM {self.table('snapshot')} WHERE key NOT IN ({current})")
        statements.append(
            f"DELETE FROM {self.table('failed')} WHERE key NOT IN "
            f"(SELECT key FROM {self.table('snapshot')}) AND key NOT IN ({current})"
        )
        return [self.render(sql) for sql in statements]

    def carried_entries(self) -> str:
        """Every snapshot key with its external id, as the other planner takes them over."""
        return self.render(f"SELECT key, ext FROM {self.table('snapshot')} ORDER BY key")

    def empty_state(self) -> list[str]:
        """Empty the snapshot, the failed-row index and the journal (which names no run
        once empty)."""
        tables = ("snapshot", "failed", "journal")
        statements = [f"DELETE FROM {self.table(table)}" for table in tables]
        statements.append(f"DELETE FROM {self.table('meta')} WHERE name = {literal(JOURNAL_RUN)}")
        return [self.render(sql) for sql in statements]

    def journal_clear(self) -> str:
        """Journal a clear of the destination's object as pending."""
        return self.render(
            f"INSERT INTO {self.table('journal')} (kind) VALUES ({literal(CLEAR_PENDING)})"
        )

    def failed_rows(self) -> str:
        return self.render(
            f"SELECT key, operation, reason, attempts FROM {self.table('failed')} ORDER BY key"
        )
