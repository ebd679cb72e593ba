"""SQLite URLs of the SQLAlchemy source: the file must exist, and is opened read-only.

SQLite makes a missing database file on connect, so a mistyped path would leave an
empty file behind (in whatever folder the process runs in) and fail later with "no
such table". The file is checked first, and then opened through a read-only
``file:`` URI with ATTACH refused, as the ``sqlite`` source does.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from syncline.errors import TerminalError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

logger = logging.getLogger(__name__)

_TRUE = ("true", "yes", "on", "y", "t", "1")
"""How a URL can switch on ``uri``, as SQLAlchemy reads booleans."""

_DRIVER_ARGUMENTS = (
    "uri",
    "timeout",
    "isolation_level",
    "detect_types",
    "check_same_thread",
    "cached_statements",
)
"""Query parameters SQLAlchemy hands to the driver; it appends the others to a URI name."""


def read_only_url(url: URL) -> URL:
    """``url`` opening its SQLite file read-only; any other URL as it is.

    Raises:
        TerminalError: the URL names a SQLite file that does not exist.
    """
    if url.get_backend_name() != "sqlite":
        return url

    written = file_name(url)
    if written is None:
        return url  # an in-memory database: nothing on disk to find or make

    # SQLite resolves a relative name against the working directory, as abspath does.
    path = Path(os.path.abspath(written))
    if not path.is_file():
        raise TerminalError(_missing(written, path), connector="sqlalchemy")

    query = {k: v for k, v in url.query.items() if k not in ("mode", "uri")}
    return url.set(database=path.as_uri(), query={**query, "mode": "ro", "uri": "true"})


def refuse_attach(engine: Engine) -> None:
    """Refuse ATTACH on the SQLite engine's connections: it opens, or makes, any file."""
    from sqlalchemy import event

    from syncline.connectors.sources.sqlite.client import refuse_attach as authorizer

    def guard(connection: Any, _record: Any) -> None:
        connection.set_authorizer(authorizer)

    event.listen(engine, "connect", guard)


def file_name(url: URL) -> str | None:
    """The file a SQLite URL opens, as written; None for an in-memory database.

    Read as SQLite reads the name the driver hands it. With ``uri`` on, SQLAlchemy
    appends the URL's other query parameters to the database name, after any query
    the name holds itself, and SQLite obeys the last ``mode``: so ``mode=memory`` in
    the URL is not enough to call a ``file:`` name in-memory.
    """
    name = url.database or ""
    if str(url.query.get("uri", "")).lower() not in _TRUE:
        return None if name in ("", ":memory:") else name

    appended = {k: v for k, v in url.query.items() if k not in _DRIVER_ARGUMENTS}
    if appended:
        name += "?" + "&".join(f"{key}={appended[key]}" for key in sorted(appended))
    if not name.startswith("file:"):
        return None if name in ("", ":memory:") else name  # SQLite opens it as written

    parts = urlsplit(name)
    path = _uri_text(parts.path)
    modes = [
        _uri_text(value)
        for key, _, value in (option.partition("=") for option in parts.query.split("&"))
        if _uri_text(key) == "mode"
    ]
    in_memory = path in ("", ":memory:") or modes[-1:] == ["memory"]
    return None if in_memory else path


def _uri_text(text: str) -> str:
    """A part of a ``file:`` URI decoded as SQLite decodes it: ``%00`` ends the part."""
    return unquote(text).split("\0", 1)[0]


def _missing(written: str, path: Path) -> str:
    """Why the file cannot be read, where it was looked for, and how to fix it."""
    problem = "is a folder, not a file" if path.is_dir() else "does not exist"
    message = f"SQLite file {written!r} named in the source setting 'url' {problem}"
    if os.path.isabs(written):
        return message + "; fix the path in 'url'"
    return (
        f"{message}: a relative path is resolved against the working directory, "
        f"{os.getcwd()}, as {path}; fix the path in 'url', e.g. sqlite:////absolute/path.db, "
        "or sqlite:///${SYNCLINE_PROJECT_DIR}/file.db in a project file"
    )
