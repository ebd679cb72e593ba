"""Pieces of the worker tests: models in a SQLite file, a webhook receiver, waiting.

The receiver is a real HTTP server on 127.0.0.1 that applies every request to a
table per sync (upserts and deletes by ``id``) and keeps a log of which run sent
which row, so a test can prove that no run was executed twice and that a sync's
destination ends equal to its model.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

from syncline.catalog import Catalog
from syncline.catalog.tables import RunRecord


@dataclass(frozen=True)
class Delivery:
    """One row as the receiver got it: the sync and run that sent it, and its id."""

    sync_id: int
    run_id: int
    action: str
    row_id: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A worker killed mid-request drops its connection; that is what the test does.
        return None


class HookReceiver:
    """Applies webhook requests to per-sync tables and logs every row it received."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.requests_started = 0
        self.tables: dict[int, dict[int, dict[str, Any]]] = {}
        self.delay: Callable[[int], float] = lambda _sync_id: 0.0
        """Seconds to wait before answering a request of a sync (a slow destination)."""
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> HookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def table(self, sync_id: int) -> dict[int, dict[str, Any]]:
        """The rows the receiver holds for a sync, by id."""
        with self._lock:
            return {key: dict(row) for key, row in self.tables.get(sync_id, {}).items()}

    def of_sync(self, sync_id: int) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.sync_id == sync_id]

    def _apply(self, body: dict[str, Any]) -> None:
        sync_id, run_id, action = body["syncId"], body["runId"], body["action"]
        with self._lock:
            self.requests_started += 1
        time.sleep(self.delay(sync_id))
        with self._lock:
            table = self.tables.setdefault(sync_id, {})
            for row in body["rows"]:
                self.deliveries.append(Delivery(sync_id, run_id, action, int(row["id"])))
                if action == "delete":
                    table.pop(int(row["id"]), None)
                else:
                    table[int(row["id"])] = {k: v for k, v in row.items() if k != "run_id"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                if body.get("action") != "test":
                    receiver._apply(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


class ModelFile:
    """A SQLite file of model tables ``t<n>`` with ``id`` and ``email`` columns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, table: str, rows: int) -> None:
        with sqlite3.connect(self.path) as connection:
            connection.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, email TEXT)")
            connection.executemany(
                f"INSERT INTO {table} VALUES (?, ?)",
                [(i, f"user{i}@example.com") for i in range(rows)],
            )
        connection.close()

    def change(self, table: str, version: int, every: int = 3) -> None:
        """Change the email of every ``every``-th row, and add one row."""
        with sqlite3.connect(self.path) as connection:
            connection.execute(
                f"UPDATE {table} SET email = 'v{version}-' || id || '@example.com' "
                f"WHERE id % {every} = 0"
            )
            next_id = connection.execute(f"SELECT COALESCE(MAX(id), -1) + 1 FROM {table}")
            connection.execute(
                f"INSERT INTO {table} VALUES (?, ?)", (next_id.fetchone()[0], f"new{version}")
            )
        connection.close()

    def rows(self, table: str) -> dict[int, dict[str, Any]]:
        with sqlite3.connect(self.path) as connection:
            found = connection.execute(f"SELECT id, email FROM {table}").fetchall()
        connection.close()
        return {key: {"id": key, "email": email} for key, email in found}


def add_sync(
    catalog: Catalog,
    models: ModelFile,
    table: str,
    hook_url: str,
    *,
    workspace: str = "default",
    batch_size: int = 100,
    concurrency: int = 1,
    schedule: dict[str, Any] | None = None,
) -> int:
    """A sqlite → webhook sync of table ``table``; returns the sync's id."""
    with catalog.session(workspace) as session:
        source = session.sources.create(
            name=f"{table} source",
            slug=f"{table}-source",
            type="sqlite",
            configuration={"path": str(models.path)},
        )
        destination = session.destinations.create(
            name=f"{table} hook",
            slug=f"{table}-hook",
            type="webhook",
            configuration={
                "url": hook_url,
                "batch_size": batch_size,
                "concurrency": concurrency,
                "max_retries": 0,
            },
        )
        model = session.models.create(
            name=f"{table} model",
            slug=f"{table}-model",
            source=source,
            query_type="raw_sql",
            primary_key="id",
            sql=f"SELECT id, email FROM {table}",
        )
        sync = session.syncs.create(
            slug=f"{table}-sync",
            model=model,
            destination=destination,
            configuration={
                "mode": "upsert",
                "object": table,
                "mappings": [
                    {"from": "email", "to": "email"},
                    {"type": "variable", "variable": "sync-run-id", "to": "run_id"},
                ],
            },
            referenced_columns=["email"],
            schedule=schedule,
        )
        return sync.id


def enqueue(catalog: Catalog, sync_id: int, workspace: str = "default") -> int:
    with catalog.session(workspace) as session:
        return session.runs.enqueue(sync_id).id


def run_record(catalog: Catalog, run_id: int) -> RunRecord:
    """The run as the catalog holds it now (any workspace)."""
    with catalog.session(read_only=True) as session:
        return session.orm.get_one(RunRecord, run_id)


def runs_of(catalog: Catalog, sync_id: int) -> list[RunRecord]:
    """Every run of a sync, oldest first."""
    with catalog.session(read_only=True) as session:
        query = select(RunRecord).where(RunRecord.sync_id == sync_id).order_by(RunRecord.id)
        return list(session.orm.scalars(query))


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.05) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


SYNCLINE = Path(sys.executable).with_name("syncline")


def pause_between_catalog_writes(
    process: subprocess.Popen[bytes], in_transaction: Callable[[], bool]
) -> None:
    """Stop ``process`` with SIGSTOP at a moment it holds no catalog transaction open.

    A process stopped inside a write transaction holds the catalog's write lock (SQLite) or
    its rows (PostgreSQL) until it wakes, a limit of the database that the README names.
    The paused-worker tests are about a worker stopped between writes, so a stop that lands
    inside one is undone and tried again a moment later.
    """
    for _ in range(200):
        process.send_signal(signal.SIGSTOP)
        assert wait_until(lambda: process_state(process.pid) == "T", timeout=10, every=0.005)
        if not in_transaction():
            return
        process.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"process {process.pid} was inside a catalog transaction 200 times")


