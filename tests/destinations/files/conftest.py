"""Fixtures of the file destination tests: each format in turn, in a fresh folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from file_helpers import FORMATS

from syncline.connectors.destinations.base import Destination


@pytest.fixture(params=sorted(FORMATS))
def kind(request: pytest.FixtureRequest) -> str:
    """Each file format in turn."""
    return str(request.param)


@pytest.fixture
def make(kind: str, tmp_path: Path) -> Callable[[], Destination]:
    """A factory of destinations of the current format writing into ``tmp_path/out``."""
    return lambda: FORMATS[kind](tmp_path / "out")
