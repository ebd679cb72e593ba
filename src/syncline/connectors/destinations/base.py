"""The contract every destination implements: open, write batches of changes, finish.

The engine hands a destination batches of rows that already carry destination field
names (mappings applied). Each batch has one action. The destination answers with a
result for every row: a row it rejected is reported in :class:`BatchResult`, never
raised, so that the engine can record it and retry it on the next run.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Self

import pyarrow as pa
from pydantic import Field, field_validator

from syncline.connectors.config import ConnectorConfig
from syncline.connectors.redaction import guard
from syncline.errors import ConnectorError, TerminalError


class SyncMode(StrEnum):
    """How a sync writes rows; each destination declares the modes it supports."""

    UPSERT = "upsert"
    UPDATE = "update"
    INSERT = "insert"
    MIRROR = "mirror"
    ALL = "all"
    APPEND = "append"


class WriteAction(StrEnum):
    """What one batch asks the destination to do with each of its rows."""

    UPSERT = "upsert"
    """Insert the record, or replace the mapped fields of the record with the same id."""
    UPDATE = "update"
    """Change the mapped fields of an existing record; a missing record is a rejected row."""
    INSERT = "insert"
    """Create a new record; an existing record with the same id is a rejected row."""
    APPEND = "append"
    """Add the row as a new event; ids are not matched."""
    DELETE = "delete"
    """Remove the record with this id; a record already gone counts as success."""


@dataclass(frozen=True)
class Capabilities:
    """What a destination can do, as data the engine plans from."""

    modes: frozenset[SyncMode]
    max_batch_rows: int = 10_000
    """The most rows one :meth:`Destination.write_batch` call may receive."""
    max_concurrency: int = 1
    """How many batches may be in flight at once (1: strictly one after another)."""
    per_row_results: bool = True
    """True when the destination can reject single rows rather than whole batches."""
    creates_objects: bool = False
    """True when the destination can create its target (a table) from the mapped fields."""
    clears_objects: bool = False
    """True when :meth:`Destination.clear` can empty the target, which ``clearAndFill`` needs."""
    retries_writes: bool = False
    """True when the destination retries a transient failure itself, as its own settings
    say (a webhook's ``max_retries``): the engine then retries no batch on top, which
    would multiply the attempts a user configured; what is left unsent waits for the
    next run."""


PathRefusal = Callable[[Path], str | None]
"""Why a file may not be used (the message names it and the fix); None when it may."""


class DestinationConfig(ConnectorConfig):
    """Keys every batch-writing destination takes besides its own: how the engine batches.

    ``max_batch_rows`` and ``max_concurrency`` repeat the destination's
    :class:`Capabilities`, so that a configuration above them is refused where it is
    written (API, project files), not when a run starts.
    """

    max_batch_rows: ClassVar[int] = 10_000
    max_concurrency: ClassVar[int] = 1

    batch_size: int | None = Field(default=None, ge=1)
    """Most rows one write carries (``batch_size``); the destination's limit when unset.

    Smaller batches commit progress more often and hold less memory per write; larger
    ones pay the per-write cost (a transaction, a file part) less often."""

    concurrency: int | None = Field(default=None, ge=1)
    """Batches in flight at once; the destination's limit when unset."""

    @field_validator("batch_size")
    @classmethod
    def _within_batch_limit(cls, value: int | None) -> int | None:
        if value is not None and value > cls.max_batch_rows:
            raise ValueError(f"batch_size may be at most {cls.max_batch_rows} here")
        return value

    @field_validator("concurrency")
    @classmethod
    def _within_concurrency_limit(cls, value: int | None) -> int | None:
        if value is not None and value > cls.max_concurrency:
            raise ValueError(
                f"concurrency may be at most {cls.max_concurrency} here: this destination "
                "writes one batch at a time"
                if cls.max_concurrency == 1
                else f"concurrency may be at most {cls.max_concurrency} here"
            )
        return value


@dataclass(frozen=True)
class FieldSpec:
    """One destination field the sync writes, with the Arrow type of its values."""

    name: str
    arrow_type: pa.DataType
    logical: str | None = None
    """Logical type beyond the Arrow type (the field's ``syncline.logical`` metadata), e.g.
    ``json``: a table destination then creates a JSON column rather than a text one."""


@dataclass(frozen=True)
class ObjectField:
    """A field an existing destination object already has, with the destination's type name.

    The type is the destination's own spelling (``varchar(255)``, ``BIGINT``), which is
    what a person mapping columns to fields recognises.
    """

    name: str
    type: str


def _never() -> bool:
    return False


@dataclass(frozen=True)
class WriteContext:
    """Everything a destination needs to know about the run it writes for."""

    sync_id: int
    run_id: int
    object: str
    """Where rows go: a table, a file name, an endpoint path."""
    mode: SyncMode
    id_field: str
    """The destination field that identifies a record (the external id mapping's ``to``)."""
    fields: tuple[FieldSpec, ...]
    """Every field the sync writes, the id field included, in mapping order."""
    create_object: bool = False
    """Create the target from ``fields`` when it does not exist."""
    object_expected: bool = False
    """The run planned on the target existing (:meth:`Destination.find_object` found it):
    a target gone since is not created afresh but refused, since the plan counted on the
    records it held, and the next run sends every row again."""
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("syncline.run"))
    stop_requested: Callable[[], bool] = _never
    """True once the run must stop: a user cancelled it, or its worker is stopping.

    A destination that splits one batch into several requests asks before each one,
    and reports the rows it did not send in :attr:`BatchResult.unsent`.
    """


