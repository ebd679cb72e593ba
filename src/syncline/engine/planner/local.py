"""The local planner: ingest a model's rows into DuckDB and diff them against the snapshot.

Rows arrive as Arrow record batches and stay columnar: DuckDB computes each row's
canonical key and fingerprint and joins it to the snapshot as the rows stream in, in
one full outer join that also finds the snapshot's keys the model lost, and spills to
disk under its memory limit. Only JSON columns pass through Python, for their canonical
form. A row whose prefilter (a cheap hash, see
:func:`~syncline.engine.canonical.prefilter_sql`) equals its snapshot entry's takes
that entry's fingerprint: the md5 is computed only for new, changed and unknown rows.

That one join leaves every row with its *state* (unchanged, added, changed, unknown,
removed, or without a key), so the diff and the check for repeated keys afterwards are
scans of a narrow table rather than a second join against the snapshot.

DuckDB's tables stay narrow: key, fingerprint, state, id and the row's position, for
the rows a run may plan only (unchanged rows are dropped in the join). Against a
snapshot, DuckDB carries the model's columns of those rows too, when their types come
back out of it exactly; otherwise (and for a first run, a full resync or mode ``all``,
which plan every row) the columns go to a
:class:`~syncline.engine.planner.rowfile.RowFile` on disk as they stream in, and only
the planned rows are fetched back from it, by position. The row file always holds the
primary key, to name repeated keys.

DuckDB works under the join budget (``SYNCLINE_PLANNER_JOIN_MEMORY``), reaching for
the memory cap only in that one-pass join against a snapshot that fits the budget. A
snapshot too large for it is joined narrow instead: only each row's key, prefilter,
position and id go through the join, under the budget, so that DuckDB partitions and
spills narrow rows rather than holding the snapshot's hash table or spilling every
model column. The
columns go to the row file as they stream in, and the rows the prefilter does not vouch
for (the few new, changed and unknown ones) are fingerprinted in a second, small step,
their columns read back from it. Both ways give the same table, and so the same plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from syncline.connectors.sources._arrow import rebatch
from syncline.connectors.sources.base import ROW_HASH_COLUMN
from syncline.engine.canonical import (
    FINGERPRINT_SCHEME,
    canonical_json_array,
    canonical_sql,
    fingerprint_sql,
    hashes_exactly,
    is_json_canonical,
    prefilter_sql,
    quote_identifier,
)
from syncline.engine.planner.base import (
    TAKEN_OVER,
    count_plan,
    fold_journal,
    may_replace,
    may_take_over,
    repeated_key_error,
    replaced_plan_sql,
)
from syncline.engine.planner.prefetch import DEFAULT_DEPTH, close_now, prefetched
from syncline.engine.planner.rowfile import RowFile, remove_stale
from syncline.engine.planner.store import DEFAULT_LOCK_WAIT_SECONDS, SnapshotStore
from syncline.engine.planner.windows import (
    BUDGET_SHARE,
    FEW_ROWS,
    Window,
    cuts,
    plan_windows,
    range_width,
    row_bytes_sql,
)
from syncline.engine.report import InterruptedOutcome, Operation, RowCounts
from syncline.errors import RunError, UserError
from syncline.settings import memory_bytes

logger = logging.getLogger(__name__)

JOINED = "scratch.joined"
"""Scratch table of the model's rows joined to the snapshot: key, fingerprint, prefilter,
whether the fingerprint was computed afresh, state, position, id; plus one row per
snapshot key the model lost (state removed, no fingerprint). An unchanged row whose
stored fingerprint was taken and whose key has no failed row is left out, unless the
planner keeps every row: nothing the run does needs it. The external id is the id as
text, made where it is needed, so that this table, held under the planner's memory cap,
stays narrow."""

CURRENT = "scratch.current"
"""View of :data:`JOINED` holding this run's model rows only (those kept, see there)."""

EXTERNAL_ID = "CAST(c._sl_id AS VARCHAR)"
"""The external id of a row of :data:`CURRENT` aliased ``c``, as the snapshot keeps it."""

_KEYS = "scratch.model_keys"
"""Scratch table of every model row's key, made only to name repeated keys."""

PLAN = "scratch.plan"
"""Scratch table of this run's planned rows: the changes, with their positions and ids
(a view of :data:`JOINED` when it would hold every model row)."""

_PROBED = "scratch.probed"
"""Scratch table of the narrow join (see :meth:`LocalPlanner._probe_sql`): the rows of
:data:`JOINED` before their fingerprint."""

_FRESH = "scratch.fresh"
"""Scratch table of the fingerprints the narrow join computes afresh, by position."""

_PROBED_COLUMNS = "_sl_key, _sl_in, _sl_known, _sl_s_key, _sl_s_fp, _sl_h, _sl_pos, _sl_id"
"""What the join to the snapshot gives each row, before its fingerprint."""

_VOUCHING_SNAPSHOT = (
    "SELECT key, fp, CASE WHEN fp IS NOT NULL AND doubt IS NULL THEN h END AS h FROM snapshot"
)
"""The snapshot's side of the join: three narrow columns per entry. Only a settled entry
with a prefilter can vouch for a fingerprint."""

_JOIN_BYTES_PER_ENTRY = 128
"""About what one snapshot entry takes in the join's hash table (measured: about 110
bytes for keys of up to 12 characters), to tell whether the snapshot fits the budget."""

_KEY_PASS_DEPTH = 16
"""Batches of a two-pass read's first pass (key and row hash, about 2 MB each) read ahead:
the server streams most of a large model's keys while DuckDB builds the snapshot's side
of the join, instead of waiting for DuckDB to ask for them."""

_POSITION = "_sl_pos"
_ID = "_sl_id"
_ROW_HASH = "_sl_row_h"
"""The staged column of the row hash a source computed (see :class:`TwoPassReader`)."""
_STATE = "_sl_state"

# A row's state after the join against the snapshot.
_UNCHANGED = 0
"""The fingerprint equals the settled snapshot entry's."""
_ADDED = 1
"""No snapshot entry has the key."""
_CHANGED = 2
"""The fingerprint differs from the snapshot entry's."""
_UNKNOWN = 3
"""The snapshot entry has no fingerprint: sent by a run that died before the answer."""
_REMOVED = 4
"""A snapshot key the model lost (a row of the snapshot, not of the model)."""
_NULL_KEY = 5
"""A model row whose key is NULL: skipped."""

_EXAMPLE_KEYS = 5

_WINDOW_BATCH = 1 << 16

_FETCH_EVERY_ROW_SHARE = 0.25
"""Above this share of the model's rows to fetch, the second pass of a two-pass read
reads every row rather than asking for so many by key."""


