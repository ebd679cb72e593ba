"""The one error taxonomy of Syncline, and what each branch means for a retry.

::

    SynclineError                 root; carries an optional stable ``code``
    ├── UserError                 bad input or configuration; fix it, retrying cannot help
    │   ├── ConfigError           a setting, project file or resource definition is wrong
    │   │   └── ValidationError   several problems at once, each with where and how to fix
    │   └── NotFoundError         a named resource does not exist
    ├── ConnectorError            raised at a source or destination boundary
    │   ├── TransientError        network blips, 429 and 5xx, lock timeouts: retry with backoff
    │   └── TerminalError         auth failures, missing objects, bad SQL: fail the run
    └── RunError                  a run cannot go on (duplicate keys, a guard tripped)
        └── SnapshotLocked        another process holds the sync's snapshot: retry later

A destination never raises for one bad row: it reports a rejected row in its
batch result instead, and the engine retries that row on the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


class SynclineError(Exception):
    """Root of every error Syncline raises on purpose."""

    code: str = "SYNCLINE_ERROR"
    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class UserError(SynclineError):
    """The user's input is wrong; the message says what and how to fix it."""

    code = "USER_ERROR"


class ConfigError(UserError):
    """A setting, project file or resource definition is invalid."""

    code = "CONFIG_ERROR"


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it was found, what is wrong, and the fix."""

    location: str
    message: str
    fix: str | None = None
    file: str | None = None
    line: int | None = None
    value: object = None

    def render(self) -> str:
        """Format the problem as one line a person can act on."""
        where = self.location
        if self.file is not None:
            where = f"{self.file}:{self.line}" if self.line else self.file
            where = f"{where} ({self.location})" if self.location else where
        text = f"{where}: {self.message}"
        if not self.fix:
            return text
        return f"{text.rstrip('.')}. Fix: {self.fix}"


class ValidationError(ConfigError):
    """Several problems found at once, so the user can fix them in one pass."""

    code = "VALIDATION_FAILED"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  - {p.render()}" for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found:\n{lines}")


class NotFoundError(UserError):
    """A resource named by the user does not exist."""

    code = "NOT_FOUND"

    def __init__(
        self, kind: str, ident: object, *, hint: str | None = None, message: str | None = None
    ) -> None:
        """``message``, when given, says why the resource is not found where asked for
        (one that exists elsewhere), instead of that it does not exist."""
        self.kind = kind
        self.ident = ident
        message = message or f"{kind} {ident!r} does not exist"
        super().__init__(f"{message}; {hint}" if hint else message)


class ConnectorError(SynclineError):
    """An error at the boundary of a source or destination."""

    code = "CONNECTOR_ERROR"

    def __init__(self, message: str, *, connector: str | None = None, code: str | None = None):
        super().__init__(message, code=code)
        self.connector = connector


class TransientError(ConnectorError):
    """A failure that may pass: retry with jittered exponential backoff."""

    code = "TRANSIENT"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        connector: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, connector=connector, code=code)
        self.retry_after = retry_after


class TerminalError(ConnectorError):
    """A failure that retrying cannot fix; the run fails with this message."""

    code = "TERMINAL"


class RunError(SynclineError):
    """A run must stop before or while delivering; nothing unacknowledged is lost."""

    code = "RUN_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        sync_id: int | None = None,
        run_id: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.sync_id = sync_id
        self.run_id = run_id


class CatalogConnectionLost(RunError):
    """The catalog's database dropped the connection (restarted, or a backend terminated)
    and the operation could not be done again on a fresh one: it may have committed, or
    the catalog stayed out of reach. A passing failure: a later run does the rest."""

    code = "CATALOG_CONNECTION_LOST"


class RunCancelled(RunError):
    """A user cancelled the run; acknowledged work is kept."""

    code = "RUN_CANCELLED"


class PlannerOutOfMemory(RunError):
    """The local planner's DuckDB needed more memory than its budget allows. Running again
    does not help; a larger ``SYNCLINE_PLANNER_JOIN_MEMORY`` does."""

    code = "PLANNER_OUT_OF_MEMORY"


class SnapshotLocked(RunError):
    """Another process, or another run in this one, holds the sync's snapshot file.

    Nothing was read from or written to the snapshot, so a later run can do the work:
    a worker ends the run ``interrupted`` and queues its resumption. ``stopped`` is
    true when the wait ended early because the run was asked to stop.
    """

    code = "SNAPSHOT_LOCKED"

    def __init__(
        self,
        message: str,
        *,
        sync_id: int,
        holder: str,
        holder_pid: int | None = None,
        stopped: bool = False,
    ) -> None:
        super().__init__(message, sync_id=sync_id)
        self.holder = holder
        self.holder_pid = holder_pid
        self.stopped = stopped


class StopSignal(KeyboardInterrupt):
    """A signal other than Ctrl-C (SIGTERM, as ``docker stop`` and systemd send) asked a
    command in the foreground to stop: it stops as Ctrl-C stops it, at once, keeping
    what was acknowledged. Not a :class:`SynclineError`: nothing went wrong."""

    received: ClassVar[StopSignal | None] = None
    """The one raised last in this process, if any. DuckDB answers a signal that arrives
    during a query with an error of its own and drops the exception; this keeps it."""

    def __init__(self, name: str, number: int) -> None:
        super().__init__(name)
        self.name = name
        self.number = number