@dataclass(frozen=True)
class WriteBatch:
    """Rows of one action, with destination field names, ready to write.

    ``records`` holds one row per change. For ``DELETE`` it holds only the id field.
    ``keys`` are the model's primary keys as strings, one per row, for reporting.
    """

    action: WriteAction
    records: pa.Table
    keys: list[str]

    def __len__(self) -> int:
        return int(self.records.num_rows)


@dataclass(frozen=True)
class RowFailure:
    """A row the destination rejected; ``index`` is its position in the batch."""

    index: int
    reason: str
    retryable: bool = True


@dataclass
class BatchResult:
    """The outcome of one batch: every row not in ``failures`` or ``unsent`` was acknowledged."""

    failures: list[RowFailure] = field(default_factory=list)
    unsent: list[int] = field(default_factory=list)
    """Positions of rows not sent because the run was asked to stop part way through the
    batch, or because :attr:`error` stopped it: neither acknowledged nor rejected, so the
    next run sends them."""
    error: ConnectorError | None = None
    """The error that stopped a batch the destination had written part of: rows it
    acknowledged before the error are committed like any others and rows it did not
    write are in :attr:`unsent`. A :class:`~syncline.errors.TransientError` has the
    engine send only the unsent rows again; a terminal one, or a transient one whose
    retries ran out, fails the run."""

    @classmethod
    def all_failed(cls, size: int, reason: str, *, retryable: bool = True) -> Self:
        """A result rejecting every row of a batch of ``size`` rows for one reason."""
        return cls([RowFailure(i, reason, retryable) for i in range(size)])


_GUARDED_METHODS = (
    "test", "prepare", "find_object", "open", "write_batch", "fields", "clear", "finish", "close",
)  # fmt: skip
"""Methods whose errors (and a batch result's error) leave with the secrets masked."""