@dataclass(frozen=True)
class _Expressions:
    """The SQL of one ingest, shared by the one-pass and the narrow join."""

    key: str
    """The canonical key, as ``_sl_key``."""
    prefilter: str
    """The prefilter, as ``_sl_h``."""
    identity: str
    """The id column, as ``_sl_id``."""
    canonical: list[str]
    """The canonical string of each compared column, in fingerprint order."""
    fingerprint: str
    """The md5 fingerprint over the canonical columns named by :func:`_canon_name`."""
    passed: list[str]
    """Every staged model column (JSON ones canonicalised too)."""


@dataclass
class IngestStats:
    """What reading the model found."""

    query_size: int = 0
    null_keys: int = 0
    fetched: int | None = None
    """Rows read whole in a two-pass read (see :meth:`LocalPlanner.ingest_two_pass`)."""


@dataclass
class Plan:
    """How many rows of each operation the diff found."""

    counts: RowCounts = field(default_factory=RowCounts)
    snapshot_size: int = 0


class LocalPlanner:
    """Plans one run of one sync from a DuckDB snapshot file kept in ``snapshot_dir``."""

    def __init__(
        self,
        snapshot_dir: Path,
        sync_id: int,
        *,
        primary_key: str,
        id_column: str,
        memory_limit: str | None = None,
        join_memory: str | None = None,
        threads: int | None = None,
        in_memory: bool = False,
        rebuild: bool = False,
        every_row: bool = False,
        lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
        stop_waiting: Callable[[], bool] | None = None,
        settle: Callable[[InterruptedOutcome], None] | None = None,
    ) -> None:
        """``every_row`` (mode ``all``) and ``rebuild`` (a full resync or a CDC reset)
        keep every model row past the ingest; otherwise only the rows that may be planned
        or that update the snapshot are kept. ``lock_wait`` and ``stop_waiting`` say how
        long to wait for a snapshot file another run holds (see :class:`SnapshotStore`).
        ``settle`` receives what a killed run's journal holds before it is folded (see
        :func:`~syncline.engine.planner.base.fold_journal`)."""
        self.sync_id = sync_id
        self._keep_every_row = every_row or rebuild
        self._rows_read = 0
        self._projected = pa.schema([])
        self._plan_kind: str | None = None
        self._carried: list[str] = []
        """Model columns that DuckDB carries through the join for the rows it keeps; the
        row file then holds the primary key only."""
        self.narrow_join = False
        """Whether the last ingest joined narrow columns under the join budget (a snapshot
        too large for it) rather than every column in one pass."""
        self._every_key_source: Callable[[], Iterator[pa.RecordBatch]] | None = None
        """Reads every model row's key again, after a two-pass read (whose row file holds
        the fetched rows only)."""
        self.primary_key = primary_key
        self.id_column = id_column
        self.store = SnapshotStore(
            snapshot_dir,
            sync_id,
            memory_limit=memory_limit,
            join_memory=join_memory,
            threads=threads,
            in_memory=in_memory,
            rebuild=rebuild,
            lock_wait=lock_wait,
            stop_waiting=stop_waiting,
        )
        self.columns: list[str] = []
        self.column_types: dict[str, str] = {}
        self._row_folder = None if in_memory else snapshot_dir
        self._rows: RowFile | None = None
        # This run holds the snapshot file now, so files of the sync's killed runs can go.
        if not in_memory:
            remove_stale(snapshot_dir, self._row_label)
        # A run killed after acknowledging batches left them in the journal.
        try:
            fold_journal(self.store, settle)
        except BaseException:
            self.store.close()
            raise

    @property
    def keeps_every_row(self) -> bool:
        """Whether :meth:`ingest` keeps every model row, which planning every row needs."""
        return self._keep_every_row

    def keep_every_row(self) -> None:
        """Keep every model row from the next :meth:`ingest` on, as ``rebuild`` does: for
        a run that learns only once the model is read that it sends every row."""
        self._keep_every_row = True

    current_table = CURRENT
    """The table of this run's model rows, as the store's methods take it."""

    plan_table = PLAN
    """The table of this run's planned rows, as the store's methods take it."""

    @property
    def _row_label(self) -> str:
        return f"sync-{self.sync_id}"

    def ingest(
        self,
        batches: Iterator[pa.RecordBatch],
        schema: pa.Schema,
        columns: Sequence[str],
        *,
        salt: str = "",
        row_hashes: bool = False,
    ) -> IngestStats:
        """Load the model's referenced ``columns`` with canonical key and fingerprint.

        ``salt`` is hashed into every fingerprint: pass the sync's mappings, so that a
        mapping change makes every row a change. With ``row_hashes`` the batches end with
        the source's row hash (:data:`ROW_HASH_COLUMN`, see :class:`TwoPassReader`),
        which then serves as each row's prefilter.
        """
        stats = IngestStats()
        self._every_key_source = None
        hashed = row_hashes
        projected, json_columns, staged = self._staging(schema, columns, hashed=hashed)
        self.narrow_join = self._too_large_to_join()
        self._carried = [] if self.narrow_join else self._carry(projected)
        stored = self.columns if not self._carried else [self.primary_key]
        rows = self._rows = RowFile(
            pa.schema([projected.field(name) for name in stored]),
            self._row_folder,
            label=self._row_label,
        )

        def prepared() -> Iterator[pa.RecordBatch]:
            for batch in batches:
                stats.query_size += batch.num_rows
                picked = batch.select(self.columns)
                extra = [
                    canonical_json_array(picked.column(name), projected.field(name).type)
                    for name in json_columns
                ]
                first = rows.append(picked.select(stored))
                if hashed:
                    extra.append(_row_hashes(batch))
                extra.append(_positions(first, batch.num_rows))
                yield pa.RecordBatch.from_arrays(list(picked.columns) + extra, schema=staged)

        expressions = self._expressions(projected, json_columns, salt, hashed=hashed)
        con = self.store.connection
        # The source is read (and JSON canonicalised) on a thread of its own, so DuckDB
        # hashes one batch while the next is decoded.
        try:
            with self._incoming(prepared(), staged):
                if self.narrow_join:
                    con.execute(self._probe_sql(expressions))
                elif self.store.snapshot_size() == 0:
                    # Nothing to hold in memory: the rows DuckDB keeps may spill as they come.
                    con.execute(self._ingest_sql(expressions))
                else:
                    with self.store.at_cap():
                        con.execute(self._ingest_sql(expressions))
        finally:
            close_now(batches)
        rows.finish()
        self._rows_read = stats.query_size
        if self.narrow_join:
            self._fingerprint_probed(expressions, staged, json_columns)
        stats.null_keys = self._joined()
        logger.info(
            "sync %s: read %s model rows (%s with a NULL key, skipped)",
            self.sync_id,
            stats.query_size,
            stats.null_keys,
        )
        return stats

    def ingest_two_pass(
        self,
        keys: Iterator[pa.RecordBatch],
        fetch: Callable[[pa.Array | None], Iterator[pa.RecordBatch]],
        schema: pa.Schema,
        columns: Sequence[str],
        *,
        salt: str = "",
        every_key: Callable[[], Iterator[pa.RecordBatch]] | None = None,
    ) -> IngestStats:
        """Load the model from a source's two passes (see :class:`TwoPassReader`).

        ``keys`` are the first pass: each row's primary key and row hash. Joined to the
        snapshot, they leave the rows whose hash does not vouch for their entry (new,
        changed or unknown rows, and those the run must send again); ``fetch`` is given
        those rows' keys and yields them whole with their row hashes (given None, every
        row, of which the others are dropped), and only they are fingerprinted. The
        result is the table :meth:`ingest` makes from the same rows. ``every_key``
        reads the keys again, to name repeated ones.
        """
        if self._keep_every_row:
            raise RuntimeError("a planner that keeps every row reads the model in one pass")
        stats = IngestStats()
        projected, json_columns, staged = self._staging(schema, columns, hashed=True)
        self.narrow_join = False
        self._carried = []
        self._every_key_source = every_key
        rows = self._rows = RowFile(projected, self._row_folder, label=self._row_label)
        expressions = self._expressions(projected, json_columns, salt, hashed=True)
        key_field = projected.field(self.primary_key)
        con = self.store.connection

        def counted() -> Iterator[pa.RecordBatch]:
            for batch in keys:
                stats.query_size += batch.num_rows
                key = batch.column(batch.schema.get_field_index(self.primary_key))
                yield pa.RecordBatch.from_arrays([key, _row_hashes(batch)], schema=key_schema)

        key_schema = pa.schema([key_field, pa.field(_ROW_HASH, pa.uint64())])
        incoming = ", ".join(
            [
                f"{quote_identifier(self.primary_key)} AS _sl_raw",
                expressions.key,
                f"{quote_identifier(_ROW_HASH)} AS _sl_h",
                "TRUE AS _sl_in",
            ]
        )
        try:
            self._join_stream(
                counted(),
                key_schema,
                f"CREATE OR REPLACE TABLE {_PROBED} AS SELECT x.* FROM "
                f"({_joined_to_snapshot(incoming)}) x" + self._kept("NOT x._sl_known"),
                depth=_KEY_PASS_DEPTH,
            )
        finally:
            close_now(keys)
        self._rows_read = stats.query_size

        wanted = f"SELECT _sl_raw FROM {_PROBED} WHERE _sl_in AND _sl_key IS NOT NULL"
        counted_row = con.execute(f"SELECT count(*) FROM ({wanted})").fetchone()
        stats.fetched = int(counted_row[0]) if counted_row else 0
        if stats.fetched > _FETCH_EVERY_ROW_SHARE * stats.query_size:
            fetched = fetch(None)
        elif stats.fetched:
            fetched = fetch(con.execute(wanted).to_arrow_table().column(0).combine_chunks())
        else:
            fetched = iter(())
        try:
            self._fingerprint_fetched(fetched, expressions, staged, json_columns)
        finally:
            close_now(fetched)
        rows.finish()
        stats.null_keys = self._joined()
        logger.info(
            "sync %s: read %s model rows in two passes, %s of them whole (%s with a NULL "
            "key, skipped)",
            self.sync_id,
            stats.query_size,
            stats.fetched,
            stats.null_keys,
        )
        return stats

    def _joined(self) -> int:
        """Take up :data:`JOINED` as the ingest left it: the view :data:`CURRENT` of its
        model rows and their column types; returns how many rows have a NULL key."""
        con = self.store.connection
        con.execute(
            f"CREATE OR REPLACE VIEW {CURRENT} AS "
            f"SELECT * FROM {JOINED} WHERE {_STATE} <> {_REMOVED}"
        )
        self.column_types = {
            str(name): str(kind) for name, kind, *_ in con.execute(f"DESCRIBE {CURRENT}").fetchall()
        }
        row = con.execute(f"SELECT count(*) FROM {JOINED} WHERE {_STATE} = {_NULL_KEY}").fetchone()
        return int(row[0]) if row else 0

    def _join_stream(
        self,
        batches: Iterator[pa.RecordBatch],
        schema: pa.Schema,
        statement: str,
        depth: int = DEFAULT_DEPTH,
    ) -> None:
        """Run ``statement`` on ``batches`` registered as ``_sl_incoming`` and read on a
        thread of their own, the snapshot the side DuckDB builds (see :meth:`ingest`).

        Under the join budget: only narrow rows (key, hash, position) meet the snapshot,
        and the few fetched rows are not carried through its join.
        """
        # Read from the start: the source works while DuckDB builds the join's other side.
        with self._incoming(batches, schema, depth=depth, start=True):
            self.store.connection.execute(statement)

    @contextmanager
    def _incoming(
        self,
        batches: Iterator[pa.RecordBatch],
        schema: pa.Schema,
        *,
        depth: int = DEFAULT_DEPTH,
        start: bool = False,
    ) -> Iterator[None]:
        """``batches`` as the table ``_sl_incoming`` of the statements run inside, read on a
        thread of their own (from the start with ``start``, else when DuckDB first asks).

        A failing source's own error is raised in place of the one DuckDB reports for it.
        """
        failures: list[BaseException] = []
        ahead = prefetched(_failures_kept(batches, failures), depth, start=start)
        con = self.store.connection
        try:
            con.register("_sl_incoming", pa.RecordBatchReader.from_batches(schema, ahead))
            # DuckDB cannot count a stream's rows, takes it for the smaller side of the join
            # and would hold all of it in a hash table: the snapshot must be the side built.
            con.execute("SET disabled_optimizers = 'build_side_probe_side'")
            try:
                yield
            except duckdb.Error:
                if failures:
                    raise failures[0] from None
                raise
            finally:
                con.execute("RESET disabled_optimizers")
                con.unregister("_sl_incoming")
        finally:
            # Stops the reading thread now, even on a failure, so that it is out of the
            # source (which the caller then closes) and out of the row file.
            ahead.close()

    def _fingerprint_fetched(
        self,
        fetched: Iterator[pa.RecordBatch],
        sql: _Expressions,
        staged: pa.Schema,
        json_columns: list[str],
    ) -> None:
        """Second pass: put the fetched rows in the row file, fingerprint those the first
        pass asked for, and give every probed row its state in :data:`JOINED`.

        Raises:
            RunError: the fetched rows are not exactly the rows asked for, once each: the
                model's query returned other rows the second time.
        """
        rows = self._rows
        assert rows is not None

        def prepared() -> Iterator[pa.RecordBatch]:
            for batch in fetched:
                picked = batch.select(self.columns)
                extra = [
                    canonical_json_array(picked.column(name), self._projected.field(name).type)
                    for name in json_columns
                ]
                first = rows.append(picked)
                extra += [_row_hashes(batch), _positions(first, batch.num_rows)]
                yield pa.RecordBatch.from_arrays(list(picked.columns) + extra, schema=staged)

        canonical_columns = ", ".join(
            f"{expression} AS {_canon_name(i)}" for i, expression in enumerate(sql.canonical)
        )
        con = self.store.connection
        self._join_stream(
            prepared(),
            staged,
            f"CREATE OR REPLACE TABLE {_FRESH} AS SELECT f._sl_key, f._sl_h, f.{_POSITION}, "
            f"f.{_ID}, "
            f"{sql.fingerprint} AS _sl_fp FROM (SELECT {_POSITION}, {sql.key}, {sql.prefilter}, "
            f"{sql.identity}, {canonical_columns} FROM _sl_incoming) f "
            f"SEMI JOIN {_PROBED} p ON p._sl_key = f._sl_key AND p._sl_in",
        )
        # Distinct keys counted over a DISTINCT subquery, which DuckDB spills to disk when
        # long keys outgrow its memory; count(DISTINCT ...) would not.
        checked = con.execute(
            f"SELECT (SELECT count(*) FROM (SELECT DISTINCT _sl_key FROM {_PROBED} "
            f"WHERE _sl_in AND _sl_key IS NOT NULL)), "
            f"(SELECT count(_sl_key) FROM {_PROBED} WHERE _sl_in), "
            f"(SELECT count(*) FROM {_FRESH}), "
            f"(SELECT count(*) FROM (SELECT DISTINCT _sl_key FROM {_FRESH} "
            "WHERE _sl_key IS NOT NULL))"
        ).fetchone()
        asked, rows_asked, got, distinct = (int(v) for v in checked) if checked else (0,) * 4
        if rows_asked != asked or got != distinct:
            # Two rows of one key: the model's own repeat, read once in each pass or both
            # in the second (one of them vouched for), is reported as such.
            self._check_every_key()
        if got != asked or distinct != got:
            raise RunError(
                f"the model's query returned other rows when read a second time in the same "
                f"transaction ({asked} rows asked for by key, {got} returned, {distinct} "
                "distinct keys): it is not repeatable (random(), LIMIT without ORDER BY, a "
                "volatile function); make it repeatable, or set the source's twoPassReads "
                "to false to read it in one pass",
                code="MODEL_NOT_REPEATABLE",
                sync_id=self.sync_id,
            )
        joined = (
            f"SELECT p._sl_key, p._sl_in, p._sl_known, p._sl_s_key, p._sl_s_fp, "
            f"coalesce(f._sl_h, p._sl_h) AS _sl_h, f.{_POSITION}, f.{_ID}, "
            f"CASE WHEN p._sl_known THEN p._sl_s_fp WHEN p._sl_in THEN f._sl_fp END AS _sl_fp "
            f"FROM {_PROBED} p LEFT JOIN {_FRESH} f ON f._sl_key = p._sl_key"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {JOINED} AS SELECT {self._outer_columns()} FROM ({joined})"
        )
        con.execute(f"DROP TABLE {_FRESH}")
        con.execute(f"DROP TABLE {_PROBED}")

    def _carry(self, projected: pa.Schema) -> list[str]:
        """The model columns DuckDB should carry for the rows it keeps, or none.

        Carrying spares writing every model row to the row file, which costs more than
        the diff itself, when few rows are kept: a run against a snapshot that does not
        plan every row. Only types that come back out of DuckDB exactly are carried.
        """
        if self._keep_every_row or self.store.snapshot_size() == 0:
            return []
        if not all(_round_trips(projected.field(name).type) for name in self.columns):
            return []
        return list(self.columns)

    def _too_large_to_join(self) -> bool:
        """True when the snapshot's side of the join would outgrow the join budget.

        Joined in one pass, every model column rides through the join, and DuckDB would
        spill those wide rows once the snapshot's hash table outgrows its limit: fast
        while the snapshot fits, slow (or as large as the snapshot) beyond it.
        """
        entries = self.store.snapshot_size()
        return entries * _JOIN_BYTES_PER_ENTRY > memory_bytes(self.store.join_memory)

    def _staging(
        self, schema: pa.Schema, columns: Sequence[str], *, hashed: bool
    ) -> tuple[pa.Schema, list[str], pa.Schema]:
        """Take up the model's ``columns``: their schema, the JSON ones among them, and the
        schema of the batches staged for DuckDB (the columns, their canonical JSON, the
        row hash when ``hashed``, the position)."""
        self.columns = list(columns)
        _check_names(schema.names[:-1] if hashed else schema.names, self.columns)
        json_columns = [name for name in self.columns if is_json_canonical(schema.field(name))]
        projected = pa.schema([schema.field(name) for name in self.columns])
        staged = pa.schema(
            list(projected)
            + [pa.field(_json_name(i), pa.string()) for i in range(len(json_columns))]
            + ([pa.field(_ROW_HASH, pa.uint64())] if hashed else [])
            + [pa.field(_POSITION, pa.int64())]
        )
        if self._rows is not None:
            self._rows.close()
        self._projected = projected
        return projected, json_columns, staged

    def row_hash_signature(
        self, schema: pa.Schema, columns: Sequence[str], *, salt: str = ""
    ) -> tuple[list[str], str]:
        """The compared columns, in fingerprint order, and the signature a source's row
        hash over them must be seeded with (see :class:`TwoPassReader`): it names what
        the prefilter depends on, so a change of mappings or types changes every hash."""
        json_columns = [name for name in columns if is_json_canonical(schema.field(name))]
        projected = pa.schema([schema.field(name) for name in columns])
        compared = sorted(name for name in columns if name != self.primary_key)
        return compared, _signature(projected, compared, json_columns, salt)

    def _expressions(
        self, projected: pa.Schema, json_columns: list[str], salt: str, *, hashed: bool = False
    ) -> _Expressions:
        """The SQL that canonicalises, prefilters and fingerprints one model row; the
        prefilter is the source's row hash when ``hashed``, else DuckDB's hash."""
        canonical: dict[str, str] = {}
        hashed_values: dict[str, str] = {}
        for name in self.columns:
            kind = projected.field(name).type
            if name in json_columns:
                canonical[name] = quote_identifier(_json_name(json_columns.index(name)))
                hashed_values[name] = canonical[name]
            else:
                canonical[name] = canonical_sql(name, kind)
                hashed_values[name] = (
                    quote_identifier(name) if hashes_exactly(kind) else canonical[name]
                )
        compared = sorted(name for name in self.columns if name != self.primary_key)
        signature = _signature(projected, compared, json_columns, salt)
        prefilter = (
            quote_identifier(_ROW_HASH)
            if hashed
            else prefilter_sql([hashed_values[name] for name in compared], signature)
        )
        return _Expressions(
            key=f"{canonical[self.primary_key]} AS _sl_key",
            prefilter=f"{prefilter} AS _sl_h",
            identity=f"{quote_identifier(self.id_column)} AS {_ID}",
            canonical=[canonical[name] for name in compared],
            fingerprint=fingerprint_sql([_canon_name(i) for i in range(len(compared))], salt),
            passed=[quote_identifier(name) for name in self.columns]
            + [quote_identifier(_json_name(i)) for i in range(len(json_columns))],
        )

    def _ingest_sql(self, sql: _Expressions) -> str:
        """One statement: canonical key and prefilter of each row, its full outer join to
        the snapshot, the md5 fingerprint only where the prefilter does not vouch for it,
        and the state of every model row and of every snapshot key the model lost."""
        incoming = ", ".join(
            [*sql.passed, _POSITION, "TRUE AS _sl_in", sql.key, sql.prefilter, sql.identity]
        )
        joined = _joined_to_snapshot(incoming)
        # Canonical strings only for the model rows that need a fingerprint: a CASE
        # computes its branch for those rows alone.
        needs_md5 = "_sl_in AND NOT _sl_known"
        canonical_columns = ", ".join(
            f"CASE WHEN {needs_md5} THEN {expression} END AS {_canon_name(i)}"
            for i, expression in enumerate(sql.canonical)
        )
        carried = "".join(f", {quote_identifier(name)}" for name in self._carried)
        canonicalised = f"SELECT {_PROBED_COLUMNS}{carried}, {canonical_columns} FROM ({joined})"
        fingerprinted = (
            f"SELECT {_PROBED_COLUMNS}{carried}, CASE WHEN _sl_known THEN _sl_s_fp "
            f"WHEN _sl_in THEN {sql.fingerprint} END AS _sl_fp FROM ({canonicalised})"
        )
        return (
            f"CREATE OR REPLACE TABLE {JOINED} AS SELECT x.* FROM "
            f"(SELECT {self._outer_columns()} FROM ({fingerprinted})) x"
            + self._kept(f"x.{_STATE} <> {_UNCHANGED} OR x._sl_fresh")
        )

    def _probe_sql(self, sql: _Expressions) -> str:
        """The narrow join: each model row's key, prefilter, position and id joined to
        the snapshot, every other column left in the row file.

        Rows the prefilter vouches for are unchanged and are dropped here (unless the
        planner keeps every row, or the key has a failed row); the others wait in
        :data:`_PROBED` for :meth:`_fingerprint_probed`.
        """
        incoming = ", ".join([_POSITION, "TRUE AS _sl_in", sql.key, sql.prefilter, sql.identity])
        joined = _joined_to_snapshot(incoming)
        return (
            f"CREATE OR REPLACE TABLE {_PROBED} AS SELECT x.* FROM "
            f"(SELECT {_PROBED_COLUMNS} FROM ({joined})) x" + self._kept("NOT x._sl_known")
        )

    def _fingerprint_probed(
        self, sql: _Expressions, staged: pa.Schema, json_columns: list[str]
    ) -> None:
        """Finish the narrow join: fingerprint the probed rows the prefilter did not vouch
        for, their columns taken back from the row file, and give every row its state."""
        con = self.store.connection
        canonical_columns = ", ".join(
            f"{expression} AS {_canon_name(i)}" for i, expression in enumerate(sql.canonical)
        )
        ahead = prefetched(self._unvouched_rows(staged, json_columns))
        con.register("_sl_unvouched", pa.RecordBatchReader.from_batches(staged, ahead))
        try:
            con.execute(
                f"CREATE OR REPLACE TABLE {_FRESH} AS SELECT {_POSITION}, "
                f"{sql.fingerprint} AS _sl_fp FROM "
                f"(SELECT {_POSITION}, {canonical_columns} FROM _sl_unvouched)"
            )
        finally:
            con.unregister("_sl_unvouched")
            # Stops the reading thread (and closes its cursor) even on a failure.
            ahead.close()
        fingerprinted = (
            f"SELECT p.*, CASE WHEN p._sl_known THEN p._sl_s_fp WHEN p._sl_in THEN f._sl_fp "
            f"END AS _sl_fp FROM {_PROBED} p LEFT JOIN {_FRESH} f "
            f"ON f.{_POSITION} = p.{_POSITION}"
        )
        con.execute(
            f"CREATE OR REPLACE TABLE {JOINED} AS "
            f"SELECT {self._outer_columns()} FROM ({fingerprinted})"
        )
        con.execute(f"DROP TABLE {_FRESH}")
        con.execute(f"DROP TABLE {_PROBED}")

    def _unvouched_rows(
        self, staged: pa.Schema, json_columns: list[str]
    ) -> Iterator[pa.RecordBatch]:
        """The probed model rows that need a fingerprint, read back from the row file in
        model order, shaped as the ingest staged them (JSON columns canonicalised)."""
        if self._rows is None:
            raise RuntimeError("fingerprinting before ingest()")
        cursor = self.store.connection.cursor()
        try:
            positions = cursor.execute(
                f"SELECT {_POSITION} FROM {_PROBED} WHERE _sl_in AND NOT _sl_known "
                f"ORDER BY {_POSITION}"
            ).to_arrow_reader(_WINDOW_BATCH)
            for chunk in positions:
                if not chunk.num_rows:
                    continue
                wanted = chunk.column(0)
                rows = self._rows.take(wanted)
                extra = [
                    canonical_json_array(
                        rows.column(name).combine_chunks(), self._projected.field(name).type
                    )
                    for name in json_columns
                ]
                arrays = [rows.column(name).combine_chunks() for name in self.columns]
                if _ROW_HASH in staged.names:
                    # Its prefilter was taken in the probe; only the fingerprint is made here.
                    extra.append(pa.nulls(len(wanted), pa.uint64()))
                yield pa.RecordBatch.from_arrays([*arrays, *extra, wanted], schema=staged)
        finally:
            cursor.close()

    def _outer_columns(self) -> str:
        """The columns of :data:`JOINED`, from a joined row's probe and fingerprint."""
        state = (
            f"CASE WHEN _sl_in IS NULL THEN {_REMOVED} "
            f"WHEN _sl_key IS NULL THEN {_NULL_KEY} "
            f"WHEN _sl_s_key IS NULL THEN {_ADDED} "
            f"WHEN _sl_s_fp IS NULL THEN {_UNKNOWN} "
            f"WHEN _sl_fp = _sl_s_fp THEN {_UNCHANGED} "
            f"ELSE {_CHANGED} END"
        )
        return ", ".join(
            [
                "coalesce(_sl_key, _sl_s_key) AS _sl_key",
                "_sl_fp",
                "_sl_h",
                "_sl_in AND NOT _sl_known AS _sl_fresh",
                f"CAST({state} AS UTINYINT) AS {_STATE}",
                _POSITION,
                _ID,
                *(quote_identifier(name) for name in self._carried),
            ]
        )

    def _kept(self, needed: str) -> str:
        """The join and filter, on rows aliased ``x``, that keep the rows ``needed`` says
        the run needs and those with a failed row, and drop the other unchanged rows."""
        if self._keep_every_row:
            return ""
        # Built from the failed-row index (small): the join's build side stays small.
        kept = "SELECT key FROM failed"
        if self.id_column != self.primary_key:
            # An unchanged row whose external id another snapshot entry shares may hold a
            # record taken over, which the plan then sends it again to (see diff()).
            kept += (
                " UNION ALL SELECT key FROM snapshot WHERE ext IN (SELECT ext FROM snapshot "
                "WHERE ext IS NOT NULL GROUP BY ext HAVING count(*) > 1)"
            )
        return (
            f" LEFT JOIN (SELECT DISTINCT key AS _sl_f_key FROM ({kept})) f "
            f"ON f._sl_f_key = x._sl_key WHERE {needed} OR f._sl_f_key IS NOT NULL"
        )

    def check_unique_keys(self) -> None:
        """Fail the run, showing example keys, when the model repeats a primary key."""
        con = self.store.connection
        # The join already proves most keys unique: the snapshot's keys are, so each of
        # its entries the model kept meets exactly one model row unless the model repeats
        # that key; then only the added rows need their keys counted. Their hashes are:
        # as many as the rows proves the keys distinct, in 8 bytes a key however long the
        # keys (a first run adds every row); fewer (or a collision) has every key checked.
        counted = con.execute(
            f"SELECT count(*) FILTER (WHERE {_STATE} = {_NULL_KEY}), "
            f"count(*) FILTER (WHERE {_STATE} = {_REMOVED}), "
            f"count(*) FILTER (WHERE {_STATE} = {_ADDED}), "
            f"count(DISTINCT hash(_sl_key)) FILTER (WHERE {_STATE} = {_ADDED}) FROM {JOINED}"
        ).fetchone()
        if counted is not None:
            null_keys, removed, added, distinct_added = (int(value) for value in counted)
            matched = self._rows_read - null_keys - added
            if matched == self.store.snapshot_size() - removed and added == distinct_added:
                return
        self._check_every_key()

    def _check_every_key(self) -> None:
        """Fail the run, showing example keys, when any two model rows share a key: found
        among every model row's key, read back from the row file (or the source). Rare."""
        con = self.store.connection
        keys = self._every_key()
        rows = con.execute(
            f"SELECT _sl_key, count(*) FROM {keys} WHERE _sl_key IS NOT NULL "
            f"GROUP BY _sl_key HAVING count(*) > 1 ORDER BY _sl_key LIMIT {_EXAMPLE_KEYS}"
        ).fetchall()
        if not rows:
            return
        total = con.execute(
            f"SELECT count(*) FROM (SELECT _sl_key FROM {keys} WHERE _sl_key IS NOT NULL "
            "GROUP BY _sl_key HAVING count(*) > 1)"
        ).fetchone()
        repeated = int(total[0]) if total else len(rows)
        raise repeated_key_error(self.primary_key, repeated, rows, self.sync_id)

    def _every_key(self) -> str:
        """A scratch table of every model row's canonical key, read back from the row file
        (the joined table may have left unchanged rows out)."""
        if self._keep_every_row:
            return CURRENT
        if self._rows is None:
            raise RuntimeError("check_unique_keys() called before ingest()")
        field = self._rows.schema.field(self.primary_key)
        read = (
            self._every_key_source()
            if self._every_key_source is not None
            else self._rows.batches([self.primary_key])
        )
        try:
            return self._keys_table(read, field)
        finally:
            close_now(read)

    def _keys_table(self, read: Iterator[pa.RecordBatch], field: pa.Field) -> str:
        """Fill :data:`_KEYS` with the canonical keys of ``read``'s batches."""
        key_batches = (batch.select([self.primary_key]) for batch in read)
        if is_json_canonical(field):
            key_sql = quote_identifier("_sl_json_key")
        else:
            key_sql = canonical_sql(self.primary_key, field.type)
        con = self.store.connection
        con.execute(f"CREATE OR REPLACE TABLE {_KEYS} (_sl_key VARCHAR)")
        for batch in key_batches:
            if is_json_canonical(field):
                batch = batch.append_column(
                    "_sl_json_key", canonical_json_array(batch.column(0), field.type)
                )
            con.register("_sl_key_batch", batch)
            try:
                con.execute(f"INSERT INTO {_KEYS} SELECT {key_sql} FROM _sl_key_batch")
            finally:
                con.unregister("_sl_key_batch")
        return _KEYS

    def diff(
        self, *, every_row: bool = False, full_resync: bool = False, removes: bool = False
    ) -> Plan:
        """Compute the plan: added, changed and removed rows, plus last run's failed rows.

        ``every_row`` plans every current row (mode ``all``); ``full_resync`` plans every
        current row as added and no removed row; ``removes`` plans the records a changed
        external id replaced as removed (see
        :data:`~syncline.engine.planner.base.REPLACED_SEPARATOR`). A key whose snapshot
        entry is unknown (sent by a run that died before the answer) is always planned:
        removed when the model lost it, added when it was sent as added, changed
        otherwise. The plan's
        ``_sl_doubt`` column names the operation such a row was sent with.
        """
        if (every_row or full_resync) and not self._keep_every_row:
            raise RuntimeError("planning every row needs a planner opened with every_row")
        con = self.store.connection
        self.store.remember_prefilters(
            f"SELECT _sl_key, _sl_fp, _sl_h FROM {CURRENT} "
            f"WHERE _sl_fresh AND {_STATE} = {_UNCHANGED} AND _sl_key IS NOT NULL"
        )
        plan = Plan(snapshot_size=self.store.snapshot_size())
        # A plan of every model row (a first run, a full resync) would copy the joined
        # table: it stays a view, read (cheaply, the snapshot being empty or unused) when
        # its rows are fetched. Nothing it reads changes before the journal is merged.
        kind = "VIEW" if full_resync or plan.snapshot_size == 0 else "TABLE"
        if self._plan_kind is not None:
            con.execute(f"DROP {self._plan_kind} {PLAN}")
        self._plan_kind = kind
        if full_resync:
            sql = (
                f"CREATE {kind} {PLAN} AS SELECT c._sl_key, 'added' AS _sl_op, "
                f"c._sl_fp, c._sl_h, {EXTERNAL_ID} AS _sl_ext, "
                "coalesce(f.attempts, 0) AS _sl_attempts, "
                "CAST(NULL AS VARCHAR) AS _sl_doubt, "
                f"c.{_POSITION}, c.{_ID} FROM {CURRENT} c "
                "LEFT JOIN failed f ON f.key = c._sl_key "
                f"WHERE c.{_STATE} <> {_NULL_KEY}"
            )
        else:
            # The join at ingest found each row's state; the snapshot is read again only
            # for the planned rows (their external id and doubt).
            changed = "TRUE" if every_row else f"c.{_STATE} <> {_UNCHANGED} OR f.key IS NOT NULL"
            picked = (
                f"SELECT c.*, f.attempts AS _sl_f_attempts FROM {JOINED} c "
                f"LEFT JOIN failed f ON f.key = c._sl_key "
                f"WHERE c.{_STATE} <> {_NULL_KEY} AND ({changed})"
            )
            sql = (
                f"CREATE {kind} {PLAN} AS SELECT c._sl_key, "
                f"CASE WHEN c.{_STATE} = {_ADDED} THEN 'added' "
                f"WHEN c.{_STATE} = {_REMOVED} THEN 'removed' "
                "WHEN s.doubt = 'added' THEN 'added' "
                "ELSE 'changed' END AS _sl_op, c._sl_fp, c._sl_h, "
                f"coalesce({EXTERNAL_ID}, s.ext) AS _sl_ext, "
                "coalesce(c._sl_f_attempts, 0) AS _sl_attempts, s.doubt AS _sl_doubt, "
                f"c.{_POSITION}, {self._planned_id()}"
                + "".join(f", c.{quote_identifier(name)}" for name in self._carried)
                + f" FROM ({picked}) c LEFT JOIN snapshot s ON s.key = c._sl_key"
            )
        con.execute(sql)
        if plan.snapshot_size and may_replace(
            removes=removes,
            full_resync=full_resync,
            primary_key=self.primary_key,
            id_column=self.id_column,
        ):
            kind = self.column_types[_ID]
            con.execute(
                replaced_plan_sql(
                    PLAN, "snapshot", "failed", f", {_ID}", f", TRY_CAST(s.ext AS {kind})"
                )
            )
        counted = f"SELECT _sl_op, count(*) FROM {PLAN} GROUP BY _sl_op"
        rows = con.execute(counted).fetchall()
        if may_take_over(rows, primary_key=self.primary_key, id_column=self.id_column):
            con.execute(self._take_over_sql())
            con.execute(self._holders_sql())
            rows = con.execute(counted).fetchall()
        count_plan(
            plan.counts,
            rows,
            sync_id=self.sync_id,
            snapshot_size=plan.snapshot_size,
        )
        return plan

    def _take_over_sql(self) -> str:
        """Mark the removed keys whose external id a model row holds as taken over (see
        :data:`~syncline.engine.planner.base.TAKEN_OVER`).

        The joined table lacks the unchanged rows it left out; their external ids are
        those the snapshot kept, as the id is a compared column. So the ids held are
        those of the model rows kept, and the snapshot's of the keys the join left out,
        read only where they match a removed key's.
        """
        held = (
            f"SELECT {EXTERNAL_ID} FROM {CURRENT} c WHERE c.{_STATE} <> {_NULL_KEY} "
            "UNION ALL SELECT s.ext FROM snapshot s "
            f"SEMI JOIN (SELECT _sl_ext FROM {PLAN} WHERE _sl_op = 'removed') r "
            f"ON r._sl_ext = s.ext ANTI JOIN {JOINED} j ON j._sl_key = s.key"
        )
        return (
            f"UPDATE {PLAN} SET _sl_op = '{TAKEN_OVER}' "
            f"WHERE _sl_op = 'removed' AND _sl_ext IN ({held})"
        )

    def _holders_sql(self) -> str:
        """Add the model rows holding a taken-over record to the plan as changed, when it
        does not plan them already: the record keeps the departed row's values until the
        holding row is sent again. The ingest kept such rows, unchanged or not (see
        :meth:`_kept`), as their external id is one another snapshot entry shares."""
        carried = "".join(f", {quote_identifier(name)}" for name in self._carried)
        values = "".join(f", c.{quote_identifier(name)}" for name in self._carried)
        return (
            f"INSERT INTO {PLAN} (_sl_key, _sl_op, _sl_fp, _sl_h, _sl_ext, _sl_attempts, "
            f"_sl_doubt, {_POSITION}, {_ID}{carried}) SELECT c._sl_key, 'changed', c._sl_fp, "
            f"c._sl_h, {EXTERNAL_ID}, 0, s.doubt, c.{_POSITION}, c.{_ID}{values} "
            f"FROM {CURRENT} c LEFT JOIN snapshot s ON s.key = c._sl_key "
            f"WHERE c.{_STATE} <> {_NULL_KEY} AND {EXTERNAL_ID} IN "
            f"(SELECT _sl_ext FROM {PLAN} WHERE _sl_op = '{TAKEN_OVER}') "
            f"AND c._sl_key NOT IN (SELECT _sl_key FROM {PLAN} WHERE _sl_key IS NOT NULL)"
        )

    def _planned_id(self) -> str:
        # A removed row is gone from the model; its id comes back from the snapshot.
        kind = self.column_types[_ID]
        return (
            f"CASE WHEN c.{_STATE} = {_REMOVED} THEN TRY_CAST(s.ext AS {kind}) "
            f"ELSE c.{_ID} END AS {_ID}"
        )

    def planned_batches(
        self, operation: Operation, batch_rows: int, *, in_doubt: bool | None = None
    ) -> Generator[pa.RecordBatch, None, None]:
        """Stream the planned rows of one operation in batches of at most ``batch_rows``.

        ``in_doubt`` keeps only the rows whose snapshot entry is unknown (True), only the
        others (False), or every row (None).
        """
        # The next batch is fetched (a DuckDB query, rows taken from the row file) on a
        # thread of its own while the destination writes this one.
        yield from prefetched(self._planned(operation, batch_rows, in_doubt), depth=1)

    def _planned(
        self, operation: Operation, batch_rows: int, in_doubt: bool | None
    ) -> Generator[pa.RecordBatch, None, None]:
        where = "_sl_op = ?"
        if in_doubt is not None:
            where += f" AND _sl_doubt IS {'NOT ' if in_doubt else ''}NULL"
        cursor = self.store.connection.cursor()
        try:
            windows = self._windows(cursor, operation, where)
            batches = self._window_batches(cursor, operation, where, windows)
            for batch in rebatch(batches, batch_rows):
                yield self._with_columns(batch)
        finally:
            cursor.close()

    def _windows(
        self, cursor: duckdb.DuckDBPyConnection, operation: Operation, where: str
    ) -> list[Window]:
        """Windows of the plan of ``operation`` that DuckDB sorts each within a share of the
        join budget, cut where its rows' bytes add up to that share."""
        placed = f"{where} AND {_POSITION} IS NOT NULL"
        found = cursor.execute(
            f"SELECT count(*), max({_POSITION}) FROM {PLAN} WHERE {placed}", [operation.value]
        ).fetchone()
        if not found or int(found[0]) <= FEW_ROWS:
            return plan_windows(_POSITION, [])  # a window of these few rows sorts in no time
        width = range_width(int(found[1]))
        described = cursor.execute(f"DESCRIBE {PLAN}").fetchall()
        row_bytes = row_bytes_sql((str(name), str(kind)) for name, kind, *_ in described)
        ranges = cursor.execute(
            f"SELECT {_POSITION} // ? AS r, sum({row_bytes}) FROM {PLAN} "
            f"WHERE {placed} GROUP BY r ORDER BY r",
            [width, operation.value],
        ).fetchall()
        share = memory_bytes(self.store.join_memory) // BUDGET_SHARE
        return plan_windows(_POSITION, cuts(((int(r), int(b)) for r, b in ranges), width, share))

    def _window_batches(
        self,
        cursor: duckdb.DuckDBPyConnection,
        operation: Operation,
        where: str,
        windows: list[Window],
    ) -> Iterator[pa.RecordBatch]:
        for window in windows:
            # In model order, so that the row file is read front to back.
            order = f" ORDER BY {_POSITION}, _sl_key" if window.in_order else ""
            reader = cursor.execute(
                f"SELECT * FROM {PLAN} WHERE {where} AND {window.where}{order}",
                [operation.value, *window.parameters],
            ).to_arrow_reader(_WINDOW_BATCH)
            for batch in reader:
                if batch.num_rows:
                    yield batch

    def _with_columns(self, planned: pa.RecordBatch) -> pa.RecordBatch:
        """``planned`` with the model's columns fetched from the row file in place of its
        position; a removed row's id comes from the snapshot, its other columns are NULL."""
        if self._rows is None:
            raise RuntimeError("planned_batches() called before ingest()")
        positions = planned.column(_POSITION)
        if self._carried:
            # Back in the model's own types and field metadata, which DuckDB drops.
            columns = {
                name: planned.column(name).cast(self._projected.field(name).type)
                for name in self.columns
            }
        else:
            rows = self._rows.take(positions)
            columns = {name: rows.column(name).combine_chunks() for name in self.columns}
        if positions.null_count:
            kind = self._projected.field(self.id_column).type
            snapshot_ids = planned.column(_ID).cast(kind)
            columns[self.id_column] = pc.if_else(
                positions.is_valid(), columns[self.id_column], snapshot_ids
            )
        model = set(self.columns)
        kept = [
            name
            for name in planned.schema.names
            if name not in (_POSITION, _ID) and name not in model
        ]
        fields = [planned.schema.field(name) for name in kept]
        fields += [self._projected.field(name) for name in self.columns]
        arrays = [planned.column(name) for name in kept] + [columns[n] for n in self.columns]
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))

    def close(self) -> None:
        """Close the snapshot file and delete this run's row file."""
        if self._rows is not None:
            self._rows.close()
            self._rows = None
        self.store.close()


