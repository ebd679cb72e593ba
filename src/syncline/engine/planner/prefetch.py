"""Read ahead: produce batches on a background thread while the caller works on the last.

Reading a model (the driver decoding the wire format) and fingerprinting it (DuckDB)
each keep one core busy; one after the other they leave the second core idle. The same
holds for fetching planned rows while the destination writes the previous batch. The
reader thread stays at most ``depth`` batches ahead, so memory stays bounded, and it
has stopped touching its source (and closed the generator it ran) before the read-ahead's
``close()`` returns, so the source can be closed from the caller's thread right
afterwards.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
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
) -> ReadAhead[T]:
    """Yield ``items`` in order, produced by a background thread up to ``depth`` ahead.

    An exception raised while producing an item is raised here, in its place. Closing
    early stops the thread, which finishes the item it is producing. The thread starts
    with the first item asked for, or at once with ``start``: the items are then produced
    while the caller does other work, and the caller must close the result (or use it
    up) to stop the thread.
    """
    ahead = ReadAhead(items, depth)
    if start:
        ahead.start()
    return ahead


class ReadAhead(Iterator[T]):
    """The items of a reader thread, as an iterator that any thread may close.

    DuckDB asks for the next item from threads of its own and may still be asking when
    the statement that reads it has failed on the caller's thread; closing then stops the
    reader and lets that ask end (with no item) instead of failing, as closing a running
    generator would, and leaving the reader in the source.
    """

    def __init__(self, items: Iterator[T], depth: int) -> None:
        self._items = items
        self._slots: queue.Queue[T | _End] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._ended = False
        self._thread: threading.Thread | None = None
        self._asking = 0
        self._asked = threading.Condition()

    def start(self) -> None:
        """Start the reader thread, unless it runs already or the items were closed."""
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(
                target=self._produce, name="syncline-prefetch", daemon=True
            )
            self._thread.start()

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        with self._asked:
            self._asking += 1
        try:
            return self._next()
        finally:
            with self._asked:
                self._asking -= 1
                self._asked.notify_all()

    def _next(self) -> T:
        self.start()
        while not self._ended and not self._stop.is_set():
            try:
                item = self._slots.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(item, _End):
                self._ended = True
                if item.error is not None:
                    raise item.error
                break
            return item
        raise StopIteration

    def close(self) -> None:
        """Stop the reader and wait until it is out of the items (and has closed them),
        and until no thread is still asking for an item."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        else:
            close_now(self._items)
        with self._asked:
            self._asked.wait_for(lambda: self._asking == 0)

    def _produce(self) -> None:
        end = _End()
        try:
            for item in self._items:
                if not _put(self._slots, item, self._stop):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            end = _End(exc)
        finally:
            # A generator is closed on the thread that ran it, so whatever it holds (a
            # cursor, say) is released before the consumer's close() returns.
            close_now(self._items)
        _put(self._slots, end, self._stop)


def close_now(items: Iterator[object]) -> None:
    """Close ``items`` (a source's read, a generator) now, on this thread, whether used up
    or not: the cursor it holds is closed before its source's connection is, rather than
    later, by the garbage collector, on a connection already closed."""
    close = getattr(items, "close", None)
    if close is not None:
        close()


def _put(slots: queue.Queue[T | _End], item: T | _End, stop: threading.Event) -> bool:
    """Queue ``item`` unless the consumer stopped; False when it did."""
    while not stop.is_set():
        try:
            slots.put(item, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False
