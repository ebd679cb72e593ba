"""The process behind ``syncline serve``: uvicorn, the scheduler and a worker pool.

Shutdown on SIGINT or SIGTERM is orderly: uvicorn stops accepting connections and
answers the requests in flight, then the scheduler stops ticking, then the worker
pool stops (a running run ends at its next batch boundary and resumes in a new run).
The caller closes the catalog last. A second signal stops at once, as it does
``syncline worker``: runs still going are marked interrupted, each with a queued run
that resumes it, and the process exits 128 + the signal.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn

from syncline.api.app import create_app
from syncline.catalog import Catalog
from syncline.errors import UserError
from syncline.scheduling.scheduler import Scheduler
from syncline.security.files import shared_roots_warning
from syncline.settings import Settings
from syncline.worker.pool import WorkerPool
from syncline.worker.registry import SqliteServeLock

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0
"""Seconds the worker pool gets to bring its runs to a batch boundary on shutdown."""

POLL_SECONDS = 0.2
"""How often the main thread looks for a second signal while the pool stops."""

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, except that ``serve`` handles the stop signals itself.

    uvicorn re-raises the signal it caught once it has stopped, which would end the
    process (SIGTERM) or unwind it (SIGINT) before the scheduler and the workers are
    stopped; and once it restored the default handlers, a second SIGTERM would kill the
    process with its runs still marked running. Here :class:`_Signals`, installed for
    the whole life of ``serve``, only asks the server to stop.
    """

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Signals:
    """Records stop signals: the first stops in order, the second stops at once."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.received: list[int] = []
        self.at_once = threading.Event()
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        self.server.should_exit = True
        if len(self.received) > 1:
            self.server.force_exit = True
            self.at_once.set()


_BACKLOG = 2048
"""Connections the listening socket queues before the server accepts them (uvicorn's)."""


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen now, so a taken port is one clear error before starting, and a
    client that connects as soon as the address is printed waits in the backlog until
    the server accepts rather than being refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise UserError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop what uses that "
            "port or choose another with --port"
        ) from None
    return sock


def _url_host(host: str) -> str:
    """``host`` as a URL spells it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def serve(catalog: Catalog, settings: Settings, host: str, port: int, *, worker: bool) -> int:
    """Serve until SIGINT or SIGTERM, then stop every part; returns the exit code.

    Raises:
        UserError: the port is taken, another process already serves this SQLite
            catalog, or (with ``worker``) a worker already serves its queue; each is
            found before the scheduler or the worker pool starts.
    """
    serving = SqliteServeLock.for_catalog(str(catalog.engine.url))
    if serving is not None:
        serving.acquire()
    try:
        return _serve(catalog, settings, host, port, worker=worker)
    finally:
        if serving is not None:
            serving.release()


def warn_of_shared_roots(catalog: Catalog, settings: Settings) -> None:
    """Log a WARNING when the file roots are one folder for several workspaces.

    Such roots let any key of one workspace read and overwrite another's files; the
    message names the roots and the fix (see
    :func:`~syncline.security.files.shared_roots_warning`).
    """
    with catalog.session(read_only=True) as session:
        workspaces = [workspace.slug for workspace in session.workspaces.list()]
    message = shared_roots_warning(settings, workspaces)
    if message is not None:
        logger.warning("%s", message)


def _serve(catalog: Catalog, settings: Settings, host: str, port: int, *, worker: bool) -> int:
    warn_of_shared_roots(catalog, settings)
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    # The app itself runs no background work: this process starts and stops it in order.
    app = create_app(catalog, settings, background=False)
    scheduler = Scheduler(catalog, settings)
    pool = WorkerPool(catalog, settings) if worker else None
    server = _Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    signals = _Signals(server)
    # The API, the scheduler and the engine are loaded now and stay for the life of the
    # process: frozen, they are no longer walked by each full collection nor at exit.
    gc.freeze()

    signals.install()
    if pool is not None:
        try:
            # Started first: a pool refused (another worker serves a SQLite catalog's
            # queue) ends the command before the scheduler has ticked once.
            pool.start()
        except BaseException:
            signals.restore()
            sock.close()
            raise
    try:
        scheduler.start()
        logger.info(
            "serving the API on http://%s:%s/api/v1 (%s)",
            host,
            bound_port,
            "with a worker pool" if pool is not None else "no worker: runs wait for one",
        )
        # Printed whatever the log level: with --port 0 it is the only way to learn it.
        address = f"http://{_url_host(host)}:{bound_port}"
        print(f"Syncline web UI on {address}/ and API on {address}/api/v1", file=sys.stderr)
        sys.stderr.flush()
        server.run(sockets=[sock])
    finally:
        sock.close()
        scheduler.stop()
        if pool is not None:
            _stop_pool(pool, signals)
        signals.restore()
        logger.info("stopped serving on %s:%s", host, bound_port)
    return 0 if server.started else 1


def _stop_pool(pool: WorkerPool, signals: _Signals) -> None:
    """Let running runs reach a batch boundary; a second signal stops them at once."""
    logger.info(
        "stopping the worker pool: running runs stop at their next batch and are resumed "
        "by the next run; send the signal again to stop at once"
    )
    pool.request_stop()
    deadline = time.monotonic() + STOP_TIMEOUT
    while not pool.wait(POLL_SECONDS) and not signals.at_once.is_set():
        if time.monotonic() >= deadline:
            break
    if not signals.at_once.is_set():
        pool.stop(graceful=True, timeout=0.0)
        return
    logger.warning("second stop signal: marking the running runs interrupted and exiting")
    pool.stop(graceful=False)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    # Runs still writing a batch are abandoned; the in-doubt journal covers them.
    os._exit(128 + signals.received[-1])
