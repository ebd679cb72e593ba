"""``syncline serve``: the REST API, the scheduler and a worker pool in one process.

This is the one-machine deployment of ARCHITECTURE.md: a trigger over the API runs
with no other process. ``--no-worker`` leaves execution to worker processes started
elsewhere; the scheduler still runs (on PostgreSQL one scheduler of an installation
holds the lock at a time, so several ``serve`` processes are safe; a SQLite catalog is
served by one process, and a second ``serve`` of it is refused).
"""

from __future__ import annotations

from typing import Annotated

import typer

from syncline.cli.context import open_catalog
from syncline.errors import UserError
from syncline.settings import load_settings

DEFAULT_HOST = "127.0.0.1"
"""Loopback: serving other machines is a choice the operator makes with ``--host``."""

DEFAULT_PORT = 8000


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 serves every interface.")
    ] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(help="TCP port to listen on (0: any free port).")] = (
        DEFAULT_PORT
    ),
    no_worker: Annotated[
        bool,
        typer.Option("--no-worker", help="Execute no runs here; they wait for a worker."),
    ] = False,
) -> int:
    """Serve the REST API under /api/v1, schedule syncs and execute their runs."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a TCP port; use 1 to 65535, or 0 for any free port")
    # Imported here: uvicorn and the API are not needed by any other command.
    from syncline.cli import serving

    settings = load_settings()
    with open_catalog(settings) as catalog:
        return serving.serve(catalog, settings, host, port, worker=not no_worker)