class Destination(ABC):
    """A place that syncs write rows to.

    Lifecycle for one run: :meth:`prepare` at most once (possibly on another thread,
    finished before anything else is called), :meth:`find_object` at most once (on the
    thread that opens), :meth:`open` once, :meth:`write_batch` any number of times (from
    up to ``capabilities.max_concurrency`` threads at once), then :meth:`finish` if every
    batch was handed over, and :meth:`close` always.
    Drivers are imported lazily, and driver or HTTP errors are mapped to
    :class:`~syncline.errors.TransientError` or :class:`~syncline.errors.TerminalError`
    in one place. Neither row values nor credentials are ever logged, and every error
    the public methods raise has the configuration's secret values masked (see
    :mod:`syncline.connectors.redaction`).
    """

    type_name: ClassVar[str]
    """Short name used in configurations, e.g. ``postgres``."""

    config_model: ClassVar[type[ConnectorConfig]]
    """Pydantic model of this destination's configuration."""

    capabilities: ClassVar[Capabilities]

    folds_field_case: ClassVar[bool] = False
    """Whether field names differing only in letter case name one field, as column names
    do in MySQL, SQLite and DuckDB (not in PostgreSQL, where Syncline quotes them)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        guard(cls, _GUARDED_METHODS)

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config

    @property
    def batch_rows(self) -> int:
        """Rows per batch the engine hands over: the configured ``batch_size``, within
        the destination's limit."""
        limit = self.capabilities.max_batch_rows
        configured = self.config.batch_size if isinstance(self.config, DestinationConfig) else None
        return max(1, min(configured or limit, limit))

    @property
    def write_concurrency(self) -> int:
        """Batches in flight at once: the configured ``concurrency``, within the limit."""
        limit = self.capabilities.max_concurrency
        configured = self.config.concurrency if isinstance(self.config, DestinationConfig) else None
        return max(1, min(configured or limit, limit))

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> Self:
        """Build a destination from a raw configuration, raising ValidationError when bad."""
        return cls(cls.config_model.parse(raw))

    @classmethod
    def reserved_fields(cls, object_name: str) -> frozenset[str]:
        """Field names the destination writes or stages itself in ``object_name``.

        A sync whose fields include one, in any letter case, is refused before it runs
        (see :func:`reserved_field_problem`). Default: none.
        """
        return frozenset()

    @classmethod
    def shared_object_key(
        cls, destination: str, configuration: dict[str, Any], object_name: str
    ) -> tuple[str, ...] | None:
        """What syncs writing ``object_name`` of the destination slug ``destination`` with
        ``configuration`` have in common: syncs with one key write one object, and are
        warned (see the project loader). None when every sync, or every run, writes an
        object of its own. Default: the object within the destination.
        """
        return (destination, object_name)

    @classmethod
    def field_name_problem(cls, name: str) -> tuple[str, str] | None:
        """Why the destination cannot have a field called ``name``, and the fix; None when
        it can. Checked, with :attr:`folds_field_case`, before a sync is saved or run
        (see :func:`field_name_problems`). Default: every name is fine.
        """
        return None

    @abstractmethod
    def test(self) -> None:
        """Check that the destination can be reached with this configuration.

        Raises:
            TerminalError: the configuration cannot work; the message names what to fix.
            TransientError: the destination could not be reached right now.
        """

    def prepare(self) -> None:
        """Get ready to be opened, without touching the target object: a run calls it on a
        thread of its own while the model is read, so that loading a driver and connecting
        overlap the read. It never raises; :meth:`open` reports any failure. Default: no-op.
        """
        return None

    def find_object(self, object_name: str, *, sync_id: int) -> bool | None:
        """Whether the object a run of sync ``sync_id`` writes to exists, before it plans.

        The snapshot describes what this object holds; once the object is gone (a table
        dropped, a maintained file deleted), the run sends every row again. Called after
        :meth:`prepare` and before :meth:`open`, without creating or changing anything;
        a connection it opens may serve :meth:`open`, and :meth:`close` releases it.

        Returns:
            True or False; None when the destination keeps no object that outlives a
            run (a webhook, a file written anew by each run): the default.

        Raises:
            TerminalError: the destination cannot be read with this configuration.
            TransientError: as for :meth:`test`.
        """
        return None

    @abstractmethod
    def open(self, context: WriteContext) -> None:
        """Prepare to write for one run: connect, check or create the target object.

        Raises:
            TerminalError: the target is missing and may not be created (or is gone since
                :meth:`find_object` found it, see :attr:`WriteContext.object_expected`),
                or its fields do not match; the message names the missing fields.
            TransientError: as for :meth:`test`.
        """

    @abstractmethod
    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Write one batch and report every row it rejected.

        When this returns, every row not in the result's failures or unsent rows is
        durable in the destination: the engine commits those rows to the snapshot at once.
        A destination that wrote part of the batch before one of the errors below (in
        several requests, say) returns a result carrying the error instead (see
        :attr:`BatchResult.error`), so that those rows are neither lost nor sent again.

        Raises:
            TransientError: the whole batch could not be written and a retry may help;
                nothing of it may be assumed written.
            TerminalError: the whole batch can never be written (auth lost, object gone),
                and nothing of it was.
        """

    def fields(self, object_name: str) -> list[ObjectField] | None:
        """The fields the object ``object_name`` has now, in the destination's order.

        None when the destination cannot tell: it has no schema to read (a webhook), or
        the object does not exist yet and a run will create it from the mapped fields.
        Offered to people writing mappings; the engine never relies on it.

        Raises:
            TerminalError: the destination cannot be read with this configuration.
            TransientError: the destination could not be reached right now.
        """
        return None

    def clear(self) -> None:
        """Remove every record from the object :meth:`open` prepared, before a full load.

        Called after :meth:`open` and before the first batch of a ``clearAndFill`` run,
        only when ``capabilities.clears_objects`` is true.

        Raises:
            TerminalError: the destination cannot empty its object (the default).
            TransientError: as for :meth:`test`.
        """
        raise TerminalError(
            f"destination {self.type_name!r} cannot empty its object, so it cannot clear "
            "and fill; trigger a full resync instead",
            connector=self.type_name,
            code="CLEAR_NOT_SUPPORTED",
        )

    def finish(self) -> None:
        """Complete the run's writes (e.g. publish a file) after the last batch."""
        return None

    def guard_files(self, refusal: PathRefusal) -> None:
        """Refuse, from now on, every file ``refusal`` names a reason for.

        A destination that opens files inside a configured folder must override this
        and ask ``refusal`` for each file it reads or writes, symlinks resolved, so a
        link inside the folder cannot lead a run outside the server's file roots. The
        others name their one file in the configuration, which is checked before they
        are built, so by default there is nothing to guard.
        """
        return None

    def close(self) -> None:
        """Release connections; called once per run, also after errors."""
        return None


