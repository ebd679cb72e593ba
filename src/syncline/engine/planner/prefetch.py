"""Read ahead: produce batches on a background thread while the caller works on the last.

Reading a model (the driver decoding the wire format) and fingerprinting it (DuckDB)
each keep one core busy; one after the other they leave the second core idle. The same
holds for fetching planned rows while the destination writes the previous batch. The
reader thread stays at most ``depth`` batches ahead, so memory stays bounded, and it
has stopped touching its source (and closed the generator it ran) before the
consumer's generator returns, so the source can be closed from the caller's thread
right afterwards.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DEPTH = 2
"""Batches read ahead: enough to keep both sides busy, few enough to bound memory."""

_POLL_SECONDS = 0.1


class _End:
    """Marks the end of the items; carries the reader's error, if it failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetched(
    items: Iterator[T], depth: int = DEFAULT_DEPTH, *, start: bool = False
) -> Generator[T, None, None]:
    """Yield ``items`` in order, produced by a background thread up to ``depth`` ahead.

    An exception raised while producing an item is raised here, in its place. Closing
    the generator early stops the thread, which finishes the item it is producing. The
    thread starts with the first item asked for, or at once with ``start``: the items
    are then produced while the caller does other work, and the caller must close the
    generator (or use it up) to stop the thread.
    """
    ahead = _read_ahead(items, depth)
    # The read-ahead generator pauses once its thread runs, before the first item.
    if start:
        next(ahead)
        return ahead
    return _started_on_demand(ahead)


def _started_on_demand(ahead: Generator[T, None, None]) -> Generator[T, None, None]:
    next(ahead)
    yield from ahead


_RUNNING = object()
"""What :func:`_read_ahead` yields first, once its thread runs."""


def _read_ahead(items: Iterator[T], depth: int) -> Generator[T, None, None]:
    slots: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        end = _End()
        try:
            for item in items:
                if not _put(slots, item, stop):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            end = _End(exc)
        finally:
            # A generator is closed on the thread that ran it, so whatever it holds (a
            # cursor, say) is released before the consumer's generator returns.
            close = getattr(items, "close", None)
            if close is not None:
                close()
        _put(slots, end, stop)

    thread = threading.Thread(target=produce, name="syncline-prefetch", daemon=True)
    thread.start()
    try:
        yield _RUNNING  # type: ignore[misc]
        while True:
            item = slots.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _put(slots: queue.Queue[T | _End], item: T | _End, stop: threading.Event) -> bool:
    """Queue ``item`` unless the consumer stopped; False when it did."""
    while not stop.is_set():
        try:
            slots.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
