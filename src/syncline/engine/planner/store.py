"""The DuckDB file of one sync: its snapshot, its failed-row index and its journal.

The snapshot holds, per primary key, the fingerprint of the row the destination last
acknowledged and the external id value a later delete or clear needs. The failed-row
index holds every row the destination rejected and how many runs tried it. Beside each
fingerprint the snapshot may keep the row's *prefilter* (see
:func:`syncline.engine.canonical.prefilter_sql`), a cache that spares recomputing the
fingerprint of an unchanged row; it is valid only under the DuckDB release named in
``meta``, and is forgotten when another release opens the file.

Each batch is journaled twice, each time in one transaction that is cheap whatever the
snapshot's size: its keys as *in doubt* before it is handed to the destination, and its
outcome once the destination answers. The journal is folded into the snapshot and the
failed-row index in one transaction at the end of the run, or at the start of the next
run when a process died before it could: the snapshot plus the journal is always the
exact record of what the destination acknowledged, and of what it may hold unknown to us.

The journal names the run writing it (``journal_run`` in ``meta``, set before its first
entry and cleared by the fold), and every outcome the destination answered carries its
batch's number: a run killed between journaling a batch's outcome and reporting it to its
record leaves outcomes its record never counted, and the next run hands them over (see
:meth:`SnapshotStore.interrupted_outcome`) before the fold forgets them.

A key still in doubt when the journal is folded (the process died between handing the
batch over and recording its outcome) becomes an *unknown* snapshot entry: no
fingerprint, the external id kept, and in ``doubt`` the operation that was sent. The
next diff plans such a key again whatever the model holds: present rows are sent
again, absent ones are removed.

A full resync makes every entry of a current key unknown, as sent with ``added``, before
its first batch (see :meth:`SnapshotStore.begin_full_load`): until a run acknowledges a
row, the destination's copy is not trusted, so a resync that stops half-way is finished
by whichever run comes next, and the rows it acknowledged are not sent again. A clear
and fill journals the clear as pending, with the snapshot emptied, until the
destination has done it: the journal keeps that entry when it is folded.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from syncline.engine.canonical import FINGERPRINT_SCHEME
from syncline.engine.planner.base import (
    CARRIED_ENTRIES,
    CARRIED_FAILED,
    TAKEN_OVER,
    CarriedSnapshot,
    holders_distrust_sql,
    journaled_outcome,
)
from syncline.engine.report import InterruptedOutcome, Operation
from syncline.errors import ConfigError, RunError, SnapshotLocked
from syncline.security.private import keep_private, private_folder
from syncline.settings import (
    DEFAULT_PLANNER_JOIN_MEMORY,
    default_planner_memory_limit,
    is_memory_size,
    memory_bytes,
)

logger = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE TABLE IF NOT EXISTS snapshot (key VARCHAR, fp UBIGINT, ext VARCHAR, doubt VARCHAR)",
    # Files written before in-doubt keys were tracked lack the column; NULL means settled.
    "ALTER TABLE snapshot ADD COLUMN IF NOT EXISTS doubt VARCHAR",
    # The prefilter of the fingerprinted row, when known; NULL means compute the fingerprint.
    "ALTER TABLE snapshot ADD COLUMN IF NOT EXISTS h UBIGINT",
    "CREATE TABLE IF NOT EXISTS failed "
    "(key VARCHAR, operation VARCHAR, reason VARCHAR, attempts INTEGER)",
    "CREATE TABLE IF NOT EXISTS journal (key VARCHAR, kind VARCHAR, operation VARCHAR, "
    "fp UBIGINT, ext VARCHAR, reason VARCHAR, attempts INTEGER)",
    # Files written before batches were numbered lack the column; NULL means no batch.
    "ALTER TABLE journal ADD COLUMN IF NOT EXISTS batch BIGINT",
    # The prefilter that goes with fp into the snapshot; NULL when unknown.
    "ALTER TABLE journal ADD COLUMN IF NOT EXISTS h UBIGINT",
)

_JOURNAL_COLUMNS = "key, kind, operation, fp, ext, reason, attempts, batch, h"

CLEAR_PENDING = "clear"
"""Journal ``kind`` of the entry saying the destination object is still to be emptied."""

JOURNAL_RUN = "journal_run"
"""The ``meta`` entry naming the run whose outcomes the journal holds."""

_SNAPSHOT_COLUMNS = "key, fp, ext, doubt, h"

PREFILTER_SCHEME = f"{FINGERPRINT_SCHEME}+duckdb-hash-{duckdb.__version__}"
"""What made the snapshot's prefilters: DuckDB's ``hash()`` may change between releases."""

_UNSETTLED = "scratch.unsettled"
"""Scratch table of the keys a merge finds still in doubt."""

_JOURNAL_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("kind", pa.string()),
        ("operation", pa.string()),
        ("fp", pa.uint64()),
        ("ext", pa.string()),
        ("reason", pa.string()),
        ("attempts", pa.int32()),
        ("batch", pa.int64()),
        ("h", pa.uint64()),
    ]
)


DEFAULT_LOCK_WAIT_SECONDS = 300.0
"""How long a run waits for a snapshot file that another process holds (see
:attr:`syncline.settings.Settings.snapshot_lock_wait_seconds`)."""

LOCK_POLL_SECONDS = 0.5
"""How often a run waiting for its snapshot file tries again to open it."""

_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")

_open_here: dict[Path, str] = {}
"""Snapshot files a store of this process has open, each with its holder's thread name.

