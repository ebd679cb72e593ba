"""``syncline worker``: serve the run queue until stopped, or check this machine's worker.

The first SIGTERM or SIGINT stops leasing and asks running runs to stop at their next
batch boundary; each ends ``interrupted`` with a queued run that resumes it, and the
command exits 0. A second signal stops at once: the runs still going are marked
interrupted (and resumed by the next worker) and the process exits 128 + the signal.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.exitcodes import ExitCode
from syncline.settings import load_settings

# The worker pool (the engine, the catalog, the connectors) and the registry (SQLAlchemy)
# are imported when the command runs, not by every start of the command line.
if TYPE_CHECKING:
    from syncline.worker.pool import WorkerPool

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

POLL_SECONDS = 0.2
"""How often the main thread looks for a stop signal and for slots that ended."""


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            min=1,
            help="Runs to execute at once [env: SYNCLINE_WORKER_CONCURRENCY; default: 1].",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 0 when this machine's worker has a fresh heartbeat, else 1 "
            "(a liveness probe).",
        ),
    ] = False,
) -> None:
    """Execute queued runs until SIGTERM or Ctrl-C (a second one stops at once)."""
    from syncline.worker import registry
    from syncline.worker.pool import WorkerPool

    settings = load_settings()
    name = registry.default_worker_name(settings)
    if check:
        stale_after = timedelta(seconds=settings.worker_stale_seconds)
        seen = registry.probe(settings.catalog_url, name, stale_after)
        if seen.alive:
            output.console().print(seen.reason)
            raise typer.Exit(ExitCode.OK)
        output.error_console().print(f"error: {seen.reason}")
        raise typer.Exit(ExitCode.RUN_FAILED)

    with open_catalog(settings) as catalog:
        pool = WorkerPool(catalog, settings, concurrency=concurrency, name=name)
        # The engine and the catalog are loaded now and stay for the life of the worker:
        # frozen, they are no longer walked by each full collection (~145,000 objects, some
        # 50 ms a time) nor by the last one at exit.
        gc.freeze()
        code = _serve_until_stopped(pool)
    raise typer.Exit(code)


def _serve_until_stopped(pool: WorkerPool) -> int:
    """Run the pool until a stop signal; returns the exit code.

    The signal handler only records the signal: the main thread polls, so no wait is
    ever broken off by an exception raised from a handler.
    """
    requested = threading.Event()
    at_once = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        (at_once if requested.is_set() else requested).set()

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        pool.start()
        errors = output.error_console()
        errors.print(
            f"worker {pool.name} serving the run queue with {pool.concurrency} "
            f"{'slot' if pool.concurrency == 1 else 'slots'}; stop with Ctrl-C or SIGTERM"
        )
        while not requested.wait(POLL_SECONDS):
            pass
        errors.print(
            f"worker {pool.name} stopping: running runs stop at their next batch and are "
            "resumed by the next run; send the signal again to stop at once"
        )
        pool.request_stop()
        while not pool.wait(POLL_SECONDS) and not at_once.is_set():
            pass
        if at_once.is_set():
            errors.print(f"worker {pool.name} stopping at once")
            pool.stop(graceful=False)
            sys.stdout.flush()
            sys.stderr.flush()
            logging.shutdown()
            # Slots still writing a batch are abandoned; the in-doubt journal covers them.
            os._exit(128 + received[-1])
        pool.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("worker %s stopped", pool.name)
    return ExitCode.OK
