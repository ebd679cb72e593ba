"""A long driver call on the main thread still gives way to a signal, and is cancelled."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from syncline.connectors.sources.interruptible import interruptible, stopped_by
from syncline.errors import RunCancelled


def test_a_signal_cancels_the_call_and_is_raised_once_the_call_has_ended() -> None:
    cancelled = threading.Event()
    ended = threading.Event()

    def call() -> str:
        # Stands for a driver's C call: it ends only when cancelled.
        try:
            assert cancelled.wait(30), "never cancelled"
            raise RuntimeError("query interrupted by the driver")
        finally:
            ended.set()

    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            interruptible(call, cancelled.set)
    finally:
        timer.cancel()

    assert ended.is_set(), "the call had ended before the signal's exception went on"


def test_without_a_signal_the_result_or_the_error_comes_back() -> None:
    assert interruptible(lambda: 42, lambda: None) == 42

    def fails() -> None:
        raise ValueError("bad query")

    with pytest.raises(ValueError, match="bad query"):
        interruptible(fails, lambda: None)


def test_off_the_main_thread_the_call_runs_in_place() -> None:
    seen: list[str] = []

    def call() -> None:
        seen.append(threading.current_thread().name)

    worker = threading.Thread(target=lambda: interruptible(call, lambda: None), name="other")
    worker.start()
    worker.join()

    assert seen == ["other"]


def test_a_cancel_that_fails_still_waits_for_the_call_and_raises_the_signal() -> None:
    release = threading.Event()

    def cancel() -> None:
        release.set()  # the query ends anyway, but the driver's cancel call fails
        raise OSError("cancel refused")

    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            interruptible(lambda: release.wait(30), cancel)
    finally:
        timer.cancel()


def test_a_stop_asked_for_cancels_the_call_off_the_main_thread_too() -> None:
    cancelled = threading.Event()
    asked: list[str] = []

    def call() -> str:
        # Stands for a driver's C call: it ends only when cancelled.
        assert cancelled.wait(30), "never cancelled"
        raise RuntimeError("query interrupted by the driver")

    def stop() -> bool:
        asked.append(threading.current_thread().name)
        return len(asked) >= 2

    def run() -> None:
        with stopped_by(stop), pytest.raises(RunCancelled, match="cancelled"):
            interruptible(call, cancelled.set)

    worker = threading.Thread(target=run, name="a-run")
    worker.start()
    worker.join(30)

    assert not worker.is_alive()
    assert cancelled.is_set()
    assert set(asked) == {"a-run"}


def test_a_stop_never_asked_for_leaves_the_call_alone() -> None:
    with stopped_by(lambda: False):
        assert interruptible(lambda: 42, lambda: None) == 42
