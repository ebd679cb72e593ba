"""Fixtures of the worker tests: a webhook receiver on loopback and a file of models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import HookReceiver, ModelFile


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    """A running webhook receiver that keeps every sync's rows."""
    server = HookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def models(tmp_path: Path) -> ModelFile:
    """An empty SQLite file to create model tables in."""
    return ModelFile(tmp_path / "models.db")