def _failures_kept(
    batches: Iterator[pa.RecordBatch], failures: list[BaseException]
) -> Iterator[pa.RecordBatch]:
    """``batches``, noting in ``failures`` the error that ended them, if any: DuckDB, which
    reads them, raises its own error in its place."""
    try:
        yield from batches
    except GeneratorExit:
        # Closed early by the read-ahead thread: the reader stopped, not the source.
        raise
    except BaseException as exc:
        failures.append(exc)
        raise


def _joined_to_snapshot(incoming: str) -> str:
    """The model rows (``incoming``, the columns taken from the stream) full outer joined
    to the snapshot by key, with the snapshot's key and fingerprint, and whether the
    entry's prefilter vouches for the row."""
    return (
        "SELECT c.*, s.key AS _sl_s_key, s.fp AS _sl_s_fp, "
        "coalesce(c._sl_h = s.h, false) AS _sl_known "
        f"FROM (SELECT {incoming} FROM _sl_incoming) c "
        f"FULL JOIN ({_VOUCHING_SNAPSHOT}) s ON s.key = c._sl_key"
    )


def _check_names(model_columns: Sequence[str], columns: Sequence[str]) -> None:
    """Refuse column names the planner's DuckDB tables cannot hold as they are."""
    reserved = [name for name in model_columns if name.lower().startswith("_sl_")]
    if reserved:
        raise UserError(
            f"model column{'s' if len(reserved) > 1 else ''} {', '.join(reserved)} "
            "use the prefix '_sl_' that Syncline reserves for its own columns; rename "
            "them in the model query"
        )
    folded: dict[str, str] = {}
    for name in columns:
        other = folded.setdefault(name.lower(), name)
        if other != name:
            raise UserError(
                f"model columns {other!r} and {name!r} differ only in case, which the "
                "planner cannot tell apart; alias one of them in the model query"
            )


