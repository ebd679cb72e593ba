"""Long driver calls that a signal can still stop: Ctrl-C or SIGTERM during a query.

A driver that runs a query inside one C call keeps the main thread there until the query
ends, so Python never runs its signal handlers: Ctrl-C would wait for the whole query. On
the main thread the call runs on a helper thread instead, while the main thread waits in
short, interruptible steps; when a signal's exception arrives, the query is cancelled
through the driver, its thread is waited for, and the exception goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_STEP_SECONDS = 0.1


def interruptible(call: Callable[[], T], cancel: Callable[[], object]) -> T:
    """``call()``, stopped by ``cancel()`` when a signal interrupts the main thread.

    Off the main thread, which never receives signals, ``call`` simply runs there.
    """
    if threading.current_thread() is not threading.main_thread():
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
    try:
        while not done.wait(_STEP_SECONDS):
            pass
    except BaseException:
        logger.info("a signal stopped the wait for a query; cancelling the query")
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