def reserved_field_problem(
    destination: type[Destination], object_name: str, fields: Iterable[str]
) -> str | None:
    """Why ``fields`` cannot be written to ``object_name``: the ones the destination
    reserves for itself; None when there are none. :data:`RESERVED_FIELD_FIX` says what to do.

    Letter case is ignored, because MySQL, SQLite and DuckDB ignore it in column names.
    """
    reserved = {name.casefold() for name in destination.reserved_fields(object_name)}
    clashes = [name for name in dict.fromkeys(fields) if name.casefold() in reserved]
    if not clashes:
        return None
    plural = len(clashes) > 1
    return (
        f"field{'s' if plural else ''} {', '.join(map(repr, clashes))} "
        f"{'are' if plural else 'is'} reserved: the {destination.type_name} destination "
        f"writes a field of that name itself in {object_name!r}"
    )


def field_name_problems(
    destination: type[Destination], fields: Iterable[str]
) -> list[tuple[int, str, str]]:
    """The position in ``fields``, message and fix of each field name the destination
    would refuse: one it cannot have, or one that differs from an earlier field only in
    letter case where :attr:`Destination.folds_field_case` is set."""
    problems = []
    seen: dict[str, str] = {}
    for index, name in enumerate(fields):
        refused = destination.field_name_problem(name)
        if refused is not None:
            problems.append((index, *refused))
            continue
        folded = name.casefold() if destination.folds_field_case else name
        earlier = seen.setdefault(folded, name)
        if earlier != name:
            message = (
                f"fields {earlier!r} and {name!r} differ only in letter case, which the "
                f"{destination.type_name} destination ignores in column names"
            )
            problems.append((index, message, "rename one of them"))
    return problems


RESERVED_FIELD_FIX = "rename the model column, or map it to another field name"
"""What a user does about a field :func:`reserved_field_problem` names."""
