"""Fixtures of the webhook tests: a scripted receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver that answers 200 until a test sets its script."""
    server = Receiver().start()
    yield server
    server.stop()
