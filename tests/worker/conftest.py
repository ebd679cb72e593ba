"""Fixtures of the worker tests: a webhook receiver on loopback and a file of models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from worker_helpers import HookReceiver, ModelFile

from syncline.catalog import Catalog
from syncline.settings import Settings


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    """A running webhook receiver that keeps every sync's rows."""
    server = HookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The SYNCLINE_HOME of the worker processes a test starts."""
    return tmp_path / "home"


@pytest.fixture
def models(home: Path) -> ModelFile:
    """Model tables in a SQLite file under the home's files folder, where sources may read."""
    folder = home / "files"
    folder.mkdir(parents=True, exist_ok=True)
    return ModelFile(folder / "models.db")


@pytest.fixture
def home_catalog(home: Path) -> Iterator[Catalog]:
    """The embedded SQLite catalog in ``home`` that the test's processes share."""
    opened = Catalog.open(Settings(home=home))
    yield opened
    opened.close()
