"""Logging set-up for the command line: text or JSON lines on stderr, nothing else does this."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

_HANDLER_NAME = "syncline-cli"


class JSONFormatter(logging.Formatter):
    """One JSON object per line, with the record's ``extra`` fields (sync_id, run_id, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_QUIET_LIBRARIES = ("httpx", "httpcore")
"""HTTP clients that log every request's full URL at INFO or DEBUG: a webhook's or a
Slack hook's URL may hold its credential, so only their warnings and errors are shown."""

_REPORTED_BY_CALLER = "reported_by_caller"
"""The ``extra`` key marking a run's outcome that the command prints itself (``syncline
run``), as :data:`syncline.worker.execute.REPORTED_BY_CALLER` sets it. A worker's runs
(``serve``, ``worker``) are not marked: their log is the only place their failures show."""


class _ShownByCommand(logging.Filter):
    """Drops the outcome of a run the command reports itself: the error shows once."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but the outcome of the run the command prints."""
        return not getattr(record, _REPORTED_BY_CALLER, False)


def configure_logging(level: str, fmt: str) -> None:
    """Send log records of ``level`` and above to stderr as ``text`` or ``json``.

    Calling it again replaces the handler it installed before, so in-process callers
    (tests) do not pile up handlers.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)

    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        if logging.getLevelName(level) > logging.INFO:
            # In text the error would show twice; who asks for INFO or DEBUG logs, and
            # JSON consumers, get every record.
            handler.addFilter(_ShownByCommand())

    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