DuckDB locks a file against other processes only: a second connection in the same
process shares the open database, so two runs of one sync here would write it at once.
"""

_open_here_lock = threading.Lock()

COMPACT_DEAD_SHARE = 0.25
"""The share of the snapshot's stored rows that may be deleted ones before closing the
file compacts it.

A run deletes the entries of the keys it settled and appends their new ones. Left to
itself, DuckDB compacts row groups at every checkpoint that follows such a change, and so
at nearly every close: about a fifth of a second for a snapshot of 1.5 million entries,
whatever the few thousand rows changed. Compacting only once a quarter of the stored rows
are deleted ones costs about 0.4 s every dozen runs that change 1.5% of the rows, and
scans of a snapshot a quarter larger take no measurably longer."""


def snapshot_path(snapshot_dir: Path, sync_id: int) -> Path:
    """The DuckDB file that holds one sync's snapshot."""
    return snapshot_dir / f"sync-{sync_id}.duckdb"


def strays_path(snapshot_dir: Path, sync_id: int) -> Path:
    """The note that a sync's object may hold records the sync can no longer remove."""
    return snapshot_dir / f"sync-{sync_id}.strays"


def note_strays(snapshot_dir: Path, sync_id: int, warning: str) -> None:
    """Leave ``warning`` (what stays and the fix) for every run of the sync to log, until
    a clear and fill empties the object (see :func:`strays_note`)."""
    private_folder(snapshot_dir)
    strays_path(snapshot_dir, sync_id).write_text(warning, encoding="utf-8")
    keep_private(strays_path(snapshot_dir, sync_id))


def strays_note(snapshot_dir: Path, sync_id: int) -> str | None:
    """The warning :func:`note_strays` left for the sync, if any."""
    try:
        return strays_path(snapshot_dir, sync_id).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def warehouse_mark_path(snapshot_dir: Path, sync_id: int) -> Path:
    """The note that a sync's snapshot is kept in the warehouse, naming the schema.

    Left by every run on the warehouse planner, so that a run on the local planner, after
    the source switched planner, finds the snapshot to take over (see
    :mod:`syncline.engine.planner.switch`).
    """
    return snapshot_dir / f"sync-{sync_id}.warehouse"


FULL_RESYNC = "full resync"
"""What a request left by :func:`request_full_load` asks for: every row sent again."""

CLEAR_AND_FILL = "clear and fill"
"""What a request left by :func:`request_full_load` asks for: the object emptied first."""


def full_load_request_path(snapshot_dir: Path, sync_id: int) -> Path:
    """The note that a full resync or a clear and fill was asked for and has not started."""
    return snapshot_dir / f"sync-{sync_id}.resync"


def request_full_load(snapshot_dir: Path, sync_id: int, *, clear: bool) -> None:
    """Note, before the model is queried, that the sync owes a full resync (with ``clear``
    a clear and fill): a run stopped before :meth:`SnapshotStore.begin_full_load` (which
    makes the resync pending in the snapshot) then leaves it to whichever run comes next
    (see :func:`requested_full_load`). A clear asked before stays asked for."""
    if requested_full_load(snapshot_dir, sync_id) == CLEAR_AND_FILL:
        clear = True
    private_folder(snapshot_dir)
    path = full_load_request_path(snapshot_dir, sync_id)
    path.write_text(CLEAR_AND_FILL if clear else FULL_RESYNC, encoding="utf-8")
    keep_private(path)


def requested_full_load(snapshot_dir: Path, sync_id: int) -> str | None:
    """:data:`FULL_RESYNC` or :data:`CLEAR_AND_FILL` when a run asked for one and none
    began it (see :func:`request_full_load`); None otherwise."""
    try:
        text = full_load_request_path(snapshot_dir, sync_id).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return CLEAR_AND_FILL if text.strip() == CLEAR_AND_FILL else FULL_RESYNC


def drop_full_load_request(snapshot_dir: Path, sync_id: int) -> None:
    """Forget the request: the resync began (its snapshot now keeps it pending), or a
    reset of the sync's change tracking gave it up."""
    full_load_request_path(snapshot_dir, sync_id).unlink(missing_ok=True)


def delete_snapshot(snapshot_dir: Path, sync_id: int) -> None:
    """Remove a sync's snapshot file, its write-ahead log, its spill folder, its note of
    stray records, its warehouse mark and any resync it owes (a sync that starts afresh
    elsewhere leaves them behind)."""
    discard_snapshot_file(snapshot_dir, sync_id)
    for note in (
        strays_path(snapshot_dir, sync_id),
        warehouse_mark_path(snapshot_dir, sync_id),
        full_load_request_path(snapshot_dir, sync_id),
    ):
        note.unlink(missing_ok=True)
    logger.info("deleted the snapshot of sync %s", sync_id)


def discard_snapshot_file(snapshot_dir: Path, sync_id: int) -> None:
    """Remove a sync's snapshot file, its write-ahead log and its spill folder."""
    path = snapshot_path(snapshot_dir, sync_id)
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)
    spill = _spill_dir(path)
    if spill.exists():
        for child in spill.iterdir():
            child.unlink(missing_ok=True)
        spill.rmdir()


RESTART_LOCK_WAIT_SECONDS = 10.0
"""How long :func:`restart_snapshot` waits for a snapshot file a run still holds."""


