"""Fixtures for project tests: a writer of YAML files and test connectors in the registry."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography.fernet import Fernet
from project_samples import WriteFiles
from pydantic import SecretStr

from syncline.catalog import Catalog
from syncline.connectors import registry
from syncline.connectors.config import ConnectorConfig
from syncline.connectors.destinations.base import (
    BatchResult,
    Capabilities,
    Destination,
    SyncMode,
    WriteBatch,
    WriteContext,
)
from syncline.errors import TerminalError
from syncline.security.secrets import SecretBox
from syncline.settings import Settings


class PretendConfig(ConnectorConfig):
    """A configuration with a required host, a number and a secret."""

    host: str
    port: int = 1
    password: SecretStr | None = None


class PretendDestination(Destination):
    """A destination that supports only upsert and insert; never written to in these tests."""

    type_name = "pretend"
    config_model = PretendConfig
    capabilities: ClassVar[Capabilities] = Capabilities(
        modes=frozenset({SyncMode.UPSERT, SyncMode.INSERT})
    )

    @classmethod
    def check_object(cls, name: str) -> None:
        """Refuse an object name that climbs out of its folder, as a file destination would."""
        if ".." in name.split("/"):
            raise TerminalError(f"object {name!r} must stay inside the destination folder")

    def test(self) -> None:
        """Nothing to reach."""

    def open(self, context: WriteContext) -> None:
        """Nothing to open."""

    def write_batch(self, batch: WriteBatch) -> BatchResult:
        """Accept everything."""
        return BatchResult()


@pytest.fixture(autouse=True)
def pretend_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``pretend`` as a destination type for the duration of a test."""
    builtin = registry.destination_class

    def lookup(name: str) -> type[Destination]:
        return PretendDestination if name == "pretend" else builtin(name)

    monkeypatch.setattr(registry, "destination_class", lookup)


@pytest.fixture
def write_project(tmp_path: Path) -> Iterator[WriteFiles]:
    """Write YAML files (name → text, dedented) into a fresh project folder."""

    def write(**files: str) -> Path:
        for name, text in files.items():
            path = tmp_path / "project" / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return tmp_path / "project"

    return write


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings of a Syncline home in the test's own folder."""
    return Settings(home=tmp_path / "home")


@pytest.fixture
def catalog(settings: Settings) -> Iterator[Catalog]:
    """The empty catalog of that home, closed after the test."""
    opened = Catalog.from_url(settings.catalog_url, secrets=SecretBox(Fernet.generate_key()))
    yield opened
    opened.close()
