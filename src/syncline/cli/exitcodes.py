"""Exit codes of the ``syncline`` command, so scripts can tell outcomes apart."""

from __future__ import annotations

from enum import IntEnum

from syncline.engine.report import RunStatus


class ExitCode(IntEnum):
    """What the process exit status means."""

    OK = 0
    RUN_FAILED = 1
    """A run failed or was cancelled, or a connection test failed."""
    USER_ERROR = 2
    """Bad input: usage, validation, a resource that does not exist."""
    ROWS_REJECTED = 3
    """The run finished, but the destination rejected some rows (status warning)."""


def for_run_status(status: RunStatus | str) -> ExitCode:
    """The exit code a finished run with ``status`` ends the command with."""
    status = RunStatus(status)
    if status == RunStatus.SUCCESS:
        return ExitCode.OK
    if status == RunStatus.WARNING:
        return ExitCode.ROWS_REJECTED
    return ExitCode.RUN_FAILED
