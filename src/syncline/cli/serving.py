"""The process behind ``syncline serve``: uvicorn, the scheduler and a worker pool.

Shutdown on SIGINT or SIGTERM is orderly: uvicorn stops accepting connections and
answers the requests in flight, then the scheduler stops ticking, then the worker
pool stops (a running run ends at its next batch boundary and resumes in a new run).
The caller closes the catalog last.
"""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from syncline.api.app import create_app
from syncline.catalog import Catalog
from syncline.errors import UserError
from syncline.scheduling.scheduler import Scheduler
from syncline.settings import Settings
from syncline.worker.pool import WorkerPool

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0
"""Seconds the worker pool gets to bring its runs to a batch boundary on shutdown."""

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, except that a stop signal is not raised again after shutdown.

    uvicorn re-raises the signal it caught once it has stopped, which would end the
    process (SIGTERM) or unwind it (SIGINT) before the scheduler and the workers are
    stopped. Here the signal only asks the server to stop, and ``serve`` exits 0.
    """

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket now, so a taken port is one clear error before starting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop what uses that "
            "port or choose another with --port"
        ) from None
    return sock


def serve(catalog: Catalog, settings: Settings, host: str, port: int, *, worker: bool) -> int:
    """Serve until SIGINT or SIGTERM, then stop every part; returns the exit code."""
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    # The app itself runs no background work: this process starts and stops it in order.
    app = create_app(catalog, settings, background=False)
    scheduler = Scheduler(catalog, settings)
    pool = WorkerPool(catalog, settings) if worker else None
    server = _Server(uvicorn.Config(app, log_config=None, lifespan="on"))

    scheduler.start()
    try:
        if pool is not None:
            pool.start()
        logger.info(
            "serving the API on http://%s:%s/api/v1 (%s)",
            host,
            bound_port,
            "with a worker pool" if pool is not None else "no worker: runs wait for one",
        )
        server.run(sockets=[sock])
    finally:
        sock.close()
        scheduler.stop()
        if pool is not None:
            pool.stop(graceful=True, timeout=STOP_TIMEOUT)
        logger.info("stopped serving on %s:%s", host, bound_port)
    return 0 if server.started else 1
