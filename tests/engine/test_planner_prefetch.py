"""Read-ahead yields every batch in order, raises the reader's error, and stops when closed."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from syncline.engine.planner.prefetch import prefetched


def test_items_arrive_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def produce() -> Iterator[int]:
        for item in range(100):
            threads.add(threading.current_thread().name)
            yield item

    assert list(prefetched(produce(), depth=3)) == list(range(100))
    assert threads == {"syncline-prefetch"}


def test_the_readers_error_is_raised_after_the_items_before_it() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("source failed at row 3")

    seen: list[int] = []

    def consume() -> None:
        seen.extend(prefetched(produce()))

    with pytest.raises(ValueError, match="row 3"):
        consume()
    assert seen == [1, 2]


def test_closing_early_stops_the_reader_before_returning() -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for item in range(1_000_000):
            produced.append(item)
            yield item

    items = prefetched(produce(), depth=2)
    assert next(items) == 0
    items.close()

    # The reader finished (its generator was left) before close() returned, and it
    # never ran further ahead than the queue allows.
    count = len(produced)
    assert count <= 5
    assert not any(t.name == "syncline-prefetch" for t in threading.enumerate())
    assert len(produced) == count


def test_closing_early_closes_the_generator_on_its_own_thread() -> None:
    released: list[str] = []

    def produce() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            released.append(threading.current_thread().name)

    ahead = prefetched(produce(), depth=1)
    assert next(ahead) == 0
    ahead.close()

    # Released before close() returned, by the thread that ran the generator.
    assert released == ["syncline-prefetch"]


def test_a_started_reader_produces_before_the_first_item_is_asked_for() -> None:
    produced = threading.Event()

    def produce() -> Iterator[int]:
        produced.set()
        yield from range(3)

    ahead = prefetched(produce(), depth=2, start=True)
    try:
        assert produced.wait(5.0)
        assert list(ahead) == [0, 1, 2]
    finally:
        ahead.close()
    assert not any(t.name == "syncline-prefetch" for t in threading.enumerate())


def test_a_reader_not_started_produces_nothing_until_asked() -> None:
    produced = threading.Event()

    def produce() -> Iterator[int]:
        produced.set()
        yield 1

    ahead = prefetched(produce())
    assert not produced.wait(0.2)
    assert next(ahead) == 1
    ahead.close()


def test_closing_while_another_thread_waits_for_an_item_ends_that_wait() -> None:
    # DuckDB may still be asking for a batch, on a thread of its own, when the statement
    # reading them has failed and the caller closes the read-ahead.
    release = threading.Event()
    closed: list[str] = []

    def produce() -> Iterator[int]:
        try:
            yield 1
            release.wait(10)  # a source slow to give its next row
            yield 2
        finally:
            closed.append(threading.current_thread().name)

    ahead = prefetched(produce(), depth=1, start=True)
    assert next(ahead) == 1
    asked: list[object] = []
    waiter = threading.Thread(target=lambda: asked.append(next(ahead, "none")))
    waiter.start()
    threading.Timer(0.3, release.set).start()

    ahead.close()
    waiter.join(5)

    assert not waiter.is_alive()
    assert asked == ["none"]
    # The reader had left the source, and closed it on its own thread, when close()
    # returned.
    assert closed == ["syncline-prefetch"]
