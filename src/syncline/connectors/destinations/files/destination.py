"""File destinations: one folder, one file per sync (or per run), written crash-safely.

How a run writes depends on the sync's ``object`` (see :mod:`.layout`):

- a MAINTAINED file (no ``{run_id}``/``{timestamp}``) holds the current state. In
  ``upsert``, ``update``, ``insert``, ``mirror`` and ``all`` modes its records are
  matched by the id field: each batch is merged into a scratch copy that then
  atomically replaces the file. In ``append`` mode rows are added to the end
  (Parquet, which cannot be appended to, is rewritten instead). Several syncs may
  write one maintained file: each batch holds the file's lock (see :mod:`.shared`).
- a PER-RUN file is a change log of that run: every row the run delivered, in the
  order delivered, with the extra field ``_syncline_operation`` holding the batch's
  action (``upsert``, ``insert``, ``append`` or ``delete``; a ``delete`` row carries
  only the id). With mode ``all`` the engine sends every row each run, so the file
  is a full export; with ``upsert``/``mirror`` it holds only the changes. ``update``
  needs a maintained file. Rows are not matched against earlier runs' files.

When :meth:`write_batch` returns, its rows are on disk (fsync) and the file is valid.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

import pyarrow as pa

from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    FieldSpec,
    ObjectField,
    PathRefusal,
    RowFailure,
    SyncMode,
    WriteAction,
    WriteBatch,
    WriteContext,
)
from syncline.connectors.destinations.files.durable import (
    AppendMarks,
    file_key,
    replace_atomically,
)
from syncline.connectors.destinations.files.formats import (
    CSVFormat,
    Encoded,
    FileFormat,
    JSONLinesFormat,
    ParquetFormat,
)
from syncline.connectors.destinations.files.layout import (
    PLACEHOLDERS,
    STATE_FOLDER,
    Target,
    resolve_target,
    state_root,
)
from syncline.connectors.destinations.files.merge import merge
from syncline.connectors.destinations.files.parts import PartStore
from syncline.connectors.destinations.files.shared import SharedFile
from syncline.connectors.destinations.files.spec import (
    CSVConfig,
    FileConfig,
    JSONLinesConfig,
    ParquetConfig,
)
from syncline.connectors.destinations.files.values import field_of, mark_logical
from syncline.connectors.destinations.local_paths import file_in_the_way
from syncline.errors import ConnectorError, RunCancelled, TerminalError, TransientError

logger = logging.getLogger(__name__)

OPERATION_FIELD = "_syncline_operation"
"""Extra field of per-run files: the action that delivered the row."""


@contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    """Map file-system errors to the taxonomy: permissions are terminal, the rest may pass."""
    try:
        yield
    except ConnectorError:
        raise
    except PermissionError as exc:
        raise TerminalError(
            f"cannot write {_failed_path(exc, path)}: {exc.strerror}; give Syncline write "
            "access to that folder or choose another directory",
            connector="files",
        ) from None
    except OSError as exc:
        raise TransientError(
            f"writing {_failed_path(exc, path)} failed: {exc.strerror or exc}; nothing of "
            "this batch was acknowledged",
            connector="files",
        ) from None


def _failed_path(exc: OSError, path: Path) -> str:
    """``path`` quoted, or the path the system refused when that is another one (the state
    folder's locks, say), so the fix is made where it is needed."""
    failed = os.fsdecode(exc.filename) if exc.filename is not None else str(path)
    if failed == str(path):
        return repr(failed)
    return f"{failed!r}, which writing {str(path)!r} needs"


def _with_fields(records: pa.Table, fields: tuple[FieldSpec, ...]) -> pa.Table:
    """``records`` with every sync field, in mapping order; missing ones are NULL."""
    if not fields:
        return records

    records = mark_logical(records, fields)
    names = [spec.name for spec in fields]
    columns: list[pa.ChunkedArray | pa.Array] = []
    schema: list[pa.Field] = []
    for spec in fields:
        if spec.name in records.column_names:
            columns.append(records.column(spec.name))
            schema.append(records.schema.field(spec.name))
        else:
            columns.append(pa.nulls(records.num_rows, spec.arrow_type))
            schema.append(field_of(spec))
    for extra in records.schema:
        if extra.name not in names:
            columns.append(records.column(extra.name))
            schema.append(extra)
    return pa.table(columns, schema=pa.schema(schema))


def _accepted(encoded: Encoded) -> tuple[pa.Table, list[RowFailure]]:
    """The encoded rows that may be written, and the refusals of the others."""
    if not encoded.rejected:
        return encoded.form, []
    keep = pa.array([row not in encoded.rejected for row in range(encoded.form.num_rows)])
    failures = [RowFailure(row, reason, False) for row, reason in sorted(encoded.rejected.items())]
    return encoded.form.filter(keep), failures


@dataclass
class _Run:
    """What one run writes to, and what it has written so far."""

    context: WriteContext
    target: Target
    format: FileFormat
    marks: AppendMarks
    parts: PartStore | None
    shared: SharedFile | None
    """The maintained file and its lock; None for a per-run file."""
    version: int | None = None
    """The maintained file's write count after this run's last batch: another writer
    has changed the file since when the count moved on."""
    current: tuple[pa.Table, pa.Array] | None = None
    """The maintained file's records in the format's form, with their ids."""
    written: int = 0
    refused: int = 0
    done: bool = False
    claim: Path | None = None
    """The claim on a new per-run file, given up when the run ends."""
    rewrite_failed: bool = False
    """A rewrite failed, perhaps after its new file took the old one's place (its folder
    not synced): unless a later rewrite succeeds, the run puts :attr:`current`, the
    acknowledged records, back when it ends."""

    @property
    def log_extra(self) -> dict[str, int]:
        return {"sync_id": self.context.sync_id, "run_id": self.context.run_id}


class FileDestination(Destination):
    """Common behaviour of the CSV, JSON Lines and Parquet destinations."""

    config_model: ClassVar[type[FileConfig]]
    capabilities = Capabilities(
        modes=frozenset(SyncMode),
        # Every batch of a maintained file rewrites the file, so fewer, larger
        # batches cost less.
        max_batch_rows=FileConfig.max_batch_rows,
        max_concurrency=1,
        per_row_results=True,
        creates_objects=True,
        clears_objects=True,
    )

    def __init__(self, config: FileConfig) -> None:
        super().__init__(config)
        self.settings = config
        self._lock = threading.Lock()
        self._run: _Run | None = None
        self._refusal: PathRefusal | None = None

    def guard_files(self, refusal: PathRefusal) -> None:
        """Check every file of an object, and the recovery state, with ``refusal``."""
        self._refusal = refusal

    def _guarded(self, path: Path) -> Path:
        """``path`` when the guard allows it (symlinks resolved), else a terminal error."""
        reason = self._refusal(path) if self._refusal is not None else None
        if reason is not None:
            raise TerminalError(reason, connector=self.type_name, code="PATH_REFUSED")
        return path

    @abstractmethod
    def _make_format(self) -> FileFormat:
        """The format this destination writes."""

    @property
    def _compression(self) -> str:
        return "zstd"

    @classmethod
    def check_object(cls, name: str) -> None:
        """Refuse a file name with unknown placeholders or one that leaves the folder.

        Raises:
            TerminalError: the name cannot be used; the message says how to correct it.
        """
        resolve_target(Path("."), name, sync_id=0, run_id=0)

    @classmethod
    def check_mode(cls, mode: str, name: str) -> None:
        """Refuse a mode the file ``name`` cannot be written in: ``update`` needs a maintained file.

        Raises:
            TerminalError: the name or the mode cannot be used; the message says how to fix it.
        """
        if mode == SyncMode.UPDATE and resolve_target(Path("."), name, sync_id=0, run_id=0).per_run:
            raise TerminalError(
                f"mode 'update' needs a maintained file, but {name!r} names a new file per "
                "run; remove {run_id} and {timestamp} from the name or choose mode 'upsert'",
                connector=cls.type_name,
            )

    @classmethod
    def shared_object_key(
        cls, destination: str, configuration: dict[str, Any], object_name: str
    ) -> tuple[str, ...] | None:
        """The file's real path, which destinations spelling one folder apart share; None
        for a name with a placeholder, which names a file of each sync or run."""
        directory = configuration.get("directory")
        if any("{" + p + "}" in object_name for p in PLACEHOLDERS) or directory is None:
            return None
        try:
            target = resolve_target(Path(str(directory)), object_name, sync_id=0, run_id=0)
        except TerminalError:
            return None  # check_object reports the name
        return ("file", os.path.normpath(target.path.resolve()))

    @classmethod
    def reserved_fields(cls, object_name: str) -> frozenset[str]:
        """A per-run file's operation field; a maintained file has none."""
        try:
            per_run = resolve_target(Path("."), object_name, sync_id=0, run_id=0).per_run
        except TerminalError:
            return frozenset()  # check_object reports the name
        return frozenset({OPERATION_FIELD}) if per_run else frozenset()

    def _check_folder(self) -> None:
        """Refuse a directory that is a file, or lies below one, naming that file."""
        directory = self.settings.directory
        blocker = directory if directory.exists() and not directory.is_dir() else None
        blocker = blocker or file_in_the_way(directory)
        if blocker is not None:
            raise TerminalError(
                f"{str(blocker)!r} is a file, not a folder, so directory {str(directory)!r} "
                "cannot be used; choose another directory",
                connector=self.type_name,
            )

    def test(self) -> None:
        """Check that the folder exists (creating it) and that a file can be written there."""
        directory = self.settings.directory
        self._check_folder()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / f".syncline-write-test-{os.getpid()}"
            with open(probe, "wb") as sink:
                sink.write(b"ok")
                sink.flush()
                os.fsync(sink.fileno())
            probe.unlink()
        except OSError as exc:
            raise TerminalError(
                f"folder {str(directory)!r} is not writable ({exc.strerror or exc}); create "
                "it, fix its permissions or choose another directory",
                connector=self.type_name,
            ) from None

    def fields(self, object_name: str) -> list[ObjectField] | None:
        """The fields of a maintained file that exists; None for a new or per-run file.

        A per-run file is written afresh by every run, so no existing file describes it.
        """
        target = resolve_target(self.settings.directory, object_name, sync_id=0, run_id=0)
        if target.per_run or not self._guarded(target.path).is_file():
            return None
        try:
            return self._make_format().fields_of(target.path)
        except OSError as exc:
            raise TerminalError(
                f"cannot read {str(target.path)!r}: {exc.strerror or exc}; give Syncline "
                "read access to the file",
                connector=self.type_name,
            ) from None

    def find_object(self, object_name: str, *, sync_id: int) -> bool | None:
        """Whether the maintained file exists; None for a file written anew by each run."""
        target = resolve_target(self.settings.directory, object_name, sync_id=sync_id, run_id=0)
        if target.per_run:
            return None
        return self._guarded(target.path).is_file()

    def open(self, context: WriteContext) -> None:
        """Resolve the run's file, finish what an interrupted run left, check the header."""
        self.check_mode(context.mode, context.object)
        self._check_folder()
        target = self._claim(context)
        try:
            self._open(context, target)
        except BaseException:
            if target.per_run:
                _claim_path(_claims(self.settings), target.path).unlink(missing_ok=True)
            raise

    def _open(self, context: WriteContext, target: Target) -> None:
        root = state_root(self.settings.directory, context.sync_id)
        for path in (target.path, target.temp_path, root, _locks(target.path)):
            self._guarded(path)
        if context.object_expected and not target.per_run and not target.path.is_file():
            raise TerminalError(
                f"file {str(target.path)!r} was deleted while the run planned, so nothing was "
                "sent; run the sync again: the next run writes every row to it",
                connector=self.type_name,
                code="OBJECT_GONE",
            )

        fmt = self._make_format()
        shared = None if target.per_run else SharedFile(target.path, _locks(target.path))
        with _os_errors(target.path):
            target.path.parent.mkdir(parents=True, exist_ok=True)
            marks = AppendMarks(root / "appends")
            marks.recover(self._refusal)
            PartStore.recover(root / "parts", self._compression, _temp_path, self._refusal)
            with shared.held() if shared is not None else nullcontext():
                target.temp_path.unlink(missing_ok=True)

        parts = None
        if target.per_run and not fmt.appendable:
            parts = PartStore(root / "parts", context.run_id, target.path)
        if shared is not None and context.mode == SyncMode.APPEND:
            _check_header(fmt, target, context, shared)

        self._run = _Run(context, target, fmt, marks, parts, shared)
        if target.per_run:
            self._run.claim = _claim_path(_claims(self.settings), target.path)
        logger.debug(
            "writing %s file %s (%s)",
            fmt.name,
            target.path,
            "per run" if target.per_run else "maintained",
            extra=self._run.log_extra,
        )

    def _claim(self, context: WriteContext) -> Target:
        """The run's file; a new per-run file is claimed, so that no other run adds to it.

        A name whose only per-run placeholder is ``{timestamp}`` may be taken by a run
        that opened its file in the same second: this run then waits for a second whose
        name is free, as many seconds as runs of the name start together, up to
        :data:`_CLAIM_PATIENCE`.

        Raises:
            TerminalError: the per-run file exists already, written by another run, or
                every second's name was taken for longer than the run waits.
            RunCancelled: the run was asked to stop while it waited (asked each second).
        """
        waited = 0.0
        while True:
            target = resolve_target(
                self.settings.directory,
                context.object,
                sync_id=context.sync_id,
                run_id=context.run_id,
            )
            if not target.per_run:
                return target
            with _os_errors(target.path):
                claims = self._guarded(_claims(self.settings))
                if _claimed(claims, self._guarded(target.path)):
                    return target
            if "{run_id}" in context.object:
                raise TerminalError(
                    f"file {str(target.path)!r} already exists, written by another run, and "
                    "a run never adds to another run's file; put {run_id} in the file name, "
                    "or move the file away",
                    connector=self.type_name,
                    code="OBJECT_TAKEN",
                )
            if waited >= _CLAIM_PATIENCE:
                raise TerminalError(
                    f"file {str(target.path)!r} is taken by another run, as was the name of "
                    f"every second for the last {_CLAIM_PATIENCE:.0f} seconds, and a run never "
                    "adds to another run's file; put {run_id} in the file name, or start "
                    "fewer runs writing it at once",
                    connector=self.type_name,
                    code="OBJECT_TAKEN",
                )
            if waited.is_integer() and context.stop_requested():
                raise RunCancelled(
                    "the run was asked to stop while it waited for a free name for its file; "
                    "nothing was sent",
                    sync_id=context.sync_id,
                    run_id=context.run_id,
                )
            time.sleep(_CLAIM_WAIT)
            waited += _CLAIM_WAIT

    def _require_run(self) -> _Run:
        if self._run is None:
            raise RuntimeError("open() must be called before writing")
        return self._run

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Write one batch durably; rows with a bad id or value are refused, not raised."""
        run = self._require_run()
        with self._lock, _os_errors(run.target.path), self._holding(run):
            if run.target.per_run:
                failures = self._log_changes(run, batch)
            elif batch.action == WriteAction.APPEND:
                failures = self._append(run, batch)
            else:
                failures = self._merge(run, batch)

        run.written += len(batch) - len(failures)
        run.refused += len(failures)
        logger.debug(
            "batch of %d %s rows: %d refused",
            len(batch),
            batch.action.value,
            len(failures),
            extra=run.log_extra,
        )
        return BatchResult(failures)

    @staticmethod
    def _holding(run: _Run) -> AbstractContextManager[object]:
        """The maintained file's lock, held across one batch's read, merge and write."""
        return _holding(run) if run.shared is not None else nullcontext()

    def clear(self) -> None:
        """Empty the maintained file, keeping its fields, before a clear and fill.

        A per-run file is new to this run, so it holds nothing to clear.
        """
        run = self._require_run()
        if run.target.per_run:
            return
        with self._lock, _os_errors(run.target.path), _holding(run):
            existing, ids = self._load(run)
            self._rewrite(run, existing.schema.empty_table(), ids.slice(0, 0))
        logger.info("emptied %s for a clear and fill", run.target.path, extra=run.log_extra)

    def _log_changes(self, run: _Run, batch: WriteBatch) -> list[RowFailure]:
        records = _with_fields(batch.records, run.context.fields)
        operation = pa.repeat(pa.scalar(batch.action.value), records.num_rows)
        records = records.append_column(OPERATION_FIELD, operation)
        form, failures = _accepted(run.format.encode(records))

        if run.parts is not None:
            run.parts.add(form, self._compression)
        else:
            _append_form(run, form)
        return failures

    def _append(self, run: _Run, batch: WriteBatch) -> list[RowFailure]:
        records = _with_fields(batch.records, run.context.fields)
        form, failures = _accepted(run.format.encode(records))
        if run.format.appendable:
            _append_form(run, form)
            return failures

        existing, ids = self._load(run)
        existing, form = run.format.align(existing, form)
        added = run.format.ids(form, run.context.id_field)
        self._rewrite(run, pa.concat_tables([existing, form]), pa.concat_arrays([ids, added]))
        return failures

    def _merge(self, run: _Run, batch: WriteBatch) -> list[RowFailure]:
        id_field = run.context.id_field
        if id_field not in batch.records.column_names:
            raise TerminalError(
                f"sync {run.context.sync_id}: the batch has no id field {id_field!r}; "
                "map the external id to a field",
                connector=self.type_name,
            )

        existing, existing_ids = self._load(run)
        layout = existing.schema.names
        mapped: list[str] = []
        if batch.action == WriteAction.DELETE:
            encoded = run.format.encode(batch.records.select([id_field]))
            form = encoded.form
        else:
            records = _with_fields(batch.records, run.context.fields)
            mapped = records.column_names
            encoded = run.format.encode(records)
            existing, form = run.format.align(existing, encoded.form)

        file_name = str(run.target.relative)

        def combine(old: pa.Table, new: pa.Table) -> pa.Table:
            # A changed record keeps the fields the sync does not map, as a table row does.
            return run.format.updated(old, new, mapped, file_name=file_name)

        merged = merge(
            existing,
            existing_ids,
            form,
            run.format.ids(form, id_field),
            batch.action,
            id_field=id_field,
            rejected=encoded.rejected,
            file_name=file_name,
            combine=combine,
        )
        if merged.table is None or merged.ids is None:
            return merged.failures

        # New records only, in the file's own column order: adding them at the end is
        # the same file as a rewrite, at the cost of the batch rather than the file.
        if merged.tail is not None and run.format.appendable and form.schema.names == layout:
            _append_form(run, merged.tail)
            run.current = (merged.table, merged.ids)
        else:
            self._rewrite(run, merged.table, merged.ids)
        return merged.failures

    def _load(self, run: _Run) -> tuple[pa.Table, pa.Array]:
        """The maintained file's records in the format's form, read once per run."""
        if run.current is None:
            if run.target.path.exists():
                names = [spec.name for spec in run.context.fields]
                if run.format.nameless:
                    names = _shared(run).columns() or names
                table = run.format.read(run.target.path, names)
                _check_ids(run, table)
            else:
                fields = [field_of(spec) for spec in run.context.fields]
                table = run.format.encode(pa.schema(fields).empty_table()).form
            run.current = (table, run.format.ids(table, run.context.id_field))
        return run.current

    def _rewrite(self, run: _Run, table: pa.Table, ids: pa.Array) -> None:
        fmt, shared = run.format, _shared(run)
        if fmt.nameless:
            shared.record_columns(table.schema.names)
        before = _identity(run.target.path)
        try:
            shared.replace(run.target.temp_path, lambda s: fmt.write(table, s))
        except OSError:
            # Only a new file that took the old one's place needs putting back.
            run.rewrite_failed = run.rewrite_failed or _identity(run.target.path) != before
            raise
        run.rewrite_failed = False
        run.current = (table, ids)

    def finish(self) -> None:
        """Publish the run's file: assemble Parquet parts, or create an empty per-run file."""
        run = self._require_run()
        self._complete(run, publish_empty=True)
        logger.info(
            "wrote %d rows to %s (%d refused)",
            run.written,
            run.target.path,
            run.refused,
            extra=run.log_extra,
        )

    def close(self) -> None:
        """Make acknowledged rows of an unfinished run visible; they are in the snapshot."""
        if self._run is None:
            return
        run = self._run
        try:
            self._complete(run, publish_empty=False)
        except ConnectorError as exc:
            # The run has failed already, with its own error: one line says what is left.
            if run.target.per_run:
                what = "could not publish the acknowledged rows of an unfinished run"
                after = "the next run of this sync publishes them"
            else:
                what = "could not put the acknowledged records back after a failed write"
                after = "the file may hold rows of the failed batch, which the next run sends again"
            logger.error(
                "%s (%s); %s",
                what,
                exc,
                after,
                exc_info=logger.isEnabledFor(logging.DEBUG),
                extra=run.log_extra,
            )

    def _complete(self, run: _Run, *, publish_empty: bool) -> None:
        if run.done:
            return
        run.done = True

        target, fmt = run.target, run.format
        with _os_errors(target.path):
            if run.parts is not None and (run.parts.count or publish_empty):
                # An empty file takes the schema the format writes: Parquet holds no
                # calendar interval, which it writes as text.
                empty_schema = fmt.encode(_per_run_schema(run.context).empty_table()).form.schema
                schema = None if run.parts.count else empty_schema
                run.parts.publish(schema, self._compression, target.temp_path)
            elif target.per_run and publish_empty and not target.path.exists():
                empty = fmt.encode(_per_run_schema(run.context).empty_table()).form
                replace_atomically(target.path, target.temp_path, lambda s: fmt.write(empty, s))
            elif run.rewrite_failed and run.current is not None:
                # The batch of the failed rewrite is not acknowledged: the next run
                # sends it again, and an appended file must not hold it twice then.
                # Unless another writer has replaced the file since: it stays theirs.
                with _holding(run):
                    if run.current is not None:
                        self._rewrite(run, *run.current)

            # Every append that returned is whole; one cut short by an error is cut
            # back here rather than left torn until the next run.
            run.marks.recover(self._refusal)
        if run.claim is not None:
            # The file exists now, which keeps other runs off it; or the run wrote
            # nothing, and the name is free again.
            run.claim.unlink(missing_ok=True)


_CLAIM_WAIT = 0.25
"""Seconds a run waits before it names its per-run file by the time again."""

_CLAIM_PATIENCE = 120.0
"""Seconds a run waits in all for a free ``{timestamp}`` name: runs of one name that start
together take one second each, so this lets about as many start at once."""


def _claims(settings: FileConfig) -> Path:
    """The folder of the claims on per-run files, in the destination's state folder."""
    return settings.directory / STATE_FOLDER / "claims"


def _claim_path(claims: Path, path: Path) -> Path:
    return claims / f"{file_key(path)}.claim"


def _claimed(claims: Path, path: Path) -> bool:
    """Whether this run has made the new per-run file ``path`` its own.

    The claim is created exclusively, so two runs cannot both hold it; a file already
    there belongs to a run that has given its claim up.
    """
    claim = _claim_path(claims, path)
    claim.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    if path.exists():
        claim.unlink()
        return False
    return True


def _locks(path: Path) -> Path:
    """The folder of the lock of the maintained file ``path``: in the file's own folder, so
    every destination reaching the file, from whichever folder, takes the same lock."""
    return path.parent / STATE_FOLDER / "locks"


def _shared(run: _Run) -> SharedFile:
    if run.shared is None:
        raise RuntimeError("a per-run file is not shared")
    return run.shared


@contextmanager
def _holding(run: _Run) -> Iterator[None]:
    """Hold the maintained file's lock; forget the records read when another run wrote since."""
    with _shared(run).held() as shared:
        if shared.version != run.version:
            run.current = None
        try:
            yield
        finally:
            run.version = shared.version


def _check_ids(run: _Run, table: pa.Table) -> None:
    """Refuse a maintained file none of whose records has the id field: a file made by
    something else, whose records no row could ever match."""
    if table.num_rows == 0 or run.context.mode == SyncMode.APPEND:
        return
    ids = run.format.ids(table, run.context.id_field)
    if ids.null_count < table.num_rows:
        return
    cause = ""
    if run.format.nameless and table.num_columns == 1 and len(run.context.fields) > 1:
        cause = run.format.one_field_cause()
    raise TerminalError(
        f"no record of {str(run.target.path)!r} has the id field {run.context.id_field!r}, so "
        f"sync {run.context.sync_id} cannot match its rows to them; move the file away so the "
        f"next run starts a new one, or map the external id to a field the file has{cause}",
        connector="files",
    )


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device, inode); None for none, or when it cannot be told."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.syncline-tmp")


