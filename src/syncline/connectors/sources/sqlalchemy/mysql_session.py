"""MySQL and MariaDB URLs of the SQLAlchemy source: no client file read, no write made.

A MySQL client lets the server ask it for any file it can read (``LOAD DATA LOCAL
INFILE``) once local infile is switched on, by a URL option or by a client flag, and
option files can switch settings on too; the model's SQL would then copy a file of
the Syncline server into a table. Those options are refused in the URL, local infile
is switched off whatever the URL says, and every session is read-only, as the
``mysql`` source's are, so that neither a model nor its column check changes data.
Sessions run in UTC, as the ``mysql`` source's do, so that a TIMESTAMP is read as the
instant it is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

logger = logging.getLogger(__name__)

MYSQL_BACKENDS = frozenset({"mysql", "mariadb"})
"""SQLAlchemy backend names that speak the MySQL protocol."""

CLIENT_FILE_OPTIONS = frozenset(
    {
        "local_infile",
        "allow_local_infile",
        "allow_local_infile_in_path",
        "client_flag",
        "read_default_file",
        "read_default_group",
        "default_file",
        "default_group",
        "option_files",
        "option_groups",
    }
)
"""URL options (any letter case) of MySQL drivers that let the client read its own files,
or set client flags that can allow it."""

_LOCAL_FILES = 128
"""The MySQL client capability flag that allows ``LOAD DATA LOCAL INFILE``."""


def client_file_options(url: URL) -> list[str]:
    """The options of a MySQL or MariaDB ``url`` that would let the client read its files."""
    if url.get_backend_name() not in MYSQL_BACKENDS:
        return []
    return sorted(key for key in url.query if key.lower() in CLIENT_FILE_OPTIONS)


def guard_mysql(engine: Engine) -> None:
    """Connect ``engine`` to MySQL or MariaDB without local infile, in read-only sessions."""
    from sqlalchemy import event

    if engine.dialect.name not in MYSQL_BACKENDS:
        return

    def no_local_files(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        for key in list(params):
            if key.lower() in CLIENT_FILE_OPTIONS - {"client_flag"}:
                del params[key]
        if "client_flag" in params:
            params["client_flag"] = int(params["client_flag"]) & ~_LOCAL_FILES
        if engine.dialect.driver == "mysqlconnector":
            params["allow_local_infile"] = False
        else:
            params["local_infile"] = False

    def read_only(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        try:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
            # TIMESTAMP values are read as UTC instants, as the mysql source reads them.
            cursor.execute("SET time_zone = '+00:00'")
        finally:
            cursor.close()

    event.listen(engine, "do_connect", no_local_files)
    event.listen(engine, "connect", read_only)