def sqlite_write_held(database: Path) -> bool:
    """Whether some connection holds the write lock of the SQLite file ``database``."""
    connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return True
        raise
    finally:
        connection.close()


def postgres_transaction_open(url: str) -> bool:
    """Whether another session of the PostgreSQL database at ``url`` has a transaction open."""
    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        ).fetchone()
    return row is not None and row[0] > 0


def process_state(pid: int) -> str:
    """The one-letter state of process ``pid`` from /proc (``T`` when stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


class Workers:
    """Starts ``syncline worker`` processes on one SYNCLINE_HOME; kills leftovers at the end."""

    def __init__(self, home: Path, logs: Path, **settings: str) -> None:
        self.home = home
        self.logs = logs
        self.settings = settings
        """More ``SYNCLINE_*`` variables, e.g. ``DATABASE_URL`` and ``SECRET_KEY``."""
        self.started: list[subprocess.Popen[bytes]] = []

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCLINE_")}
        env.update(
            SYNCLINE_HOME=str(self.home),
            SYNCLINE_WORKER_NAME=name,
            SYNCLINE_WORKER_HEARTBEAT_SECONDS="0.2",
            # Far above the heartbeat, so a busy test machine never looks like a dead worker.
            SYNCLINE_WORKER_STALE_SECONDS="10",
            SYNCLINE_PLANNER_THREADS="1",
            SYNCLINE_LOG_LEVEL="INFO",
        )
        env.update({f"SYNCLINE_{key}": value for key, value in self.settings.items()})
        return env

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(SYNCLINE), "worker"], env=self.env(name), stdout=out, stderr=out
            )
        self.started.append(process)
        return process

    def run(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SYNCLINE), *args],
            env=self.env(name),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def interruptions(self) -> list[str]:
        """The lines of the workers' logs about interrupted runs, lost leases and errors."""
        words = ("interrupted", "lease", "heartbeat", "ERROR", "Error", "Traceback")
        return [
            f"{log.name}: {line}"
            for log in sorted(self.logs.glob("w*.log"))
            for line in log.read_text(errors="replace").splitlines()
            if any(word in line for word in words)
        ]

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()
