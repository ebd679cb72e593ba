"""What every tool in the comparison is given: the server, the model and a destination schema.

Each tool writes TPC-H ``orders`` into a schema of its own per mode, named
``<tool>_<mode>``, so the destinations can be checked one by one after each run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tools.child import ChildRun

logger = logging.getLogger(__name__)

MODES = ("upsert", "mirror")
KEY_COLUMN = "o_orderkey"
PASSWORD_VARIABLE = "SYNCLINE_BENCH_PG_PASSWORD"
"""The environment variable that hands a password to each tool, never written to a file."""


@dataclass(frozen=True)
class Server:
    """The PostgreSQL database holding the model and every destination."""

    host: str
    port: int
    user: str
    database: str
    password: str | None

    @classmethod
    def from_dsn(cls, dsn: str) -> Server:
        """Read host, port, user, database and password from a libpq connection string."""
        params = conninfo_to_dict(dsn)
        password = params.get("password")
        return cls(
            host=str(params.get("host") or "127.0.0.1"),
            port=int(str(params.get("port") or 5432)),
            user=str(params.get("user") or "postgres"),
            database=str(params["dbname"]),
            password=str(password) if password else None,
        )

    def dsn(self) -> str:
        """A libpq connection string of this database, for the benchmark's own connections."""
        return make_conninfo(
            "",
            host=self.host,
            port=self.port,
            user=self.user,
            dbname=self.database,
            password=self.password,
        )

    def env(self) -> dict[str, str]:
        """Environment variables a tool's child process needs to log in."""
        return {PASSWORD_VARIABLE: self.password} if self.password else {}


def destination_schema(tool: str, mode: str) -> str:
    """The schema a tool writes ``orders`` into for one mode."""
    return f"{tool}_{mode}"


class Tool(Protocol):
    """One way of doing the job: prepared once, then run once per phase and mode."""

    key: str
    """Short name, the prefix of the tool's destination schemas."""
    label: str
    """How the printed table names the tool."""
    setup: str
    """How the tool is configured for the job, printed under the table."""

    def prepare(self, workdir: Path) -> str | None:
        """Make the tool ready; return why it cannot run here, or None."""
        ...

    def run(self, mode: str) -> ChildRun:
        """Run the job once in ``mode`` (initial load or incremental run alike)."""
        ...