def _check_header(
    fmt: FileFormat, target: Target, context: WriteContext, shared: SharedFile
) -> None:
    """Refuse to append to a CSV file whose header, or recorded columns, are other fields."""
    if not isinstance(fmt, CSVFormat):
        return
    expected = [spec.name for spec in context.fields]
    header = fmt.header_of(target.path)
    if header is not None and expected and header != expected:
        raise TerminalError(
            f"file {str(target.path)!r} has the columns {header}, but sync "
            f"{context.sync_id} appends {expected}; move the file away or restore the "
            "mappings",
            connector="csv",
        )
    recorded = shared.columns() if fmt.nameless and target.path.exists() else None
    if recorded is not None and expected and recorded != expected:
        raise TerminalError(
            f"file {str(target.path)!r} has no header and holds the columns {recorded} in "
            f"that order, but sync {context.sync_id} appends {expected}; restore the order "
            "of the model's columns or mappings, or move the file away so the next run "
            "starts a new one",
            connector="csv",
        )


def _append_form(run: _Run, form: pa.Table) -> None:
    """Add ``form``'s records to the end of the run's file, durably."""
    path = run.target.path
    if run.shared is not None:
        # Under the file's lock, where a failed append was cut back at once.
        new_file = not path.exists() or path.stat().st_size == 0
        data = run.format.append_bytes(form, new_file=new_file)
        if data:
            if run.format.nameless:
                run.shared.record_columns(form.schema.names)
            run.shared.append(data)
        return

    # The size after the last acknowledged append: a CSV file that an append failed to
    # start still needs its header.
    new_file = run.marks.acknowledged_size(path) == 0
    data = run.format.append_bytes(form, new_file=new_file)
    if data:
        run.marks.append(path, data)


def _per_run_schema(context: WriteContext) -> pa.Schema:
    fields = [field_of(spec) for spec in context.fields]
    return pa.schema([*fields, pa.field(OPERATION_FIELD, pa.string())])


class CSVDestination(FileDestination):
    """CSV files; see :class:`~.formats.CSVFormat` for quoting and NULLs."""

    type_name = "csv"
    config_model = CSVConfig

    def _make_format(self) -> FileFormat:
        return CSVFormat(cast(CSVConfig, self.settings))


class JSONLinesDestination(FileDestination):
    """JSON Lines files: one JSON object per record or change."""

    type_name = "jsonl"
    config_model = JSONLinesConfig

    def _make_format(self) -> FileFormat:
        return JSONLinesFormat()


class ParquetDestination(FileDestination):
    """Parquet files with typed columns."""

    type_name = "parquet"
    config_model = ParquetConfig

    @property
    def _compression(self) -> str:
        return cast(ParquetConfig, self.settings).compression

    def _make_format(self) -> FileFormat:
        return ParquetFormat(cast(ParquetConfig, self.settings))
