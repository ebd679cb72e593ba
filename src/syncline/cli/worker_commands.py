"""``syncline worker``: serve the run queue until stopped, or check this machine's worker.

The first SIGTERM or SIGINT stops leasing and asks running runs to stop at their next
batch boundary; each ends ``interrupted`` with a queued run that resumes it, and the
command exits 0. A second signal stops at once: the runs still going are marked
interrupted (and resumed by the next worker) and the process exits 128 + the signal.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated

import typer

from syncline.cli import output
from syncline.cli.context import open_catalog
from syncline.cli.exitcodes import ExitCode
from syncline.settings import load_settings
from syncline.worker import registry
from syncline.worker.pool import WorkerPool

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

IMMEDIATE_STOP_SECONDS = 5.0
"""How long a second signal waits to mark the runs still going interrupted."""


class _StopNow(Exception):
    """A second stop signal arrived while the worker was stopping gracefully."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


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
    settings = load_settings()
    name = registry.default_worker_name(settings)
    if check:
        with open_catalog(settings) as catalog:
            stale_after = timedelta(seconds=settings.worker_stale_seconds)
            seen = registry.liveness(catalog, name, stale_after)
        if seen.alive:
            output.console().print(seen.reason)
            raise typer.Exit(ExitCode.OK)
        output.error_console().print(f"error: {seen.reason}")
        raise typer.Exit(ExitCode.RUN_FAILED)

    with open_catalog(settings) as catalog:
        pool = WorkerPool(catalog, settings, concurrency=concurrency, name=name)
        code = _serve_until_stopped(pool)
    raise typer.Exit(code)


def _serve_until_stopped(pool: WorkerPool) -> int:
    """Run the pool until a stop signal; returns the exit code."""
    requested = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            requested.set()
        elif len(received) == 2:
            raise _StopNow(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        pool.start()
        output.error_console().print(
            f"worker {pool.name} serving the run queue with {pool.concurrency} "
            f"{'slot' if pool.concurrency == 1 else 'slots'}; stop with Ctrl-C or SIGTERM"
        )
        try:
            while not requested.wait(1.0):
                pass
            output.error_console().print(
                f"worker {pool.name} stopping: running runs stop at their next batch and "
                "are resumed by the next run; send the signal again to stop at once"
            )
            pool.stop(graceful=True)
        except _StopNow as stop:
            output.error_console().print(f"worker {pool.name} stopping at once")
            pool.stop(graceful=False, timeout=IMMEDIATE_STOP_SECONDS)
            sys.stdout.flush()
            sys.stderr.flush()
            logging.shutdown()
            # Slots still writing a batch are abandoned; the in-doubt journal covers them.
            os._exit(128 + stop.signum)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("worker %s stopped", pool.name)
    return ExitCode.OK
