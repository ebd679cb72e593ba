"""Fixtures of the SDK proof: the official SDK's interpreter, a live server, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sdk_harness import LiveServer, SdkClient, SdkUnavailable, live_server, sdk_python


@pytest.fixture(scope="session")
def hightouch_python() -> Path:
    """The interpreter of the cached virtual environment that holds the official SDK."""
    try:
        return sdk_python()
    except SdkUnavailable as exc:
        pytest.skip(f"the official hightouch SDK is not installable here: {exc}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``syncline serve`` with a worker pool, in a SYNCLINE_HOME of this session.

    Tests share it, so each names its resources with slugs of its own.
    """
    with live_server(tmp_path_factory.mktemp("serve-home")) as running:
        yield running


@pytest.fixture
def sdk(hightouch_python: Path, server: LiveServer) -> SdkClient:
    """Calls through the official SDK to the live server, with its key."""
    return SdkClient(hightouch_python, server.base_url, server.key)