def restart_snapshot(snapshot_dir: Path, sync_id: int) -> None:
    """Make a sync's next run send every model row again, keeping the keys it delivered.

    For a sync moved to another model whose destination object and id field stay: the
    snapshot still names the records the sync delivered, so every entry becomes unknown,
    as sent with ``added``. The next diff then plans every model row again and the
    delivered keys the model lacks as removed, until runs have acknowledged them all.
    A sync without a snapshot file has delivered nothing: nothing is done. A journal
    left by a killed run stays for the next run to credit to that run's record and fold
    in: the rows it acknowledged then count as delivered, which they are.

    Raises:
        SnapshotLocked: a run still held the file after :data:`RESTART_LOCK_WAIT_SECONDS`.
    """
    if not snapshot_path(snapshot_dir, sync_id).exists():
        return
    store = SnapshotStore(snapshot_dir, sync_id, rebuild=True, lock_wait=RESTART_LOCK_WAIT_SECONDS)
    try:
        store.distrust()
    finally:
        store.close()
    logger.info("sync %s: every row it delivered is to be sent again or removed", sync_id)


def _spill_dir(path: Path) -> Path:
    return path.with_name(path.stem + ".spill")


class SnapshotStore:
    """One sync's DuckDB file, opened for one run.

    With ``rebuild`` a snapshot made under another fingerprint scheme is accepted (full
    resync, reset CDC): its rows then differ from every new fingerprint and are resent.
    """

    def __init__(
        self,
        snapshot_dir: Path,
        sync_id: int,
        *,
        memory_limit: str | None = None,
        join_memory: str | None = None,
        threads: int | None = None,
        in_memory: bool = False,
        rebuild: bool = False,
        lock_wait: float = DEFAULT_LOCK_WAIT_SECONDS,
        stop_waiting: Callable[[], bool] | None = None,
    ) -> None:
        """``lock_wait`` is how many seconds to wait for a file another process holds,
        asking ``stop_waiting`` in between whether to give up early.

        Raises:
            SnapshotLocked: the file is still held after ``lock_wait`` seconds, or
                ``stop_waiting`` turned true while waiting.
            RunError: the file cannot be opened, or was made by another fingerprint
                scheme (and ``rebuild`` is not set).
        """
        for what, size in (("memory limit", memory_limit), ("join memory", join_memory)):
            if size is not None and not is_memory_size(size):
                raise ConfigError(
                    f"planner {what} {size!r} is not a size; use e.g. '2GB' or '512MiB'"
                )
        self.memory_limit = (memory_limit or default_planner_memory_limit()).strip()
        budget = (join_memory or DEFAULT_PLANNER_JOIN_MEMORY).strip()
        self.join_memory = min(budget, self.memory_limit, key=memory_bytes)
        """DuckDB's memory limit but while the planner joins the model to a snapshot that
        fits it in one pass: the join budget, or the cap when that is lower."""
        if threads is not None and threads < 1:
            raise ConfigError(f"planner threads {threads!r} must be a positive integer")
        self.sync_id = sync_id
        self.path = snapshot_path(snapshot_dir, sync_id)
        self._held: Path | None = None
        if in_memory:
            self.connection = duckdb.connect(":memory:")
        else:
            private_folder(snapshot_dir)
            self.connection = self._open(lock_wait, stop_waiting)
            keep_private(self.path)
        try:
            self._configure(threads)
            self._create_schema(rebuild)
            self._check_prefilters()
        except BaseException:
            self.close()
            raise
        self._doubted: dict[int, int] = {}
        row = self.connection.execute("SELECT max(batch) FROM journal").fetchone()
        self._last_batch = int(row[0]) if row and row[0] is not None else 0

    def _open(
        self, lock_wait: float, stop_waiting: Callable[[], bool] | None
    ) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting up to ``lock_wait`` seconds while another run holds it.

        A run of this sync presumed stopped (its worker paused, say) keeps the file until
        it notices and stops, usually within a batch of waking; a run that cannot have
        the file ends without touching it, so a later run does the work instead.
        """
        started = time.monotonic()
        warned = False
        while True:
            holder = self._try_open()
            if isinstance(holder, duckdb.DuckDBPyConnection):
                if warned:
                    logger.info(
                        "sync %s: snapshot file is free after %.1f s; the run goes on",
                        self.sync_id,
                        time.monotonic() - started,
                    )
                return holder
            description, pid = holder
            waited = time.monotonic() - started
            if not warned:
                logger.warning(
                    "sync %s: snapshot file %s is held by %s; waiting up to %g s for it "
                    "(a run of this sync presumed stopped may still be finishing a batch)",
                    self.sync_id,
                    self.path,
                    description,
                    lock_wait,
                )
                warned = True
            if stop_waiting is not None and stop_waiting():
                raise SnapshotLocked(
                    f"stopped after waiting {waited:.0f} s for the snapshot file {self.path} "
                    f"of sync {self.sync_id}, held by {description}",
                    sync_id=self.sync_id,
                    holder=description,
                    holder_pid=pid,
                    stopped=True,
                )
            if waited >= lock_wait:
                message = _locked_message(self.path, self.sync_id, description, pid, lock_wait)
                # Logged here, not only by the run: a worker's log shows it at any level.
                logger.error("%s", message, extra={"sync_id": self.sync_id})
                raise SnapshotLocked(
                    message, sync_id=self.sync_id, holder=description, holder_pid=pid
                )
            time.sleep(min(LOCK_POLL_SECONDS, max(0.0, lock_wait - waited)))

    def _try_open(self) -> duckdb.DuckDBPyConnection | tuple[str, int]:
        """The open file, or who holds it: a description and a process id when known."""
        key = self.path.resolve()
        with _open_here_lock:
            thread = _open_here.get(key)
            if thread is not None:
                return f"this process (PID {os.getpid()}, thread {thread})", os.getpid()
            # Claimed before connecting, so that no other run here connects meanwhile.
            _open_here[key] = threading.current_thread().name
        try:
            connection = duckdb.connect(str(self.path))
        except BaseException as exc:
            with _open_here_lock:
                _open_here.pop(key, None)
            if not isinstance(exc, duckdb.IOException):
                raise
            found = _DUCKDB_HOLDER.search(str(exc))
            if found is None:
                raise RunError(
                    f"the snapshot file {self.path} of sync {self.sync_id} cannot be "
                    f"opened ({exc}); check that the folder is writable and has space",
                    code="SNAPSHOT_UNREADABLE",
                    sync_id=self.sync_id,
                ) from None
            pid = int(found["pid"])
            return _describe_process(pid, found["exe"]), pid
        self._held = key
        return connection

    def _configure(self, threads: int | None) -> None:
        con = self.connection
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET temp_directory = '{_quote(str(_spill_dir(self.path)))}'")
        con.execute(f"SET memory_limit = '{_quote(self.join_memory)}'")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("ATTACH ':memory:' AS scratch")

    @contextmanager
    def at_cap(self) -> Iterator[None]:
        """Let DuckDB take up to the memory cap for the statements run inside.

        Every other statement runs under :attr:`join_memory`, where a hash join or a
        sort that outgrows it partitions its data and spills, and tables DuckDB holds
        move to the spill folder: a run takes about the budget whatever the model's
        size. The one-pass join of a snapshot that fits the budget runs at the cap, so
        that the model's columns it carries never spill.
        """
        con = self.connection
        con.execute(f"SET memory_limit = '{_quote(self.memory_limit)}'")
        try:
            yield
        finally:
            try:
                con.execute(f"SET memory_limit = '{_quote(self.join_memory)}'")
            except duckdb.OutOfMemoryException:
                # What DuckDB holds cannot all move to disk now: stay at the cap.
                logger.debug("sync %s: DuckDB cannot shrink to the budget", self.sync_id)

    def _create_schema(self, rebuild: bool) -> None:
        con = self.connection
        for statement in _SCHEMA:
            con.execute(statement)
        row = con.execute("SELECT value FROM meta WHERE name = 'fingerprint'").fetchone()
        if row is None:
            con.execute("INSERT INTO meta VALUES ('fingerprint', ?)", [FINGERPRINT_SCHEME])
        elif row[0] != FINGERPRINT_SCHEME and rebuild:
            # Old fingerprints never match new ones, so their rows are simply sent again.
            logger.warning(
                "sync %s: snapshot fingerprints %s are rebuilt as %s",
                self.sync_id,
                row[0],
                FINGERPRINT_SCHEME,
            )
            con.execute(
                "UPDATE meta SET value = ? WHERE name = 'fingerprint'", [FINGERPRINT_SCHEME]
            )
        elif row[0] != FINGERPRINT_SCHEME:
            raise RunError(
                f"the snapshot of sync {self.sync_id} was made with fingerprint {row[0]!r}, "
                f"this version uses {FINGERPRINT_SCHEME!r}; run the sync once with resetCDC "
                "(or fullResync) to rebuild it",
                code="SNAPSHOT_INCOMPATIBLE",
                sync_id=self.sync_id,
            )

    def _check_prefilters(self) -> None:
        """Forget the prefilters when another DuckDB release (or scheme) made them."""
        con = self.connection
        row = con.execute("SELECT value FROM meta WHERE name = 'prefilter'").fetchone()
        if row is not None and row[0] == PREFILTER_SCHEME:
            return
        if row is not None:
            logger.info(
                "sync %s: snapshot prefilters of %s are recomputed under %s",
                self.sync_id,
                row[0],
                PREFILTER_SCHEME,
            )
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("UPDATE snapshot SET h = NULL WHERE h IS NOT NULL")
            con.execute("UPDATE journal SET h = NULL WHERE h IS NOT NULL")
            con.execute("DELETE FROM meta WHERE name = 'prefilter'")
            con.execute("INSERT INTO meta VALUES ('prefilter', ?)", [PREFILTER_SCHEME])
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise

    def remember_prefilters(self, fresh: str) -> None:
        """Store the prefilters of the rows the query ``fresh`` gives (``_sl_key``,
        ``_sl_fp``, ``_sl_h``: rows whose fingerprint was computed afresh and equals their
        snapshot entry's), so that the next run can skip computing it.

        Only a cache: the snapshot's fingerprints and doubts stay as they are. An entry's
        prefilter is replaced when the row's differs (made by another means, a source's
        row hash rather than DuckDB's, or under another signature), or the next runs
        would fingerprint the row afresh every time. Usually no row qualifies, and
        counting them spares the join with the snapshot.
        """
        found = self.connection.execute(f"SELECT count(*) FROM ({fresh})").fetchone()
        if not found or found[0] == 0:
            return
        self.connection.execute(
            f"UPDATE snapshot SET h = c._sl_h FROM ({fresh}) c "
            "WHERE snapshot.key = c._sl_key AND snapshot.fp = c._sl_fp AND c._sl_h IS NOT NULL "
            "AND snapshot.doubt IS NULL AND snapshot.h IS DISTINCT FROM c._sl_h"
        )

    def unknown_size(self) -> int:
        """How many snapshot entries are unknown: sent by a run that died before the answer."""
        row = self.connection.execute(
            "SELECT count(*) FROM snapshot WHERE doubt IS NOT NULL"
        ).fetchone()
        return int(row[0]) if row else 0

    def snapshot_size(self) -> int:
        """How many rows the destination acknowledged, or was sent and may hold."""
        row = self.connection.execute("SELECT count(*) FROM snapshot").fetchone()
        return int(row[0]) if row else 0

    def failed_size(self) -> int:
        """How many rows wait in the failed-row index."""
        row = self.connection.execute("SELECT count(*) FROM failed").fetchone()
        return int(row[0]) if row else 0

    def absent_size(self, current: str) -> int:
        """How many snapshot entries name a key the model rows of ``current`` lack."""
        row = self.connection.execute(
            "SELECT count(*) FROM snapshot WHERE key NOT IN "
            f"(SELECT _sl_key FROM {current} WHERE _sl_key IS NOT NULL)"
        ).fetchone()
        return int(row[0]) if row else 0

    def begin_journal(self, run_id: int) -> None:
        """Name ``run_id`` as the run whose outcomes the journal holds from now on."""
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM meta WHERE name = ?", [JOURNAL_RUN])
            con.execute("INSERT INTO meta VALUES (?, ?)", [JOURNAL_RUN, str(run_id)])
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise

    def interrupted_outcome(self) -> InterruptedOutcome | None:
        """What the journal says its run delivered: the rows acknowledged in answer to a
        batch (not those journaled unsent) and the rows rejected, by operation.

        None when the journal holds no outcome, or names no run (an older version wrote
        it), so that no run's record is credited with another's rows.
        """
        con = self.connection
        run = con.execute("SELECT value FROM meta WHERE name = ?", [JOURNAL_RUN]).fetchone()
        if run is None:
            return None
        counts = con.execute(
            "SELECT kind, operation, count(*) FROM journal "
            "WHERE (kind = 'ack' AND batch IS NOT NULL) OR kind = 'fail' GROUP BY ALL"
        ).fetchall()
        rejected = con.execute(
            "SELECT key, operation, reason, attempts FROM journal WHERE kind = 'fail' "
            "ORDER BY batch, key"
        ).fetchall()
        return journaled_outcome(run[0], counts, rejected)

    def record_doubt(self, planned: pa.RecordBatch, sent: list[int]) -> int | None:
        """Journal the ``sent`` planned rows as in doubt, before they go to the destination.

        Returns the number of the journaled batch (None when nothing was sent), which
        :meth:`record` takes to settle the batch's doubts in place.
        """
        if not sent:
            return None
        self._last_batch += 1
        self._append(doubt_entries(planned, sent, self._last_batch))
        self._doubted[self._last_batch] = len(sent)
        return self._last_batch

    def withdraw_doubt(self, planned: pa.RecordBatch, sent: list[int]) -> None:
        """Drop the doubt of rows whose batch the destination refused as a whole.

        A batch that raised was, by the destination contract, not written at all.
        """
        if not sent:
            return
        keys = pa.table({"key": planned.column("_sl_key").take(pa.array(sent, pa.int64()))})
        con = self.connection
        con.register("_sl_withdrawn", keys)
        try:
            con.execute(
                "DELETE FROM journal WHERE kind = 'doubt' "
                "AND key IN (SELECT key FROM _sl_withdrawn)"
            )
        finally:
            con.unregister("_sl_withdrawn")

    def record(
        self,
        planned: pa.RecordBatch,
        acked: list[int],
        rejected: list[tuple[int, str]],
        *,
        batch: int | None = None,
    ) -> None:
        """Journal one batch's acknowledged and rejected planned rows in one transaction.

        ``batch`` is the number :meth:`record_doubt` gave the batch's doubts.
        """
        doubted = self._doubted.pop(batch, None) if batch is not None else None
        if doubted is None or doubted != len(acked):
            self._append(journal_entries(planned, acked, rejected, batch=batch))
            return
        # Every row in doubt was acknowledged (the acknowledged rows are among those in
        # doubt): turning the batch's doubts into acknowledgements in place writes one
        # column instead of a second copy of the batch.
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            changed = con.execute(
                "UPDATE journal SET kind = 'ack' WHERE batch = ? AND kind = 'doubt'", [batch]
            ).fetchone()
            if not changed or int(changed[0]) != len(acked):
                raise RuntimeError(
                    f"journal batch {batch} of sync {self.sync_id} holds "
                    f"{changed[0] if changed else 0} doubts, expected {len(acked)}"
                )
            self._append(journal_entries(planned, [], rejected, batch=batch))
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise

    def _append(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        con = self.connection
        con.register("_sl_outcomes", table)
        try:
            con.execute(
                f"INSERT INTO journal ({_JOURNAL_COLUMNS}) SELECT {_JOURNAL_COLUMNS} "
                "FROM _sl_outcomes"
            )
        finally:
            con.unregister("_sl_outcomes")

    def record_unsent(self, plan: str, operation: Operation) -> int:
        """Journal every planned row of ``operation`` as done without sending it."""
        return self._journal_unsent(plan, operation.value, operation)

    def record_taken_over(self, plan: str) -> None:
        """Journal every removed key whose record a model row took over (see
        :data:`~syncline.engine.planner.base.TAKEN_OVER`) as removed without sending it,
        and make unknown the entries of the rows holding those records, sent again (see
        :func:`~syncline.engine.planner.base.holders_distrust_sql`)."""
        self._journal_unsent(plan, TAKEN_OVER, Operation.REMOVED)
        self.connection.execute(holders_distrust_sql(plan, "snapshot"))

    def _journal_unsent(self, plan: str, planned: str, operation: Operation) -> int:
        """Journal the rows ``plan`` holds as ``planned`` as acknowledged ``operation``
        rows that were never sent; returns how many."""
        row = self.connection.execute(
            f"INSERT INTO journal ({_JOURNAL_COLUMNS}) "
            "SELECT _sl_key, 'ack', ?, _sl_fp, _sl_ext, NULL, 0, NULL, _sl_h "
            f"FROM {plan} WHERE _sl_op = ?",
            [operation.value, planned],
        ).fetchone()
        return int(row[0]) if row else 0

    def keep_replaced(self, plan: str) -> None:
        """Enter in the snapshot, as delivered, every replaced record ``plan`` removes (see
        :data:`~syncline.engine.planner.base.REPLACED_SEPARATOR`).

        Removed keys are the snapshot's, save those: an entry with no fingerprint, which
        the removal's acknowledgement deletes and which, until then, the next run plans as
        removed again. Written at once, not journaled: the entry says only that the
        destination may hold the record, which it does whether or not this run goes on.
        """
        self.connection.execute(
            f"INSERT INTO snapshot ({_SNAPSHOT_COLUMNS}) SELECT _sl_key, NULL, _sl_ext, NULL, "
            f"NULL FROM {plan} WHERE _sl_op = 'removed' AND _sl_key NOT IN "
            "(SELECT key FROM snapshot)"
        )

    def begin_full_load(self, current: str, *, clear: bool, forget: bool = False) -> None:
        """Distrust every snapshot entry before a full resync (or clear and fill) sends.

        In one transaction, so that the resync is pending from its first batch until a
        run has acknowledged every row: the entries of keys the model lost are forgotten
        (a full resync removes nothing), the others become unknown entries sent as
        ``added``, which any later diff plans again until an acknowledgement settles
        them. With ``clear`` the destination is about to be emptied, so the snapshot is
        emptied and the clear journaled as pending (see :meth:`settle_clear`).

        With ``forget`` the snapshot is emptied without a clear: insert mode upserts an
        unknown entry, taking it for a row a killed run may have inserted, so a row the
        resync then finds existing would be overwritten by the next run. With no entry
        the row is planned as new, inserted again and, while the record exists,
        rejected, as any row whose id the destination already holds.
        """
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            if clear or forget:
                con.execute("DELETE FROM snapshot")
            if clear:
                con.execute("DELETE FROM journal WHERE kind = ?", [CLEAR_PENDING])
                con.execute("INSERT INTO journal (kind) VALUES (?)", [CLEAR_PENDING])
            elif not forget:
                con.execute(
                    "DELETE FROM snapshot WHERE key NOT IN "
                    f"(SELECT _sl_key FROM {current} WHERE _sl_key IS NOT NULL)"
                )
                con.execute("UPDATE snapshot SET fp = NULL, h = NULL, doubt = 'added'")
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise
        logger.info(
            "sync %s: %s; rows are sent again until acknowledged, by later runs if need be",
            self.sync_id,
            "clear and fill started" if clear else "full resync started",
        )

    def distrust(self) -> None:
        """Make every snapshot entry unknown, as sent with ``added``, keys absent from the
        model included: the next diff sends present keys again and removes absent ones."""
        self.connection.execute("UPDATE snapshot SET fp = NULL, h = NULL, doubt = 'added'")

    def clear_pending(self) -> bool:
        """True when a clear and fill journaled a clear the destination has not confirmed."""
        row = self.connection.execute(
            "SELECT count(*) FROM journal WHERE kind = ?", [CLEAR_PENDING]
        ).fetchone()
        return bool(row and row[0])

    def settle_clear(self) -> None:
        """Record that the destination emptied its object: the pending clear is done."""
        self.connection.execute("DELETE FROM journal WHERE kind = ?", [CLEAR_PENDING])

    def merge(self) -> None:
        """Fold the journal into the snapshot and the failed-row index, atomically.

        A pending clear stays in the journal (see :meth:`settle_clear`).
        """
        pending = self.connection.execute(
            "SELECT count(*) FROM journal WHERE kind <> ?", [CLEAR_PENDING]
        ).fetchone()
        if not pending or pending[0] == 0:
            return
        self._merge()
        logger.debug("merged %s journal entries of sync %s", pending[0], self.sync_id)

    def _merge(self) -> None:
        con = self.connection
        # A key has at most one doubt and one outcome: a plan holds each key once, and
        # the journal is merged before the next plan is made. An outcome settles the
        # doubt; the doubts left are rows sent with an unknown fate. (Made before the
        # transaction: one transaction may write to one database only.)
        con.execute(
            f"CREATE OR REPLACE TABLE {_UNSETTLED} AS SELECT d.key, d.operation, d.ext "
            "FROM journal d ANTI JOIN (SELECT key FROM journal WHERE kind <> 'doubt') o "
            "ON d.key = o.key WHERE d.kind = 'doubt'"
        )
        con.execute("BEGIN TRANSACTION")
        try:
            if self.snapshot_size() > 0:
                con.execute(
                    "DELETE FROM snapshot WHERE key IN (SELECT key FROM journal WHERE kind = "
                    f"'ack' UNION ALL SELECT key FROM {_UNSETTLED})"
                )
            con.execute(
                f"INSERT INTO snapshot ({_SNAPSHOT_COLUMNS}) SELECT key, fp, ext, NULL, h "
                "FROM journal WHERE kind = 'ack' AND operation <> 'removed'"
            )
            con.execute(
                f"INSERT INTO snapshot ({_SNAPSHOT_COLUMNS}) "
                f"SELECT key, NULL, ext, operation, NULL FROM {_UNSETTLED}"
            )
            # A rejection of an earlier run stays on record until an outcome replaces it.
            if self.failed_size() > 0:
                con.execute(
                    "DELETE FROM failed WHERE key IN "
                    "(SELECT key FROM journal WHERE kind IN ('ack', 'fail'))"
                )
            con.execute(
                "INSERT INTO failed SELECT key, operation, reason, attempts FROM journal "
                "WHERE kind = 'fail'"
            )
            con.execute("DELETE FROM journal WHERE kind <> ?", [CLEAR_PENDING])
            con.execute("DELETE FROM meta WHERE name = ?", [JOURNAL_RUN])
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise
        finally:
            con.execute(f"DROP TABLE IF EXISTS {_UNSETTLED}")

    def replace_baseline(self, current: str) -> None:
        """Make the rows of ``current`` the acknowledged snapshot; clear failed rows."""
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM snapshot")
            con.execute(
                f"INSERT INTO snapshot ({_SNAPSHOT_COLUMNS}) "
                f"SELECT _sl_key, _sl_fp, CAST(_sl_id AS VARCHAR), NULL, _sl_h FROM {current} "
                "WHERE _sl_key IS NOT NULL"
            )
            con.execute("DELETE FROM failed")
            con.execute("DELETE FROM journal")
            con.execute("DELETE FROM meta WHERE name = ?", [JOURNAL_RUN])
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise

    def forget_absent(self, current: str, *, snapshot: bool) -> None:
        """Drop failed rows (and with ``snapshot`` also snapshot rows) no longer in the model."""
        if not snapshot and self.failed_size() == 0:
            return
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            if snapshot:
                con.execute(
                    f"DELETE FROM snapshot WHERE key NOT IN "
                    f"(SELECT _sl_key FROM {current} WHERE _sl_key IS NOT NULL)"
                )
            con.execute(
                f"DELETE FROM failed WHERE key NOT IN (SELECT key FROM snapshot) AND key NOT IN "
                f"(SELECT _sl_key FROM {current} WHERE _sl_key IS NOT NULL)"
            )
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise

    def failed_rows(self) -> list[tuple[str, str, str, int]]:
        """Every row of the failed-row index: key, operation, reason, attempts."""
        rows = self.connection.execute(
            "SELECT key, operation, reason, attempts FROM failed ORDER BY key"
        ).fetchall()
        return [(str(k), str(o), str(r), int(a)) for k, o, r, a in rows]

    def carry_out(self) -> CarriedSnapshot:
        """The snapshot as the other planner takes it over; fold the journal first."""
        con = self.connection
        entries = con.execute("SELECT key, ext FROM snapshot ORDER BY key").to_arrow_table()
        failed = con.execute(
            "SELECT key, operation, reason, attempts FROM failed ORDER BY key"
        ).to_arrow_table()
        return CarriedSnapshot(
            entries=entries.cast(CARRIED_ENTRIES),
            failed=failed.cast(CARRIED_FAILED),
            clear_pending=self.clear_pending(),
        )

    def carry_in(self, carried: CarriedSnapshot) -> None:
        """Take over the other planner's snapshot in place of this one, in one transaction:
        its keys as unknown entries sent with ``added``, its failed rows as they are."""
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            for table in ("snapshot", "failed", "journal"):
                con.execute(f"DELETE FROM {table}")
            con.execute("DELETE FROM meta WHERE name = ?", [JOURNAL_RUN])
            con.register("_sl_carried", carried.entries)
            con.execute(
                "INSERT INTO snapshot (key, fp, ext, doubt, h) "
                "SELECT key, NULL, ext, 'added', NULL FROM _sl_carried"
            )
            con.unregister("_sl_carried")
            con.register("_sl_carried", carried.failed)
            con.execute(
                "INSERT INTO failed (key, operation, reason, attempts) "
                "SELECT key, operation, reason, attempts FROM _sl_carried"
            )
            con.unregister("_sl_carried")
            if carried.clear_pending:
                con.execute("INSERT INTO journal (kind) VALUES (?)", [CLEAR_PENDING])
            con.execute("COMMIT")
        except BaseException:
            roll_back(con)
            raise

    def close(self) -> None:
        """Close the file; scratch tables of the run vanish with it."""
        try:
            self._pace_compaction()
            self.connection.close()
        finally:
            if self._held is not None:
                with _open_here_lock:
                    _open_here.pop(self._held, None)
                self._held = None

    def _pace_compaction(self) -> None:
        """Let the checkpoint that closing makes compact the file only when the snapshot's
        deleted rows reach :data:`COMPACT_DEAD_SHARE` of its stored ones."""
        con = self.connection
        try:
            row = con.execute(
                "SELECT estimated_size FROM duckdb_tables() "
                "WHERE database_name = current_database() AND table_name = 'snapshot'"
            ).fetchone()
            stored = int(row[0]) if row and row[0] is not None else 0
            deleted = stored - self.snapshot_size()
            if stored == 0 or deleted < COMPACT_DEAD_SHARE * stored:
                con.execute("SET max_vacuum_tasks = 0")
                return
            con.execute("RESET max_vacuum_tasks")
            logger.debug(
                "sync %s: compacting the snapshot file (%s of %s stored rows deleted)",
                self.sync_id,
                deleted,
                stored,
            )
        except duckdb.Error:
            # A store closed after a failure: DuckDB's own checkpoint policy is as good.
            logger.debug("sync %s: snapshot compaction left to DuckDB", self.sync_id, exc_info=True)


def _locked_message(path: Path, sync_id: int, holder: str, pid: int, wait: float) -> str:
    """What a person reads when a run gave up waiting for its snapshot file: who, and what
    to do."""
    text = f"the snapshot file {path} of sync {sync_id} is still held by {holder} after {wait:g} s"
    if pid == os.getpid():
        return (
            f"{text}; another run of this sync in this worker still has it, and this run "
            "is left for a later one"
        )
    return (
        f"{text}; if that is a worker presumed stopped (paused or hung), let it go on with "
        f"`kill -CONT {pid}` so it stops by itself, or end it with `kill {pid}`; "
        "SYNCLINE_SNAPSHOT_LOCK_WAIT_SECONDS sets how long runs wait"
    )


def _describe_process(pid: int, executable: str) -> str:
    """``PID n (executable)``, with the process state when the kernel tells it (Linux)."""
    state = ""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        # The state letter follows the command name, which is in parentheses.
        letter = stat[stat.rindex(")") + 2 :][:1]
        state = _PROCESS_STATES.get(letter, "")
    except (OSError, ValueError):
        pass
    detail = f"{executable}, {state}" if state else executable
    return f"PID {pid} ({detail})"


_PROCESS_STATES = {
    "T": "stopped by a signal",
    "t": "stopped by a debugger",
    "D": "waiting on disk or network I/O",
    "Z": "exited, not yet reaped",
}
"""Process states worth naming to someone deciding what to do about a holder."""


def roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction of ``con``, so that the error that stopped it is
    the one raised: when a signal interrupted a statement, DuckDB has rolled back
    already and a second ROLLBACK would fail in its place."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        logger.debug("the transaction was rolled back already")


def doubt_entries(planned: pa.RecordBatch, sent: list[int], batch: int) -> pa.Table:
    """Journal rows marking the ``sent`` rows of planned batch ``batch`` as in doubt.

    They carry the fingerprint already, so that an acknowledgement only flips their kind.
    """
    rows = planned if len(sent) == planned.num_rows else planned.take(pa.array(sent, pa.int64()))
    count = rows.num_rows
    return pa.Table.from_arrays(
        [
            rows.column("_sl_key"),
            pa.repeat(pa.scalar("doubt"), count),
            rows.column("_sl_op"),
            rows.column("_sl_fp"),
            rows.column("_sl_ext"),
            pa.nulls(count, pa.string()),
            pa.repeat(pa.scalar(0, pa.int32()), count),
            pa.repeat(pa.scalar(batch, pa.int64()), count),
            _prefilters(rows),
        ],
        schema=_JOURNAL_SCHEMA,
    )


def journal_entries(
    planned: pa.RecordBatch,
    acked: list[int],
    rejected: list[tuple[int, str]],
    *,
    batch: int | None = None,
) -> pa.Table:
    """Journal rows for the acknowledged and rejected rows of planned batch ``batch``."""
    parts = []
    if acked:
        rows = planned.take(pa.array(acked, pa.int64()))
        count = rows.num_rows
        parts.append(
            pa.Table.from_arrays(
                [
                    rows.column("_sl_key"),
                    pa.array(["ack"] * count, pa.string()),
                    rows.column("_sl_op"),
                    rows.column("_sl_fp"),
                    rows.column("_sl_ext"),
                    pa.nulls(count, pa.string()),
                    pa.array([0] * count, pa.int32()),
                    pa.repeat(pa.scalar(batch, pa.int64()), count),
                    _prefilters(rows),
                ],
                schema=_JOURNAL_SCHEMA,
            )
        )
    if rejected:
        rows = planned.take(pa.array([index for index, _ in rejected], pa.int64()))
        count = rows.num_rows
        attempts = pc.add(rows.column("_sl_attempts").cast(pa.int32()), 1)
        parts.append(
            pa.Table.from_arrays(
                [
                    rows.column("_sl_key"),
                    pa.array(["fail"] * count, pa.string()),
                    rows.column("_sl_op"),
                    rows.column("_sl_fp"),
                    rows.column("_sl_ext"),
                    pa.array([reason for _, reason in rejected], pa.string()),
                    attempts,
                    pa.repeat(pa.scalar(batch, pa.int64()), count),
                    _prefilters(rows),
                ],
                schema=_JOURNAL_SCHEMA,
            )
        )
    if not parts:
        return _JOURNAL_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def _prefilters(rows: pa.RecordBatch) -> pa.Array:
    """The planned rows' prefilters; NULL (compute the fingerprint) when a plan has none."""
    if "_sl_h" in rows.schema.names:
        return rows.column("_sl_h").cast(pa.uint64())
    return pa.nulls(rows.num_rows, pa.uint64())


def _quote(text: str) -> str:
    return text.replace("'", "''")