_POSITION_BLOCK = pc.subtract(
    pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), 1 << 16)), pa.scalar(1, pa.int64())
)
"""0, 1, .. 65535 as int64: summed in Arrow, as building it from a Python ``range`` costs
every process that imports the planner some 4 ms more."""


def _positions(first: int, count: int) -> pa.Array:
    """Row positions ``first`` .. ``first + count - 1``, without a Python int per row."""
    parts = []
    for start in range(0, count, len(_POSITION_BLOCK)):
        size = min(len(_POSITION_BLOCK), count - start)
        parts.append(pc.add(_POSITION_BLOCK.slice(0, size), first + start))
    if not parts:
        return pa.array([], pa.int64())
    return pa.concat_arrays(parts) if len(parts) > 1 else parts[0]


def _signature(
    projected: pa.Schema, compared: Sequence[str], json_columns: Sequence[str], salt: str
) -> str:
    """What a row's prefilter depends on besides its values: the fingerprint scheme, the
    salt (the sync's mappings), and each compared column's name, type and JSON-ness."""
    return "\n".join(
        [FINGERPRINT_SCHEME, salt]
        + [f"{name}:{projected.field(name).type}:{name in json_columns}" for name in compared]
    )


def _row_hashes(batch: pa.RecordBatch) -> pa.Array:
    """The source's row hashes of ``batch`` as the unsigned 64-bit values the snapshot
    keeps: the same bits, read unsigned."""
    column = batch.column(batch.schema.get_field_index(ROW_HASH_COLUMN))
    return pc.cast(column, pa.uint64(), safe=False)


def _canon_name(index: int) -> str:
    return f"_sl_canon_{index}"


def _json_name(index: int) -> str:
    return f"_sl_json_{index}"


def _round_trips(kind: pa.DataType) -> bool:
    """True when DuckDB gives values of Arrow type ``kind`` back exactly as it got them."""
    if pa.types.is_timestamp(kind):
        return kind.tz is None or (kind.tz == "UTC" and kind.unit == "us")
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_float32(kind)
        or pa.types.is_float64(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_date32(kind)
        or pa.types.is_decimal128(kind)
        or kind == pa.time64("us")
    )
