"""Long driver calls that a signal or a cancel can still stop: Ctrl-C or SIGTERM during a
query, or a user's cancel of the run that queries.

A driver that runs a query inside one C call keeps the main thread there until the query
ends, so Python never runs its signal handlers: Ctrl-C would wait for the whole query. On
the main thread the call runs on a helper thread instead, while the main thread waits in
short, interruptible steps; when a signal's exception arrives, the query is cancelled
through the driver, its thread is waited for, and the exception goes on. Inside
:func:`stopped_by` (a run reading its model), on any thread, the wait also asks every
:data:`STOP_POLL_SECONDS` whether to stop, and cancels the query the same way when told to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from syncline.errors import RunCancelled

logger = logging.getLogger(__name__)

T = TypeVar("T")

_STEP_SECONDS = 0.1

STOP_POLL_SECONDS = 1.0
"""How often a query inside :func:`stopped_by` asks whether to stop (a catalog read)."""

_stop_check: ContextVar[Callable[[], bool] | None] = ContextVar("syncline_stop", default=None)


@contextmanager
def stopped_by(stop: Callable[[], bool]) -> Iterator[None]:
    """Let ``stop()`` turning true cancel the queries :func:`interruptible` runs inside,
    on this thread: they end with :class:`~syncline.errors.RunCancelled`."""
    token = _stop_check.set(stop)
    try:
        yield
    finally:
        _stop_check.reset(token)


def interruptible(call: Callable[[], T], cancel: Callable[[], object]) -> T:
    """``call()``, stopped by ``cancel()`` when a signal interrupts the main thread, or
    when the stop check of :func:`stopped_by` turns true.

    Off the main thread, which never receives signals, and with no stop check, ``call``
    simply runs there.

    Raises:
        RunCancelled: the stop check turned true; the call was cancelled and has ended.
    """
    stop = _stop_check.get()
    if stop is None and threading.current_thread() is not threading.main_thread():
        return call()

    outcome: list[T] = []
    failure: list[BaseException] = []

    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 - raised again on the caller's thread
            failure.append(exc)
        finally:
            done.set()

    # Waited for through an event, not ``Thread.join``: a join that a signal interrupts
    # can return at once the next time, with the thread still inside the driver.
    threading.Thread(target=run, name="syncline-query", daemon=True).start()
    asked = time.monotonic()
    try:
        while not done.wait(_STEP_SECONDS):
            if stop is None or time.monotonic() - asked < STOP_POLL_SECONDS:
                continue
            if stop():
                raise RunCancelled("the query was cancelled: the run was asked to stop")
            asked = time.monotonic()
    except BaseException:
        logger.info("the wait for a query was stopped; cancelling the query")
        try:
            cancel()
        except Exception:  # noqa: BLE001 - the signal's exception is the one to raise
            logger.warning("cancelling the query failed; waiting for it to end", exc_info=True)
        done.wait()
        # What the cancelled call left (its error, or a result that came too late) is
        # dropped here, not kept alive by this frame in the signal's traceback.
        outcome.clear()
        failure.clear()
        raise
    if failure:
        raise failure[0]
    return outcome[0]
